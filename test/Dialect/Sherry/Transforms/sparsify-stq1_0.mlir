// RUN: sherry-opt %s -sherry-sparsify="layout=stq1_0 mode=int8" -split-input-file -verify-diagnostics | FileCheck %s

// All weights 0.5: every group zeroes lane 0 and keeps +1 (code 0), so a
// block is 32 slot bytes 0, 8 sign bytes 0 and the f16 scale 0.5 = 0x3800
// little endian (0x00, 0x38 = 56).
// CHECK-LABEL: func @stq_splat
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 56], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 56]]> : tensor<2x42xi8>
// CHECK: sherry.matmul ins(%{{.*}}, %[[W]] : tensor<1x256xf32>, tensor<2x42xi8>) outs(%{{.*}} : tensor<1x2xf32>) layout<stq1_0> mode<int8> -> tensor<1x2xf32>
func.func @stq_splat(%x: tensor<1x256xf32>, %init: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %b = arith.constant dense<0.5> : tensor<256x2xf32>
  %y = linalg.matmul ins(%x, %b : tensor<1x256xf32>, tensor<256x2xf32>)
                     outs(%init : tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// CHECK-LABEL: func @stq_k
// CHECK: linalg.matmul
func.func @stq_k(%x: tensor<1x64xf32>, %init: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %b = arith.constant dense<0.5> : tensor<64x2xf32>
  // expected-remark @+1 {{sherry-sparsify: left dense: K = 64 is not a multiple of 256}}
  %y = linalg.matmul ins(%x, %b : tensor<1x64xf32>, tensor<64x2xf32>)
                     outs(%init : tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
