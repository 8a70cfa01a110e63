// RUN: sherry-opt %s --transform-interpreter -split-input-file -canonicalize | FileCheck %s

// Tiling over M with scf.forall (the threads of the lowering): each tile is
// a sherry.matmul on whole rows of packed bytes, their row scales and bias,
// and a column block of the accumulator.
// CHECK-LABEL: func @tile_m_forall
// CHECK: scf.forall (%[[I:.*]]) in (4) shared_outs(%[[ACC:.*]] = %{{.*}}) -> (tensor<3x64xf32>)
// CHECK:   %[[OFF:.*]] = affine.apply #{{.*}}(%[[I]])
// CHECK-DAG:   %[[W:.*]] = tensor.extract_slice %{{.*}}[%[[OFF]], 0] [16, 40] [1, 1] : tensor<64x40xi8> to tensor<16x40xi8>
// CHECK-DAG:   %[[S:.*]] = tensor.extract_slice %{{.*}}[%[[OFF]]] [16] [1] : tensor<64xf32> to tensor<16xf32>
// CHECK-DAG:   %[[B:.*]] = tensor.extract_slice %{{.*}}[%[[OFF]]] [16] [1] : tensor<64xf32> to tensor<16xf32>
// CHECK-DAG:   %[[O:.*]] = tensor.extract_slice %[[ACC]][0, %[[OFF]]] [3, 16] [1, 1] : tensor<3x64xf32> to tensor<3x16xf32>
// CHECK:   %[[T:.*]] = sherry.matmul ins(%{{.*}}, %[[W]] : tensor<3x256xf32>, tensor<16x40xi8>) scales(%[[S]] : tensor<16xf32>) bias(%[[B]] : tensor<16xf32>) outs(%[[O]] : tensor<3x16xf32>) layout<sherry, row> mode<int8> -> tensor<3x16xf32>
// CHECK:   tensor.parallel_insert_slice %[[T]] into %[[ACC]][0, %[[OFF]]] [3, 16] [1, 1]
func.func @tile_m_forall(%x: tensor<3x256xf32>, %w: tensor<64x40xi8>,
                         %s: tensor<64xf32>, %b: tensor<64xf32>,
                         %init: tensor<3x64xf32>) -> tensor<3x64xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) bias(%b : tensor<64xf32>)
         outs(%init : tensor<3x64xf32>) layout<sherry, row> mode<int8>
         -> tensor<3x64xf32>
  return %y : tensor<3x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match ops{["sherry.matmul"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %mm tile_sizes [0, 16] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Tiling N and M with scf.for on memrefs, M not a multiple of the tile:
// group scales keep all their K/G columns; the last tile is partial.
// CHECK-LABEL: func @tile_nm_for_memref
// CHECK: scf.for %[[N:.*]] = %c0 to %c5 step %c2
// CHECK:   scf.for %[[M:.*]] = %c0 to %c7 step %c4
// CHECK:     %[[SN:.*]] = affine.min
// CHECK:     %[[SM:.*]] = affine.min
// CHECK-DAG:     memref.subview %{{.*}}[%[[N]], 0] [%[[SN]], 512] [1, 1] : memref<5x512xf32> to memref<?x512xf32, strided<[512, 1], offset: ?>>
// CHECK-DAG:     memref.subview %{{.*}}[%[[M]], 0] [%[[SM]], 80] [1, 1] : memref<7x80xi8> to memref<?x80xi8, strided<[80, 1], offset: ?>>
// CHECK-DAG:     memref.subview %{{.*}}[%[[M]], 0] [%[[SM]], 4] [1, 1] : memref<7x4xf32> to memref<?x4xf32, strided<[4, 1], offset: ?>>
// CHECK:     sherry.matmul ins({{.*}}) scales({{.*}} : memref<?x4xf32, strided<[4, 1], offset: ?>>) outs({{.*}} : memref<?x?xf32, strided<[7, 1], offset: ?>>) layout<sherry, group = 128>
func.func @tile_nm_for_memref(%x: memref<5x512xf32>, %w: memref<7x80xi8>,
                              %s: memref<7x4xf32>, %y: memref<5x7xf32>) {
  sherry.matmul ins(%x, %w : memref<5x512xf32>, memref<7x80xi8>)
    scales(%s : memref<7x4xf32>) outs(%y : memref<5x7xf32>)
    layout<sherry, group = 128>
  return
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match ops{["sherry.matmul"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %l0, %l1 = transform.structured.tile_using_for %mm tile_sizes [2, 4] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}
