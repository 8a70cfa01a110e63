// RUN: sherry-opt %s -convert-sherry-to-neon | FileCheck %s

// Weights passed at run time in the tables layout (lanes order) go to the
// tbl table kernel with strategy=auto, read where they are: no constant of
// regrouped weights, the counts of negative groups a slice of the argument
// (2 tiles x 16 steps x 80 bytes of codes, then 64 count bytes).
// CHECK-LABEL: func @runtime_tables(
// CHECK-SAME: %[[W:[^:]*]]: tensor<2624xi8>
// CHECK-NOT: arith.constant dense<"0x
// CHECK: tensor.extract_slice %[[W]][2560] [64] [1] : tensor<2624xi8> to tensor<64xi8>
// CHECK: sherry_arm.neon.tbl1
// CHECK-NOT: sherry.matmul
func.func @runtime_tables(%x: tensor<1x256xf32>, %w: tensor<2624xi8>,
                          %s: tensor<64xf32>, %i: tensor<1x64xf32>)
    -> tensor<1x64xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<2624xi8>)
         scales(%s : tensor<64xf32>) outs(%i : tensor<1x64xf32>)
         layout<tables, row, tile_block = 1> mode<int8> -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
