// A valid MLIR symbol that is no C identifier.
func.func @"layer.0"(%a: f32) -> f32 {
  return %a : f32
}
