// RUN: sherry-opt %s --convert-sherry-to-neon --split-input-file | FileCheck %s
// RUN: not sherry-opt %s --convert-sherry-to-neon="isa=sve" 2>&1 | FileCheck %s --check-prefix=ISA
// RUN: not sherry-opt %s --convert-sherry-to-neon="row-block=-1" 2>&1 | FileCheck %s --check-prefix=BLOCK

// ISA: for the --isa option: Cannot find option named 'sve'!
// BLOCK: for the --row-block option: '-1' value invalid for uint argument!

// int8 mode, per-row scales of K = 256: chunks of 128, decoded lane-major
// (the activations reordered to match once per call) by two-register table
// lookups, 4 per 64 weights; eight sdot of 16 bytes per chunk and activation
// row into one q register of i32, no activation sums (signed weights), one
// i32 reduction per segment. Blocks of 2 rows by 3 activation rows.
// CHECK-LABEL: func.func @int8_row
// CHECK: sherry.quantize_activations
// CHECK: linalg.transpose
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for {{.*}} -> (vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>)
// CHECK-COUNT-8: sherry_arm.neon.tbl2 {{.*}} : vector<16xi8>
// CHECK-COUNT-8: arm_neon.intr.sdot {{.*}} : vector<16xi8>, vector<16xi8> to vector<4xi32>
// CHECK: vector.reduction <add>, {{.*}} : vector<4xi32> into i32
// CHECK-NOT: sherry.matmul
func.func @int8_row(%x: tensor<3x256xf32>, %w: tensor<7x40xi8>,
                    %s: tensor<7xf32>, %acc: tensor<3x7xf32>) -> tensor<3x7xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<7x40xi8>)
         scales(%s : tensor<7xf32>) outs(%acc : tensor<3x7xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x7xf32>
  return %y : tensor<3x7xf32>
}

// -----

// Scale groups of 64: chunks of 64, four lookups and four sdot (one row,
// one activation row).
// CHECK-LABEL: func.func @int8_group64
// CHECK: scf.for {{.*}} -> (vector<4xi32>)
// CHECK-COUNT-4: sherry_arm.neon.tbl2
// CHECK-NOT: sherry_arm.neon.tbl2
// CHECK-COUNT-4: arm_neon.intr.sdot
// CHECK-NOT: arm_neon.intr.sdot
// CHECK: vector.reduction <add>
func.func @int8_group64(%x: tensor<1x128xf32>, %w: tensor<1x20xi8>,
                        %s: tensor<1x2xf32>, %acc: tensor<1x1xf32>) -> tensor<1x1xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<1x128xf32>, tensor<1x20xi8>)
         scales(%s : tensor<1x2xf32>) outs(%acc : tensor<1x1xf32>)
         layout<sherry, group = 64> mode<int8> -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}

// -----

// Scale groups of 32: chunks of 32, decoded group-major by byte arithmetic
// (no table lookup), two sdot per chunk.
// CHECK-LABEL: func.func @int8_group32
// CHECK-NOT: linalg.transpose
// CHECK-NOT: sherry_arm.neon.tbl2
// CHECK: scf.for {{.*}} -> (vector<4xi32>
// CHECK-COUNT-2: arm_neon.intr.sdot
// CHECK: vector.reduction <add>, {{.*}} : vector<4xi32> into i32
func.func @int8_group32(%x: tensor<1x96xf32>, %w: tensor<2x15xi8>,
                        %s: tensor<2x3xf32>, %acc: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<1x96xf32>, tensor<2x15xi8>)
         scales(%s : tensor<2x3xf32>) outs(%acc : tensor<1x2xf32>)
         layout<sherry, group = 32> mode<int8> -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// From 8 activation rows, sdot decodes each block of 4 rows once into a
// 4 x K panel of bytes (the row block's chunk loop: 32 lookups, no sdot),
// then multiplies it in blocks of 4 rows by 4 activation rows that read
// the panel (16 accumulators, 128 sdot per chunk of 128, no lookup).
// CHECK-LABEL: func.func @int8_panel
// CHECK: tensor.empty() : tensor<4x256xi8>
// CHECK: scf.for {{.*}} -> (tensor<4x256xi8>)
// CHECK-COUNT-32: sherry_arm.neon.tbl2
// CHECK-NOT: arm_neon.intr.sdot
// CHECK: vector.transfer_write {{.*}} : vector<128xi8>, tensor<4x256xi8>
// CHECK: scf.for {{.*}} -> (vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>)
// CHECK-NOT: sherry_arm.neon.tbl2
// CHECK: vector.transfer_read {{.*}} : tensor<4x256xi8>, vector<128xi8>
// CHECK-COUNT-128: arm_neon.intr.sdot
func.func @int8_panel(%x: tensor<8x256xf32>, %w: tensor<8x40xi8>,
                      %s: tensor<8xf32>, %acc: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<8x256xf32>, tensor<8x40xi8>)
         scales(%s : tensor<8xf32>) outs(%acc : tensor<8x8xf32>)
         layout<sherry, row> mode<int8> -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// -----

// Exact mode: the same decode, f32 FMA into 8 lanes, 16 per chunk of 128;
// no quantization, no sdot.
// CHECK-LABEL: func.func @exact
// CHECK-NOT: sherry.quantize_activations
// CHECK: scf.for {{.*}} -> (vector<8xf32>
// CHECK-COUNT-8: sherry_arm.neon.tbl2
// CHECK-COUNT-16: vector.fma {{.*}} : vector<8xf32>
// CHECK-NOT: arm_neon.intr.sdot
// CHECK: vector.reduction <add>, {{.*}} : vector<8xf32> into f32
// CHECK-NOT: sherry.matmul
func.func @exact(%x: tensor<3x256xf32>, %w: tensor<7x40xi8>,
                 %s: tensor<7xf32>, %acc: tensor<3x7xf32>) -> tensor<3x7xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<7x40xi8>)
         scales(%s : tensor<7xf32>) outs(%acc : tensor<3x7xf32>)
         layout<sherry, row> mode<exact> -> tensor<3x7xf32>
  return %y : tensor<3x7xf32>
}

// -----

// Armv8.0: the same decode, smull per 8 weights, one saddlp per chunk and
// activation row into one q register of i32.
// RUN: sherry-opt %s --convert-sherry-to-neon="isa=neon" --split-input-file | FileCheck %s --check-prefix=V80
// V80-LABEL: func.func @int8_v80
// V80: scf.for {{.*}} -> (vector<4xi32>, vector<4xi32>, vector<4xi32>, vector<4xi32>)
// V80-COUNT-8: sherry_arm.neon.tbl2
// V80-COUNT-16: arm_neon.intr.smull
// V80: sherry_arm.neon.saddlp {{.*}} : vector<8xi16> to vector<4xi32>
// V80-NOT: arm_neon.intr.sdot
func.func @int8_v80(%x: tensor<3x256xf32>, %w: tensor<7x40xi8>,
                    %s: tensor<7xf32>, %acc: tensor<3x7xf32>) -> tensor<3x7xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<7x40xi8>)
         scales(%s : tensor<7xf32>) outs(%acc : tensor<3x7xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x7xf32>
  return %y : tensor<3x7xf32>
}
