// RUN: sherry-opt %s -sherry-sparsify -split-input-file -verify-diagnostics | FileCheck %s

// Each batch has its own constant K x M weights: one packed matmul per batch
// on slices of the activations and the accumulator.
// CHECK-LABEL: func @batch_matmul
// CHECK-SAME: (%[[X:.*]]: tensor<2x?x32xf32>, %[[I:.*]]: tensor<2x?x4xf32>)
// CHECK: %[[X0:.*]] = tensor.extract_slice %[[X]][0, 0, 0] [1, %{{.*}}, 32] [1, 1, 1] : tensor<2x?x32xf32> to tensor<?x32xf32>
// CHECK: %[[I0:.*]] = tensor.extract_slice %[[I]][0, 0, 0] [1, %{{.*}}, 4] [1, 1, 1] : tensor<2x?x4xf32> to tensor<?x4xf32>
// CHECK: %[[W0:.*]] = arith.constant dense<{{\[}}[17, 17, 17, 17, -1], [17, 17, 17, 17, -1], [17, 17, 17, 17, -1], [17, 17, 17, 17, -1]]> : tensor<4x5xi8>
// CHECK: %[[Y0:.*]] = sherry.matmul ins(%[[X0]], %[[W0]] : tensor<?x32xf32>, tensor<4x5xi8>) scales(%{{.*}} : tensor<4xf32>) outs(%[[I0]] : tensor<?x4xf32>)
// CHECK: %[[A0:.*]] = tensor.insert_slice %[[Y0]] into %[[I]][0, 0, 0] [1, %{{.*}}, 4] [1, 1, 1] : tensor<?x4xf32> into tensor<2x?x4xf32>
// CHECK: %[[X1:.*]] = tensor.extract_slice %[[X]][1, 0, 0]
// CHECK: %[[I1:.*]] = tensor.extract_slice %[[A0]][1, 0, 0]
// CHECK: %[[W1:.*]] = arith.constant dense<0> : tensor<4x5xi8>
// CHECK: %[[Y1:.*]] = sherry.matmul ins(%[[X1]], %[[W1]] : tensor<?x32xf32>, tensor<4x5xi8>) scales(%{{.*}} : tensor<4xf32>) outs(%[[I1]] : tensor<?x4xf32>)
// CHECK: %[[A1:.*]] = tensor.insert_slice %[[Y1]] into %[[A0]][1, 0, 0]
// CHECK: return %[[A1]]
func.func @batch_matmul(%x: tensor<2x?x32xf32>, %init: tensor<2x?x4xf32>) -> tensor<2x?x4xf32> {
  // Batch 0: groups (0.1, -0.5, 0.9, -0.2), code 17. Batch 1: all 0.5, code 0.
  %w = arith.constant dense<[
    [[0.1, 0.1, 0.1, 0.1], [-0.5, -0.5, -0.5, -0.5], [0.9, 0.9, 0.9, 0.9], [-0.2, -0.2, -0.2, -0.2],
     [0.1, 0.1, 0.1, 0.1], [-0.5, -0.5, -0.5, -0.5], [0.9, 0.9, 0.9, 0.9], [-0.2, -0.2, -0.2, -0.2],
     [0.1, 0.1, 0.1, 0.1], [-0.5, -0.5, -0.5, -0.5], [0.9, 0.9, 0.9, 0.9], [-0.2, -0.2, -0.2, -0.2],
     [0.1, 0.1, 0.1, 0.1], [-0.5, -0.5, -0.5, -0.5], [0.9, 0.9, 0.9, 0.9], [-0.2, -0.2, -0.2, -0.2],
     [0.1, 0.1, 0.1, 0.1], [-0.5, -0.5, -0.5, -0.5], [0.9, 0.9, 0.9, 0.9], [-0.2, -0.2, -0.2, -0.2],
     [0.1, 0.1, 0.1, 0.1], [-0.5, -0.5, -0.5, -0.5], [0.9, 0.9, 0.9, 0.9], [-0.2, -0.2, -0.2, -0.2],
     [0.1, 0.1, 0.1, 0.1], [-0.5, -0.5, -0.5, -0.5], [0.9, 0.9, 0.9, 0.9], [-0.2, -0.2, -0.2, -0.2],
     [0.1, 0.1, 0.1, 0.1], [-0.5, -0.5, -0.5, -0.5], [0.9, 0.9, 0.9, 0.9], [-0.2, -0.2, -0.2, -0.2]],
    [[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
     [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
     [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
     [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
     [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
     [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
     [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
     [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]]]> : tensor<2x32x4xf32>
  %y = linalg.batch_matmul ins(%x, %w : tensor<2x?x32xf32>, tensor<2x32x4xf32>)
                           outs(%init : tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  return %y : tensor<2x?x4xf32>
}

// -----

// A batch whose K the layout rejects stays dense, and nothing is left behind.
// CHECK-LABEL: func @batch_k_not_allowed
// CHECK-NOT: tensor.extract_slice
// CHECK: linalg.batch_matmul
func.func @batch_k_not_allowed(%x: tensor<2x1x36xf32>, %init: tensor<2x1x4xf32>) -> tensor<2x1x4xf32> {
  %w = arith.constant dense<0.5> : tensor<2x36x4xf32>
  // expected-remark @+1 {{sherry-sparsify: left dense: K = 36 is not a multiple of 32}}
  %y = linalg.batch_matmul ins(%x, %w : tensor<2x1x36xf32>, tensor<2x36x4xf32>)
                           outs(%init : tensor<2x1x4xf32>) -> tensor<2x1x4xf32>
  return %y : tensor<2x1x4xf32>
}

// -----

// CHECK-LABEL: func @batch_not_constant
// CHECK: linalg.batch_matmul
func.func @batch_not_constant(%x: tensor<2x1x32xf32>, %w: tensor<2x32x4xf32>, %init: tensor<2x1x4xf32>) -> tensor<2x1x4xf32> {
  // expected-remark @+1 {{sherry-sparsify: left dense: the weights are not a constant}}
  %y = linalg.batch_matmul ins(%x, %w : tensor<2x1x32xf32>, tensor<2x32x4xf32>)
                           outs(%init : tensor<2x1x4xf32>) -> tensor<2x1x4xf32>
  return %y : tensor<2x1x4xf32>
}
