// Run-time checks of dynamic sizes, compiled and run on every kernel
// family: a call whose x and accumulator rows disagree, or whose weights
// have fewer rows than the accumulator has columns, reports it through the
// weak default sherry_runtime_error (to stderr) and computes nothing, so
// the accumulator comes back as it went in; a call that agrees computes.
// RUN: rm -f %t.out %t.errs; for opts in "target=portable" "target=portable kernel=linalg" \
// RUN:     "target=host" "target=host strategy=decode" \
// RUN:     "target=host threads=2" "target=portable row-tile=16 batch-tile=1"; do \
// RUN:   sherry-opt %s --sherry-to-llvm="$opts" -o %t.$$.mlir && \
// RUN:   mlir-runner %t.$$.mlir -e main -entry-point-result=void %runner_libs \
// RUN:     2> %t.err >> %t.out && cat %t.err >> %t.errs; \
// RUN: done; FileCheck %s --check-prefix=OUT < %t.out && \
// RUN: FileCheck %s --check-prefix=ERR < %t.errs
// RUN: sherry-opt %s --sherry-to-llvm="runtime-checks=false" | FileCheck %s --check-prefix=OFF

// OUT: rows unchanged 1
// OUT-NEXT: columns unchanged 1
// OUT-NEXT: agreeing sum 9152
// OUT-NEXT: rows unchanged 1
// OUT-NEXT: columns unchanged 1
// OUT-NEXT: agreeing sum 9152
// OUT-NEXT: rows unchanged 1
// OUT-NEXT: columns unchanged 1
// OUT-NEXT: agreeing sum 9152
// OUT-NEXT: rows unchanged 1
// OUT-NEXT: columns unchanged 1
// OUT-NEXT: agreeing sum 9152
// OUT-NEXT: rows unchanged 1
// OUT-NEXT: columns unchanged 1
// OUT-NEXT: agreeing sum 9152
// OUT-NEXT: rows unchanged 1
// OUT-NEXT: columns unchanged 1
// OUT-NEXT: agreeing sum 9152
// ERR: sherry: run-time check failed: @mm: sherry.matmul at {{.*}}runtime-checks.mlir:{{[0-9]+}}:{{[0-9]+}}: x (argument 0) has 3 rows but the accumulator (argument 3) has 2; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: {{.*}} the weights (argument 1) have 32 rows but the accumulator (argument 3) has 64 columns; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: sherry.matmul at {{.*}}runtime-checks.mlir:{{[0-9]+}}:{{[0-9]+}}: x (argument 0) has 3 rows but the accumulator (argument 3) has 2; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: {{.*}} the weights (argument 1) have 32 rows but the accumulator (argument 3) has 64 columns; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: sherry.matmul at {{.*}}runtime-checks.mlir:{{[0-9]+}}:{{[0-9]+}}: x (argument 0) has 3 rows but the accumulator (argument 3) has 2; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: {{.*}} the weights (argument 1) have 32 rows but the accumulator (argument 3) has 64 columns; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: sherry.matmul at {{.*}}runtime-checks.mlir:{{[0-9]+}}:{{[0-9]+}}: x (argument 0) has 3 rows but the accumulator (argument 3) has 2; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: {{.*}} the weights (argument 1) have 32 rows but the accumulator (argument 3) has 64 columns; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: sherry.matmul at {{.*}}runtime-checks.mlir:{{[0-9]+}}:{{[0-9]+}}: x (argument 0) has 3 rows but the accumulator (argument 3) has 2; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: {{.*}} the weights (argument 1) have 32 rows but the accumulator (argument 3) has 64 columns; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: sherry.matmul at {{.*}}runtime-checks.mlir:{{[0-9]+}}:{{[0-9]+}}: x (argument 0) has 3 rows but the accumulator (argument 3) has 2; the matmul computed nothing{{$}}
// ERR-NEXT: sherry: run-time check failed: @mm: {{.*}} the weights (argument 1) have 32 rows but the accumulator (argument 3) has 64 columns; the matmul computed nothing{{$}}
// OFF-NOT: sherry_runtime_error

func.func private @printI64(i64)
func.func private @printString(!llvm.ptr)
func.func private @printNewline()
llvm.mlir.global internal constant @rows("rows unchanged \00")
llvm.mlir.global internal constant @cols("columns unchanged \00")
llvm.mlir.global internal constant @agree("agreeing sum \00")

func.func @mm(%x: tensor<?x256xf32>, %w: tensor<?x40xi8>, %s: tensor<?xf32>,
              %acc: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<?x256xf32>, tensor<?x40xi8>)
         scales(%s : tensor<?xf32>) outs(%acc : tensor<?x?xf32>)
         layout<sherry, row> mode<int8> -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

/// 1 where every element of `t` is 7.5.
func.func @allInit(%t: tensor<?x?xf32>) -> i64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %init = arith.constant 7.5 : f32
  %n = tensor.dim %t, %c0 : tensor<?x?xf32>
  %m = tensor.dim %t, %c1 : tensor<?x?xf32>
  %true = arith.constant 1 : i64
  %all = scf.for %i = %c0 to %n step %c1 iter_args(%a = %true) -> (i64) {
    %row = scf.for %j = %c0 to %m step %c1 iter_args(%b = %a) -> (i64) {
      %v = tensor.extract %t[%i, %j] : tensor<?x?xf32>
      %eq = arith.cmpf oeq, %v, %init : f32
      %e = arith.extui %eq : i1 to i64
      %and = arith.andi %b, %e : i64
      scf.yield %and : i64
    }
    scf.yield %row : i64
  }
  return %all : i64
}

func.func @print(%label: !llvm.ptr, %v: i64) {
  call @printString(%label) : (!llvm.ptr) -> ()
  call @printI64(%v) : (i64) -> ()
  call @printNewline() : () -> ()
  return
}

func.func @main() {
  // Weights: every group code 2, (0, +1, +1, -1), in both nibbles of each
  // slot byte, no sign bits; scales 1.
  %slots = arith.constant dense<34> : tensor<64x32xi8>
  %signs = arith.constant dense<0> : tensor<64x8xi8>
  %w64 = tensor.concat dim(1) %slots, %signs : (tensor<64x32xi8>, tensor<64x8xi8>) -> tensor<64x40xi8>
  %s64 = arith.constant dense<1.0> : tensor<64xf32>
  %x3s = arith.constant dense<1.0> : tensor<3x256xf32>
  %acc2s = arith.constant dense<7.5> : tensor<2x64xf32>
  %w = tensor.cast %w64 : tensor<64x40xi8> to tensor<?x40xi8>
  %s = tensor.cast %s64 : tensor<64xf32> to tensor<?xf32>
  %x3 = tensor.cast %x3s : tensor<3x256xf32> to tensor<?x256xf32>
  %acc2 = tensor.cast %acc2s : tensor<2x64xf32> to tensor<?x?xf32>

  // 3 rows of x, 2 of the accumulator.
  %r1 = call @mm(%x3, %w, %s, %acc2)
      : (tensor<?x256xf32>, tensor<?x40xi8>, tensor<?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %u1 = call @allInit(%r1) : (tensor<?x?xf32>) -> i64
  %l1 = llvm.mlir.addressof @rows : !llvm.ptr
  call @print(%l1, %u1) : (!llvm.ptr, i64) -> ()

  // 32 rows of weights and scales, 64 columns of the accumulator.
  %w32s = tensor.extract_slice %w64[0, 0] [32, 40] [1, 1] : tensor<64x40xi8> to tensor<32x40xi8>
  %s32s = tensor.extract_slice %s64[0] [32] [1] : tensor<64xf32> to tensor<32xf32>
  %w32 = tensor.cast %w32s : tensor<32x40xi8> to tensor<?x40xi8>
  %s32 = tensor.cast %s32s : tensor<32xf32> to tensor<?xf32>
  %x2s = tensor.extract_slice %x3s[0, 0] [2, 256] [1, 1] : tensor<3x256xf32> to tensor<2x256xf32>
  %x2 = tensor.cast %x2s : tensor<2x256xf32> to tensor<?x256xf32>
  %r2 = call @mm(%x2, %w32, %s32, %acc2)
      : (tensor<?x256xf32>, tensor<?x40xi8>, tensor<?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %u2 = call @allInit(%r2) : (tensor<?x?xf32>) -> i64
  %l2 = llvm.mlir.addressof @cols : !llvm.ptr
  call @print(%l2, %u2) : (!llvm.ptr, i64) -> ()

  // Sizes that agree: 2 x 64 outputs of 7.5 + 64 (each group is
  // (0, +1, +1, -1), code 2, on activations of 1), summed.
  %r3 = call @mm(%x2, %w, %s, %acc2)
      : (tensor<?x256xf32>, tensor<?x40xi8>, tensor<?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n3 = tensor.dim %r3, %c0 : tensor<?x?xf32>
  %m3 = tensor.dim %r3, %c1 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  %sum = scf.for %i = %c0 to %n3 step %c1 iter_args(%a = %zero) -> (f32) {
    %row = scf.for %j = %c0 to %m3 step %c1 iter_args(%b = %a) -> (f32) {
      %v = tensor.extract %r3[%i, %j] : tensor<?x?xf32>
      %t = arith.addf %b, %v : f32
      scf.yield %t : f32
    }
    scf.yield %row : f32
  }
  %sumi = arith.fptosi %sum : f32 to i64
  %l3 = llvm.mlir.addressof @agree : !llvm.ptr
  call @print(%l3, %sumi) : (!llvm.ptr, i64) -> ()
  return
}
