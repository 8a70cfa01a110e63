// Parses, but does not verify: 32 weights per row take 5 bytes, not 6.
func.func @f(%x: tensor<1x32xf32>, %p: tensor<4x6xi8>, %s: tensor<4xf32>,
             %acc: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %y = sherry.matmul ins(%x, %p : tensor<1x32xf32>, tensor<4x6xi8>)
         scales(%s : tensor<4xf32>) outs(%acc : tensor<1x4xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
