func.func @f(%w: tensor<4x32xf32>) -> tensor<4x32xi8> {
  %t, %s = sherry.ternarize %w layout<sherry, group = 0>
             : tensor<4x32xf32> -> tensor<4x32xi8>, tensor<4x0xf32>
  return %t : tensor<4x32xi8>
}
