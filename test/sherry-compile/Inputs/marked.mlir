// One function marked for the C interface by its author, one not.
func.func @marked(%flag: i1) -> tensor<f32> attributes {llvm.emit_c_interface} {
  %one = arith.constant dense<1.0> : tensor<f32>
  %two = arith.constant dense<2.0> : tensor<f32>
  %r = arith.select %flag, %one, %two : tensor<f32>
  return %r : tensor<f32>
}

func.func @unmarked(%a: f32) -> f32 {
  return %a : f32
}
