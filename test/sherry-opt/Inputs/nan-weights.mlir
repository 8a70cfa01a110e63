// Constant weights that sherry-sparsify cannot project: NaN, then Inf.
func.func @nan_weights(%x: tensor<1x32xf32>, %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %b = arith.constant dense<0x7FC00000> : tensor<32x4xf32>
  %y = linalg.matmul ins(%x, %b : tensor<1x32xf32>, tensor<32x4xf32>)
                     outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @inf_weights(%x: tensor<1x32xf32>, %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %b = arith.constant dense<0x7F800000> : tensor<32x4xf32>
  %y = linalg.matmul ins(%x, %b : tensor<1x32xf32>, tensor<32x4xf32>)
                     outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
