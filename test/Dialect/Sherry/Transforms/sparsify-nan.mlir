// RUN: sherry-opt %s -sherry-sparsify -verify-diagnostics

// NaN weights cannot be projected: an error, not silently wrong numbers.
func.func @nan_weights(%x: tensor<1x32xf32>, %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %b = arith.constant dense<0x7FC00000> : tensor<32x4xf32>
  // expected-error @+1 {{sherry-sparsify: cannot ternarize the 4 x 32 weights:}}
  %y = linalg.matmul ins(%x, %b : tensor<1x32xf32>, tensor<32x4xf32>)
                     outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
