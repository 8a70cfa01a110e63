// A decode-step projection of a LLaMA-3.2-1B-shaped layer (2048 x 2048) on
// packed Sherry weights, with per-row scales and int8 activations.
func.func @q_proj(%x: tensor<1x2048xf32>, %w: tensor<2048x320xi8>,
                  %s: tensor<2048xf32>) -> tensor<1x2048xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<1x2048xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x2048xf32>)
            -> tensor<1x2048xf32>
  %y = sherry.matmul ins(%x, %w : tensor<1x2048xf32>, tensor<2048x320xi8>)
         scales(%s : tensor<2048xf32>) outs(%init : tensor<1x2048xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x2048xf32>
  return %y : tensor<1x2048xf32>
}
