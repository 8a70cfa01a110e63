// RUN: sherry-opt %s --convert-sherry-to-neon --split-input-file | FileCheck %s
// RUN: not sherry-opt %s --convert-sherry-to-neon="isa=sve" 2>&1 | FileCheck %s --check-prefix=ISA
// RUN: not sherry-opt %s --convert-sherry-to-neon="row-block=-1" 2>&1 | FileCheck %s --check-prefix=BLOCK

// ISA: error: convert-sherry-to-neon: unknown isa 'sve'; expected 'neon-dotprod' or 'neon'
// BLOCK: error: convert-sherry-to-neon: row-block and batch-block must not be negative (0: the isa's default), got row-block=-1 batch-block=0

// int8 mode, chunks of 64: the micro-kernel with four sdot of 16 bytes per
// chunk and activation row into one i32 lane per group, no activation sums
// (signed weights), one i32 reduction per segment.
// CHECK-LABEL: func.func @int8_row
// CHECK: sherry.quantize_activations
// CHECK-NOT: linalg.generic
// CHECK: scf.for
// CHECK: scf.for {{.*}} -> (vector<16xi32>
// CHECK-COUNT-4: arm_neon.intr.sdot {{.*}} : vector<16xi8>, vector<16xi8> to vector<4xi32>
// CHECK: vector.reduction <add>, {{.*}} : vector<16xi32> into i32
// CHECK-NOT: sherry.matmul
func.func @int8_row(%x: tensor<3x256xf32>, %w: tensor<7x40xi8>,
                    %s: tensor<7xf32>, %acc: tensor<3x7xf32>) -> tensor<3x7xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<7x40xi8>)
         scales(%s : tensor<7xf32>) outs(%acc : tensor<3x7xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x7xf32>
  return %y : tensor<3x7xf32>
}

// -----

// Scale groups of 32: chunks of 32, two sdot per chunk.
// CHECK-LABEL: func.func @int8_group32
// CHECK: scf.for {{.*}} -> (vector<8xi32>
// CHECK-COUNT-2: arm_neon.intr.sdot
// CHECK: vector.reduction <add>, {{.*}} : vector<8xi32> into i32
func.func @int8_group32(%x: tensor<1x96xf32>, %w: tensor<2x15xi8>,
                        %s: tensor<2x3xf32>, %acc: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<1x96xf32>, tensor<2x15xi8>)
         scales(%s : tensor<2x3xf32>) outs(%acc : tensor<1x2xf32>)
         layout<sherry, group = 32> mode<int8> -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Exact mode is left for convert-sherry-to-vector.
// CHECK-LABEL: func.func @exact
// CHECK-NOT: arm_neon
// CHECK: sherry.matmul
func.func @exact(%x: tensor<3x256xf32>, %w: tensor<7x40xi8>,
                 %s: tensor<7xf32>, %acc: tensor<3x7xf32>) -> tensor<3x7xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<7x40xi8>)
         scales(%s : tensor<7xf32>) outs(%acc : tensor<3x7xf32>)
         layout<sherry, row> mode<exact> -> tensor<3x7xf32>
  return %y : tensor<3x7xf32>
}
