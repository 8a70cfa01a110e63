// Two public functions (one int8 with a memref result, one returning a
// scalar and a tensor), one private helper.
func.func @linear(%x: tensor<3x96xf32>, %w: tensor<7x15xi8> {sherry.packed = #sherry.layout<sherry, row>},
                  %s: tensor<7xf32>) -> tensor<3x7xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<3x7xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<3x7xf32>)
            -> tensor<3x7xf32>
  %y = sherry.matmul ins(%x, %w : tensor<3x96xf32>, tensor<7x15xi8>)
         scales(%s : tensor<7xf32>) outs(%init : tensor<3x7xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x7xf32>
  return %y : tensor<3x7xf32>
}

func.func @scale_and_count(%a: f32, %n: index, %v: tensor<?xf64>) -> (i32, tensor<?xf64>) {
  %c = func.call @helper(%a) : (f32) -> i32
  return %c, %v : i32, tensor<?xf64>
}

func.func @axpy(%a: f32, %b: i64) -> f32 {
  %f = arith.sitofp %b : i64 to f32
  %r = arith.mulf %a, %f : f32
  return %r : f32
}

func.func private @helper(%a: f32) -> i32 {
  %r = arith.fptosi %a : f32 to i32
  return %r : i32
}
