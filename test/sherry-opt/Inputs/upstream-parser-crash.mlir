// linalg.transpose's parser in MLIR 22 goes on with a null attribute after
// a malformed permutation (an error it has already reported) and crashes.
func.func @f(%w: tensor<2x3xf32>, %e: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %r = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) permutation = [1,@0]
  return %r : tensor<3x2xf32>
}
