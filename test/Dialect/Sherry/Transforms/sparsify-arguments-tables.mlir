// RUN: sherry-opt %s -sherry-sparsify="mode=int8 argument-layout=tables" -split-input-file -verify-diagnostics | FileCheck %s
// RUN: sherry-opt %s -split-input-file -verify-diagnostics -sherry-sparsify="layout=stq1_0 mode=int8 argument-layout=tables table-order=words tile-block=8" | FileCheck %s --check-prefix=STQ
// RUN: not sherry-opt %s -split-input-file -sherry-sparsify="argument-layout=tables tile-block=0" 2>&1 | FileCheck %s --check-prefix=BLOCK

// argument-layout=tables: a marked argument becomes the tables layout of
// the packed weights (1-D bytes: 2 tiles x 16 steps x 80 bytes, then one
// count byte per row of each tile), then the scales, as sherry-pack convert
// --layout=tables writes them; the default order is lanes, in blocks of 2
// tiles. Weights that are constants still fold to the packed layout.
// CHECK-LABEL: func @linear(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x256xf32>,
// CHECK-SAME: %[[W:[^:]*]]: tensor<2624xi8> {sherry.packed = #sherry.layout<tables, row, tile_block = 2>},
// CHECK-SAME: %[[S:[^:]*]]: tensor<64xf32> {sherry.scales = #sherry.layout<tables, row, tile_block = 2>},
// CHECK-SAME: %[[I:[^:]*]]: tensor<?x64xf32>)
// CHECK: sherry.matmul ins(%[[X]], %[[W]] : tensor<?x256xf32>, tensor<2624xi8>) scales(%[[S]] : tensor<64xf32>) outs(%[[I]] : tensor<?x64xf32>) layout<tables, row, tile_block = 2> mode<int8>
// STQ-LABEL: func @linear(
// STQ-SAME: tensor<?x256xf32>, %{{[^:]*}}: tensor<2560xi8> {sherry.packed = #sherry.layout<tables, group = 256, grouping = stq1_0, order = words, tile_block = 8>},
// STQ-SAME: %{{[^:]*}}: tensor<64x1xf32> {sherry.scales = #sherry.layout<tables, group = 256, grouping = stq1_0, order = words, tile_block = 8>}
// STQ: layout<tables, group = 256, grouping = stq1_0, order = words, tile_block = 8> mode<int8>
// BLOCK: error: sherry-sparsify: invalid options: the tables layout's tile_block must be in 1..64, got 0
func.func @linear(%x: tensor<?x256xf32>, %w: tensor<64x256xf32> {sherry.weights},
                  %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %e = tensor.empty() : tensor<256x64xf32>
  %t = linalg.transpose ins(%w : tensor<64x256xf32>) outs(%e : tensor<256x64xf32>) permutation = [1, 0]
  %y = linalg.matmul ins(%x, %t : tensor<?x256xf32>, tensor<256x64xf32>)
                     outs(%init : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
