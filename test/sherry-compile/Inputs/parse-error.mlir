// A syntax error on line 4.
func.func @f(%x: tensor<3x96xf32>) -> tensor<3x96xf32> {
  // The type is missing.
  return %x :
}
