// Parses, but does not verify: 96 weights per row take 15 bytes, not 16.
func.func @f(%x: tensor<3x96xf32>, %w: tensor<7x16xi8>, %s: tensor<7xf32>,
             %acc: tensor<3x7xf32>) -> tensor<3x7xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x96xf32>, tensor<7x16xi8>)
         scales(%s : tensor<7xf32>) outs(%acc : tensor<3x7xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x7xf32>
  return %y : tensor<3x7xf32>
}
