// sherry.pack at run time on values that are no valid group (two zeros in
// the first group of the first row, three in the last group of the second)
// reports it through sherry_runtime_error (the weak default prints to
// stderr) and goes on, instead of writing bytes that mean something else
// unannounced or stopping the program.
// RUN: sherry-opt %s --sherry-to-llvm | mlir-runner -e main -entry-point-result=void %runner_libs 2>&1 | FileCheck %s
// CHECK: sherry: run-time check failed: @pack: sherry.pack at {{.*}}pack-invalid.mlir:11:8: 2 of 16 groups of 4 values do not hold exactly one 0 and +1 or -1 elsewhere; their bytes are unspecified
// CHECK-NEXT: done

func.func @pack(%t: tensor<2x32xi8>) -> tensor<2x5xi8> {
  %p = sherry.pack %t layout<sherry, row> : tensor<2x32xi8> -> tensor<2x5xi8>
  return %p : tensor<2x5xi8>
}

func.func private @printString(!llvm.ptr)
func.func private @printNewline()
llvm.mlir.global internal constant @done("done\00")

func.func @main() {
  %t = arith.constant dense<[[0, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1,
                              0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1],
                             [0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1,
                              0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1]]> : tensor<2x32xi8>
  %p = func.call @pack(%t) : (tensor<2x32xi8>) -> tensor<2x5xi8>
  %d = llvm.mlir.addressof @done : !llvm.ptr
  func.call @printString(%d) : (!llvm.ptr) -> ()
  func.call @printNewline() : () -> ()
  return
}
