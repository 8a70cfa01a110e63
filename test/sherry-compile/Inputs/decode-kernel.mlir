// An int8 matmul whose scale segments are multiples of 64: the x86 decode
// kernel (vpdpbusd) and the AArch64 dot product kernel (sdot) take it.
func.func @layer(%x: tensor<3x256xf32>, %w: tensor<64x40xi8>,
                 %s: tensor<64xf32>, %acc: tensor<3x64xf32>) -> tensor<3x64xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<3x64xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x64xf32>
  return %y : tensor<3x64xf32>
}
