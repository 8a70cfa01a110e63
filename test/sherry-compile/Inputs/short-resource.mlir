// Constant weights whose resource blob holds 2 floats, not 4 x 32.
func.func @layer(%x: tensor<1x32xf32>, %acc: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %w = arith.constant dense_resource<w> : tensor<4x32xf32>
  %t, %s = sherry.ternarize %w layout<sherry, row>
             : tensor<4x32xf32> -> tensor<4x32xi8>, tensor<4xf32>
  %p = sherry.pack %t layout<sherry, row> : tensor<4x32xi8> -> tensor<4x5xi8>
  %y = sherry.matmul ins(%x, %p : tensor<1x32xf32>, tensor<4x5xi8>)
         scales(%s : tensor<4xf32>) outs(%acc : tensor<1x4xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803f0000803f"
    }
  }
#-}
