// An f16 scalar passed by value: no portable C type in the header.
func.func @half(%a: f16) -> f32 {
  %r = arith.extf %a : f16 to f32
  return %r : f32
}
