// RUN: sherry-opt %s --inline | FileCheck %s

// Functions holding sherry and sherry_x86 ops inline into their callers,
// so that a wrapper can hand packed constants to a model function and the
// kernels see them as constants.
// CHECK-LABEL: func @caller
// CHECK-NOT: call @
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<2x5xi8>
// CHECK: sherry.matmul ins(%{{.*}}, %[[W]] : tensor<1x32xf32>, tensor<2x5xi8>)
// CHECK: sherry_x86.avx512.vpermb
func.func private @layer(%x: tensor<1x32xf32>, %w: tensor<2x5xi8>,
                         %s: tensor<2xf32>, %i: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<1x32xf32>, tensor<2x5xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<1x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

func.func private @lookup(%t: vector<64xi8>, %i: vector<64xi8>) -> vector<64xi8> {
  %r = sherry_x86.avx512.vpermb %t, %i : vector<64xi8>
  return %r : vector<64xi8>
}

func.func @caller(%x: tensor<1x32xf32>, %s: tensor<2xf32>, %i: tensor<1x2xf32>,
                  %t: vector<64xi8>) -> (tensor<1x2xf32>, vector<64xi8>) {
  %w = arith.constant dense<[[1, 35, 69, 103, 5], [-1, -2, -3, -4, 90]]> : tensor<2x5xi8>
  %y = func.call @layer(%x, %w, %s, %i) : (tensor<1x32xf32>, tensor<2x5xi8>, tensor<2xf32>, tensor<1x2xf32>) -> tensor<1x2xf32>
  %r = func.call @lookup(%t, %t) : (vector<64xi8>, vector<64xi8>) -> vector<64xi8>
  return %y, %r : tensor<1x2xf32>, vector<64xi8>
}
