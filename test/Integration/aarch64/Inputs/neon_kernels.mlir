// Input of codegen-neon.test: int8 sherry.matmul with chunks of 128
// (per-row scales) and of 32 (scale groups of 32), for 8 activation rows
// (decoded into a panel first) and for 3.
func.func @row(%x: tensor<8x256xf32>, %w: tensor<8x40xi8>, %s: tensor<8xf32>,
               %acc: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<8x256xf32>, tensor<8x40xi8>)
         scales(%s : tensor<8xf32>) outs(%acc : tensor<8x8xf32>)
         layout<sherry, row> mode<int8> -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

func.func @group32(%x: tensor<8x96xf32>, %w: tensor<8x15xi8>,
                   %s: tensor<8x3xf32>, %acc: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<8x96xf32>, tensor<8x15xi8>)
         scales(%s : tensor<8x3xf32>) outs(%acc : tensor<8x8xf32>)
         layout<sherry, group = 32> mode<int8> -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// Fewer than 8 activation rows: no panel.
func.func @row_small(%x: tensor<3x256xf32>, %w: tensor<8x40xi8>,
                     %s: tensor<8xf32>, %acc: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<8x40xi8>)
         scales(%s : tensor<8xf32>) outs(%acc : tensor<3x8xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}
