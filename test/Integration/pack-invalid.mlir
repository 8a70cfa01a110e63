// sherry.pack at run time on values that are no valid group (two zeros in
// the first group) stops the program with a message, instead of writing
// bytes that mean something else.
// RUN: sherry-opt %s --sherry-to-llvm | not --crash stdbuf -o0 mlir-runner -e main -entry-point-result=void %runner_libs 2>&1 | FileCheck %s
// CHECK: sherry.pack: every group of 4 values must hold exactly one 0 and +1 or -1 elsewhere

func.func @pack(%t: tensor<1x32xi8>) -> tensor<1x5xi8> {
  %p = sherry.pack %t layout<sherry, row> : tensor<1x32xi8> -> tensor<1x5xi8>
  return %p : tensor<1x5xi8>
}

func.func @main() {
  %t = arith.constant dense<[[0, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1,
                              0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]]> : tensor<1x32xi8>
  %p = func.call @pack(%t) : (tensor<1x32xi8>) -> tensor<1x5xi8>
  return
}
