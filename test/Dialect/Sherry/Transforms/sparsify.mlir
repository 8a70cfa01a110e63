// RUN: sherry-opt %s -sherry-sparsify -split-input-file -verify-diagnostics | FileCheck %s
// RUN: sherry-opt %s -sherry-sparsify="mode=int8 granularity=tensor" -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=OPTS

// Every group is (0.1, -0.5, 0.9, -0.2) * (m + 1): the zero goes to lane 0 and
// the code is 17 (sign 1, slot 1), so each row packs to four slot bytes 0x11
// and one sign byte 0xFF; the row scale is (0.5 + 0.9 + 0.2) / 3 * (m + 1).

// The plain linalg form: B = W^T is K x M.
// CHECK-LABEL: func @plain_matmul
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[17, 17, 17, 17, -1], [17, 17, 17, 17, -1], [17, 17, 17, 17, -1], [17, 17, 17, 17, -1]]> : tensor<4x5xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<[0.533333{{[0-9]*}}, 1.06666{{[0-9]*}}, 1.600000e+00, 2.13333{{[0-9]*}}]> : tensor<4xf32>
// CHECK: %[[Y:.*]] = sherry.matmul ins(%{{.*}}, %[[W]] : tensor<2x32xf32>, tensor<4x5xi8>) scales(%[[S]] : tensor<4xf32>) outs(%{{.*}} : tensor<2x4xf32>) layout<sherry, row> -> tensor<2x4xf32>
// CHECK: return %[[Y]]
// OPTS-LABEL: func @plain_matmul
// OPTS: arith.constant dense<1.33333{{[0-9]*}}> : tensor<1xf32>
// OPTS: sherry.matmul {{.*}} layout<sherry, tensor> mode<int8>
func.func @plain_matmul(%x: tensor<2x32xf32>, %init: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %b = arith.constant dense<[[0.100000, 0.200000, 0.300000, 0.400000], [-0.500000, -1.000000, -1.500000, -2.000000], [0.900000, 1.800000, 2.700000, 3.600000], [-0.200000, -0.400000, -0.600000, -0.800000], [0.100000, 0.200000, 0.300000, 0.400000], [-0.500000, -1.000000, -1.500000, -2.000000], [0.900000, 1.800000, 2.700000, 3.600000], [-0.200000, -0.400000, -0.600000, -0.800000], [0.100000, 0.200000, 0.300000, 0.400000], [-0.500000, -1.000000, -1.500000, -2.000000], [0.900000, 1.800000, 2.700000, 3.600000], [-0.200000, -0.400000, -0.600000, -0.800000], [0.100000, 0.200000, 0.300000, 0.400000], [-0.500000, -1.000000, -1.500000, -2.000000], [0.900000, 1.800000, 2.700000, 3.600000], [-0.200000, -0.400000, -0.600000, -0.800000], [0.100000, 0.200000, 0.300000, 0.400000], [-0.500000, -1.000000, -1.500000, -2.000000], [0.900000, 1.800000, 2.700000, 3.600000], [-0.200000, -0.400000, -0.600000, -0.800000], [0.100000, 0.200000, 0.300000, 0.400000], [-0.500000, -1.000000, -1.500000, -2.000000], [0.900000, 1.800000, 2.700000, 3.600000], [-0.200000, -0.400000, -0.600000, -0.800000], [0.100000, 0.200000, 0.300000, 0.400000], [-0.500000, -1.000000, -1.500000, -2.000000], [0.900000, 1.800000, 2.700000, 3.600000], [-0.200000, -0.400000, -0.600000, -0.800000], [0.100000, 0.200000, 0.300000, 0.400000], [-0.500000, -1.000000, -1.500000, -2.000000], [0.900000, 1.800000, 2.700000, 3.600000], [-0.200000, -0.400000, -0.600000, -0.800000]]> : tensor<32x4xf32>
  %y = linalg.matmul ins(%x, %b : tensor<2x32xf32>, tensor<32x4xf32>)
                     outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// torch-mlir's nn.Linear: the M x K weight goes through linalg.transpose.
// CHECK-LABEL: func @torch_linear
// CHECK: arith.constant dense<{{\[}}[17, 17, 17, 17, -1], [17, 17, 17, 17, -1], [17, 17, 17, 17, -1], [17, 17, 17, 17, -1]]> : tensor<4x5xi8>
// The float weight, its transpose and the transpose's destination are gone.
// CHECK-NOT: tensor<4x32xf32>
// CHECK-NOT: linalg.transpose
// CHECK-NOT: tensor.empty
// CHECK: sherry.matmul ins(%{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<4x5xi8>)
// CHECK-NOT: linalg.matmul
func.func @torch_linear(%x: tensor<?x32xf32>, %init: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<[[0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000], [0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000], [0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000], [0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000]]> : tensor<4x32xf32>
  %e = tensor.empty() : tensor<32x4xf32>
  %t = linalg.transpose ins(%w : tensor<4x32xf32>) outs(%e : tensor<32x4xf32>) permutation = [1, 0]
  %y = linalg.matmul ins(%x, %t : tensor<?x32xf32>, tensor<32x4xf32>)
                     outs(%init : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// A float weight something else still uses stays; only the dead transpose goes.
// CHECK-LABEL: func @weight_used_elsewhere
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<1x32xf32>
// CHECK-NOT: linalg.transpose
// CHECK: %[[Y:.*]] = sherry.matmul
// CHECK: return %[[Y]], %[[W]]
func.func @weight_used_elsewhere(%x: tensor<2x32xf32>, %init: tensor<2x1xf32>) -> (tensor<2x1xf32>, tensor<1x32xf32>) {
  %w = arith.constant dense<[[0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000]]> : tensor<1x32xf32>
  %e = tensor.empty() : tensor<32x1xf32>
  %t = linalg.transpose ins(%w : tensor<1x32xf32>) outs(%e : tensor<32x1xf32>) permutation = [1, 0]
  %y = linalg.matmul ins(%x, %t : tensor<2x32xf32>, tensor<32x1xf32>)
                     outs(%init : tensor<2x1xf32>) -> tensor<2x1xf32>
  return %y, %w : tensor<2x1xf32>, tensor<1x32xf32>
}

// -----

// Transposed-B indexing maps on the M x K weight.
// CHECK-LABEL: func @transpose_b_maps
// CHECK: arith.constant dense<{{\[}}[17, 17, 17, 17, -1], [17, 17, 17, 17, -1], [17, 17, 17, 17, -1], [17, 17, 17, 17, -1]]> : tensor<4x5xi8>
// CHECK: sherry.matmul ins(%{{.*}}, %{{.*}} : tensor<1x32xf32>, tensor<4x5xi8>)
func.func @transpose_b_maps(%x: tensor<1x32xf32>, %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %w = arith.constant dense<[[0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000], [0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000], [0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000], [0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000]]> : tensor<4x32xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                      affine_map<(d0, d1, d2) -> (d1, d2)>,
                                      affine_map<(d0, d1, d2) -> (d0, d1)>]
         ins(%x, %w : tensor<1x32xf32>, tensor<4x32xf32>)
         outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// matvec is the N = 1 matmul, reshaped around it.
// CHECK-LABEL: func @matvec
// CHECK: %[[X:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0, 1]] output_shape [1, 32] : tensor<32xf32> into tensor<1x32xf32>
// CHECK: %[[I:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0, 1]] output_shape [1, 4] : tensor<4xf32> into tensor<1x4xf32>
// CHECK: %[[Y:.*]] = sherry.matmul ins(%[[X]], %{{.*}} : tensor<1x32xf32>, tensor<4x5xi8>) scales(%{{.*}} : tensor<4xf32>) outs(%[[I]] : tensor<1x4xf32>)
// CHECK: tensor.collapse_shape %[[Y]] {{\[}}[0, 1]] : tensor<1x4xf32> into tensor<4xf32>
func.func @matvec(%x: tensor<32xf32>, %init: tensor<4xf32>) -> tensor<4xf32> {
  %w = arith.constant dense<[[0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000], [0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000], [0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000, 0.300000, -1.500000, 2.700000, -0.600000], [0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000, 0.400000, -2.000000, 3.600000, -0.800000]]> : tensor<4x32xf32>
  %y = linalg.matvec ins(%w, %x : tensor<4x32xf32>, tensor<32xf32>)
                     outs(%init : tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Layers left dense say why.
// CHECK-LABEL: func @weights_not_constant
// CHECK: linalg.matmul
func.func @weights_not_constant(%x: tensor<1x32xf32>, %b: tensor<32x4xf32>, %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-remark @+1 {{sherry-sparsify: left dense: the weights are not a constant}}
  %y = linalg.matmul ins(%x, %b : tensor<1x32xf32>, tensor<32x4xf32>)
                     outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// CHECK-LABEL: func @k_not_allowed
// CHECK: linalg.matmul
func.func @k_not_allowed(%x: tensor<1x36xf32>, %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %b = arith.constant dense<0.5> : tensor<36x4xf32>
  // expected-remark @+1 {{sherry-sparsify: left dense: K = 36 is not a multiple of 32}}
  %y = linalg.matmul ins(%x, %b : tensor<1x36xf32>, tensor<36x4xf32>)
                     outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// CHECK-LABEL: func @integer_weights
// CHECK: linalg.matmul
func.func @integer_weights(%x: tensor<1x32xi32>, %init: tensor<1x4xi32>) -> tensor<1x4xi32> {
  %b = arith.constant dense<1> : tensor<32x4xi32>
  // expected-remark @+1 {{sherry-sparsify: left dense: the weights are not floating point}}
  %y = linalg.matmul ins(%x, %b : tensor<1x32xi32>, tensor<32x4xi32>)
                     outs(%init : tensor<1x4xi32>) -> tensor<1x4xi32>
  return %y : tensor<1x4xi32>
}

// -----

// CHECK-LABEL: func @on_buffers
// CHECK: linalg.matmul
func.func @on_buffers(%x: memref<1x32xf32>, %b: memref<32x4xf32>, %y: memref<1x4xf32>) {
  // expected-remark @+1 {{sherry-sparsify: left dense: the weights are not a constant}}
  linalg.matmul ins(%x, %b : memref<1x32xf32>, memref<32x4xf32>)
                outs(%y : memref<1x4xf32>)
  return
}
