// RUN: sherry-opt %s -convert-sherry-to-neon="strategy=tables" | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-neon="strategy=decode" | FileCheck %s --check-prefix=DECODE
// RUN: sherry-opt %s -convert-sherry-to-neon="isa=neon tables-max-batch=4" | FileCheck %s --check-prefix=BATCH
// RUN: sherry-opt %s --sherry-to-llvm="target=neon strategy=tables" | mlir-translate --mlir-to-llvmir | llc -O3 -mtriple=aarch64-linux-gnu -mattr=+neon,+dotprod | FileCheck %s --check-prefix=ASM
// RUN: not sherry-opt %s -convert-sherry-to-neon="strategy=lut" 2>&1 | FileCheck %s --check-prefix=STRATEGY
// RUN: not sherry-opt %s -convert-sherry-to-neon="tile-block=-1" 2>&1 | FileCheck %s --check-prefix=TILE
// STRATEGY: for the --strategy option: Cannot find option named 'lut'!
// TILE: for the --tile-block option: '-1' value invalid for uint argument!

// The table kernel on NEON tbl: weights regrouped into the tables layout,
// lanes order, one tile per block, followed by each row's count of negative
// groups per segment (2 and 4 here, a byte each); tables of the
// 4 groups' 16 canonical sums per step (N x K/16 x 128 bytes); per step,
// tile and group, tbl of the low and high bytes of 16 rows' sums, the sign
// bits spread to bytes complement both, zip into i16 sums and add into the
// 4 row accumulators of 8 lanes.
// CHECK-LABEL: func @constant_weights
// CHECK-DAG: %[[W:.*]] = arith.constant dense<"0x{{(([0-9A-F]{160}){2})}}0204{{(0{60})}}"> : tensor<192xi8>
// CHECK: %[[NEG:.*]] = tensor.extract_slice %[[W]][160] [32] [1] : tensor<192xi8> to tensor<32xi8>
// CHECK: sherry.quantize_activations
// CHECK: scf.for {{.*}} -> (tensor<?x2x128xi8>)
// CHECK: scf.forall
// CHECK:   scf.for {{.*}} -> (vector<8xi16>, vector<8xi16>, vector<8xi16>, vector<8xi16>)
// CHECK-COUNT-2: sherry_arm.neon.tbl1 {{.*}} : vector<16xi8>
// CHECK:     arith.xori {{.*}} : vector<16xi8>
// CHECK:     vector.shuffle {{.*}} [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23] : vector<16xi8>, vector<16xi8>
// CHECK:     vector.bitcast {{.*}} : vector<16xi8> to vector<8xi16>
// CHECK:   arith.extsi {{.*}} : vector<8xi16> to vector<8xi32>
// CHECK:   vector.transfer_read %[[NEG]][{{.*}}], {{.*}} : tensor<32xi8>, vector<32xi8>
// CHECK:   arith.sitofp {{.*}} : vector<32xi32> to vector<32xf32>
// CHECK-NOT: sherry.matmul
// DECODE-LABEL: func @constant_weights
// DECODE-NOT: sherry_arm
// DECODE: arm_neon.intr.sdot
// A static batch of 4 rows or more goes to the decode kernel.
// BATCH-LABEL: func @constant_weights
// BATCH: sherry_arm.neon.tbl1
// BATCH-LABEL: func @batch8
// BATCH-NOT: sherry_arm
// BATCH: arm_neon.intr.smull
// ASM-LABEL: constant_weights:
// ASM: tbl v{{[0-9]+}}.16b, { v{{[0-9]+}}.16b }, v{{[0-9]+}}.16b
// ASM: zip1 v{{[0-9]+}}.16b
// ASM-NOT: sdot
func.func @constant_weights(%x: tensor<3x32xf32>, %s: tensor<2xf32>,
                            %i: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1, 35, 69, 103, 5], [-1, -2, -3, -4, 90]]> : tensor<2x5xi8>
  %y = sherry.matmul ins(%x, %w : tensor<3x32xf32>, tensor<2x5xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<3x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

func.func @batch8(%x: tensor<8x32xf32>, %s: tensor<2xf32>,
                  %i: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1, 35, 69, 103, 5], [-1, -2, -3, -4, 90]]> : tensor<2x5xi8>
  %y = sherry.matmul ins(%x, %w : tensor<8x32xf32>, tensor<2x5xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<8x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}
