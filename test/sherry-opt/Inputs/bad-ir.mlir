func.func @f(%x: tensor<1x32xf32>) {
  %y = sherry.matmul %x
  return
}
