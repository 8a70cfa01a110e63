// RUN: sherry-opt %s -sherry-sparsify="layout=stq1_0 mode=int8" | FileCheck %s

// stq1_0 keeps its scales in the bytes: the packed argument stands alone.
// CHECK-LABEL: func @linear(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x512xf32>,
// CHECK-SAME: %[[W:[^:]*]]: tensor<64x84xi8> {sherry.packed = #sherry.layout<stq1_0>},
// CHECK-SAME: %[[I:[^:]*]]: tensor<?x64xf32>)
// CHECK: sherry.matmul ins(%[[X]], %[[W]] : tensor<?x512xf32>, tensor<64x84xi8>) outs(%[[I]] : tensor<?x64xf32>) layout<stq1_0> mode<int8>
func.func @linear(%x: tensor<?x512xf32>, %w: tensor<64x512xf32> {sherry.weights},
                  %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                      affine_map<(d0, d1, d2) -> (d1, d2)>,
                                      affine_map<(d0, d1, d2) -> (d0, d1)>]
         ins(%x, %w : tensor<?x512xf32>, tensor<64x512xf32>)
         outs(%init : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
