// The tables layout and sherry.repack: printing and parsing, and folding on
// constants through the format library.
// RUN: sherry-opt %s -split-input-file | FileCheck %s --check-prefix=PRINT
// RUN: sherry-opt %s -split-input-file | sherry-opt -split-input-file | FileCheck %s --check-prefix=PRINT
// RUN: sherry-opt %s -split-input-file --mlir-print-op-generic | sherry-opt -split-input-file | FileCheck %s --check-prefix=PRINT
// RUN: sherry-opt %s -split-input-file -canonicalize | FileCheck %s --check-prefix=FOLD

// Defaults (grouping sherry, order lanes, tile block 4) are elided.
// PRINT-LABEL: func @layouts
// PRINT-SAME: a = #sherry.layout<tables, row>
// PRINT-SAME: b = #sherry.layout<tables, group = 256, scale_type = f16, grouping = stq1_0, order = words, tile_block = 8>
// PRINT-SAME: c = #sherry.layout<tables, tensor, order = pairs, tile_block = 1>
func.func @layouts() attributes {
    a = #sherry.layout<tables, row, grouping = sherry, order = lanes, tile_block = 4>,
    b = #sherry.layout<tables, tile_block = 8, order = words, grouping = stq1_0,
                       group = 256, scale_type = f16>,
    c = #sherry.layout<tables, tensor, order = pairs, tile_block = 1>} {
  return
}

// -----

// A matmul on the tables layout: 1-D bytes, M from the accumulator (here 40
// rows: 2 tiles of 6 steps of 80 bytes, and a count per row and tile).
// PRINT-LABEL: func @matmul
// PRINT: sherry.matmul ins(%{{.*}}, %{{.*}} : tensor<3x96xf32>, tensor<1024xi8>) scales(%{{.*}} : tensor<40xf32>) outs(%{{.*}} : tensor<3x40xf32>) layout<tables, row> mode<int8> -> tensor<3x40xf32>
func.func @matmul(%x: tensor<3x96xf32>, %w: tensor<1024xi8>, %s: tensor<40xf32>,
                  %init: tensor<3x40xf32>) -> tensor<3x40xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x96xf32>, tensor<1024xi8>)
         scales(%s : tensor<40xf32>) outs(%init : tensor<3x40xf32>)
         layout<tables, row> mode<int8> -> tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}

// -----

// Every group (0, +1, +1, -1), code 2, in both nibbles of the slot bytes,
// no sign bits: repacked into the lanes order (byte 16i + j of a step holds
// group i of rows j and 16 + j: 2 in the low nibbles of rows 0 and 1)
// and back to the same bytes; the counts of negative groups are 0.
// FOLD-LABEL: func @repack_fold
// FOLD-DAG: %[[T:.*]] = arith.constant dense<"0x020200000000000000000000000000000202000000000000000000000000000002020000000000000000000000000000020200000000000000000000000000000000000000000000000000000000000002020000000000000000000000000000020200000000000000000000000000000202000000000000000000000000000002020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"> : tensor<192xi8>
// FOLD-DAG: %[[B:.*]] = arith.constant dense<{{\[}}[34, 34, 34, 34, 0], [34, 34, 34, 34, 0]]> : tensor<2x5xi8>
// FOLD: return %[[T]], %[[B]]
func.func @repack_fold() -> (tensor<192xi8>, tensor<2x5xi8>) {
  %w = arith.constant dense<[[34, 34, 34, 34, 0], [34, 34, 34, 34, 0]]> : tensor<2x5xi8>
  %t = sherry.repack %w from <sherry, row> to <tables, row>
         : tensor<2x5xi8> -> tensor<192xi8>
  %b = sherry.repack %t from <tables, row> to <sherry, row>
         : tensor<192xi8> -> tensor<2x5xi8>
  return %t, %b : tensor<192xi8>, tensor<2x5xi8>
}

// -----

// stq1_0: the block scales come out as a second result, and go back in.
// FOLD-LABEL: func @repack_stq1_0
// FOLD-DAG: %[[S:.*]] = arith.constant dense<5.000000e-01> : tensor<1x1xf16>
// FOLD-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<1x42xi8>
// FOLD: return %[[W]], %[[S]]
func.func @repack_stq1_0() -> (tensor<1x42xi8>, tensor<1x1xf16>) {
  // 32 slot bytes of code 2, 8 sign bytes of 0, scale 0.5 (f16 0x3800).
  %w = arith.constant dense<[[34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
                              34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
                              0, 0, 0, 0, 0, 0, 0, 0, 0, 56]]> : tensor<1x42xi8>
  %t, %s = sherry.repack %w from <stq1_0>
             to <tables, group = 256, scale_type = f16, grouping = stq1_0>
           : tensor<1x42xi8> -> tensor<1312xi8>, tensor<1x1xf16>
  %b = sherry.repack %t scales(%s : tensor<1x1xf16>)
         from <tables, group = 256, scale_type = f16, grouping = stq1_0> to <stq1_0>
       : tensor<1312xi8> -> tensor<1x42xi8>
  return %b, %s : tensor<1x42xi8>, tensor<1x1xf16>
}
