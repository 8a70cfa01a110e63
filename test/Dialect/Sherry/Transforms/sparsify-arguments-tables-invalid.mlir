// RUN: sherry-opt %s -sherry-sparsify="mode=int8 argument-layout=tables table-order=words" -verify-diagnostics

// The words order reads 64 K elements at a time: K = 96 cannot take it.
// expected-error @+1 {{sherry-sparsify: argument #1 is marked sherry.weights but argument-layout=tables: the tables layout (words order) reads 64 K elements at a time, so K and the scale regions must be multiples of 64; got K = 96 and row scales}}
func.func @linear(%x: tensor<?x96xf32>, %w: tensor<8x96xf32> {sherry.weights},
                  %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %e = tensor.empty() : tensor<96x8xf32>
  %t = linalg.transpose ins(%w : tensor<8x96xf32>) outs(%e : tensor<96x8xf32>) permutation = [1, 0]
  %y = linalg.matmul ins(%x, %t : tensor<?x96xf32>, tensor<96x8xf32>)
                     outs(%init : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
