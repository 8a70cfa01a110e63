// Verifies, but the pipeline cannot lower it: one-shot bufferization must
// not write into an argument marked read-only.
func.func @f(%t: tensor<4xf32>,
             %d: tensor<4xf32> {bufferization.writable = false})
    -> tensor<4xf32> {
  %r = bufferization.materialize_in_destination %t in %d
         : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
