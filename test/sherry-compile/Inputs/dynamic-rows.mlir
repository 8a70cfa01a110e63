// x and the accumulator with dynamic rows: the run-time checks compare them.
func.func @mm(%x: tensor<?x256xf32>, %w: tensor<64x40xi8>, %s: tensor<64xf32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<?x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<?x64xf32>) layout<sherry, row> mode<int8>
         -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
