// RUN: sherry-opt %s -sherry-sparsify="min-weights=256" -verify-diagnostics | FileCheck %s
// RUN: not sherry-opt %s -sherry-sparsify="granularity=group group-size=6" 2>&1 | FileCheck %s --check-prefix=BADGROUP

// BADGROUP: error: sherry-sparsify: invalid options: scale group size must be a positive multiple of 4 (whole weight groups), got 6

// CHECK-LABEL: func @below_threshold
// CHECK: linalg.matmul
func.func @below_threshold(%x: tensor<1x32xf32>, %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %b = arith.constant dense<0.5> : tensor<32x4xf32>
  // expected-remark @+1 {{sherry-sparsify: left dense: 128 weights is below min-weights=256}}
  %y = linalg.matmul ins(%x, %b : tensor<1x32xf32>, tensor<32x4xf32>)
                     outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// CHECK-LABEL: func @above_threshold
// CHECK: sherry.matmul
func.func @above_threshold(%x: tensor<1x32xf32>, %init: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %b = arith.constant dense<0.5> : tensor<32x8xf32>
  %y = linalg.matmul ins(%x, %b : tensor<1x32xf32>, tensor<32x8xf32>)
                     outs(%init : tensor<1x8xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
