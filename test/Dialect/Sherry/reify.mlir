// RUN: sherry-opt %s -resolve-ranked-shaped-type-result-dims -canonicalize -cse -split-input-file | FileCheck %s

// Dynamic result sizes resolve to the operands' sizes, without computing
// the matmul.
// CHECK-LABEL: func @matmul_dims
// CHECK-SAME: (%[[X:.*]]: tensor<?x256xf32>, %{{.*}}: tensor<?x40xi8>, %{{.*}}: tensor<?xf32>, %[[I:.*]]: tensor<?x?xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[N:.*]] = tensor.dim %[[I]], %[[C0]]
// CHECK-DAG: %[[M:.*]] = tensor.dim %[[I]], %[[C1]]
// CHECK: return %[[N]], %[[M]]
func.func @matmul_dims(%x: tensor<?x256xf32>, %w: tensor<?x40xi8>,
                       %s: tensor<?xf32>, %init: tensor<?x?xf32>)
    -> (index, index) {
  %y = sherry.matmul ins(%x, %w : tensor<?x256xf32>, tensor<?x40xi8>)
         scales(%s : tensor<?xf32>) outs(%init : tensor<?x?xf32>)
         layout<sherry, row> -> tensor<?x?xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %y, %c0 : tensor<?x?xf32>
  %m = tensor.dim %y, %c1 : tensor<?x?xf32>
  return %n, %m : index, index
}

// -----

// CHECK-LABEL: func @quantize_dims
// CHECK-SAME: (%[[X:.*]]: tensor<?x?xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[N:.*]] = tensor.dim %[[X]], %[[C0]]
// CHECK-DAG: %[[K:.*]] = tensor.dim %[[X]], %[[C1]]
// CHECK-DAG: %[[B:.*]] = arith.divui %[[K]], %[[C64]]
// CHECK: return %[[N]], %[[K]], %[[B]]
func.func @quantize_dims(%x: tensor<?x?xf32>) -> (index, index, index) {
  %q, %s = sherry.quantize_activations %x block 64
             : tensor<?x?xf32> -> tensor<?x?xi8>, tensor<?x?xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %s, %c0 : tensor<?x?xf32>
  %k = tensor.dim %q, %c1 : tensor<?x?xi8>
  %b = tensor.dim %s, %c1 : tensor<?x?xf32>
  return %n, %k, %b : index, index, index
}
