// RUN: sherry-opt %s -convert-sherry-to-vector -split-input-file -verify-diagnostics | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-vector="batch-block=1" -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=ONE

// int8 mode, one scale per row: activations quantized once; for each block
// of 4 output rows, a block of 2 activation rows then a single one (N = 3
// is static: the blocks of 4 that cannot run are not emitted); one segment
// of 256 elements in chunks of 64; each chunk's 64 int8 activations per
// activation row, then each row's 8 slot bytes and 2 sign bytes decode in
// registers; lanes sum in i16 (4 chunks * 127 fits), widen to i32 and
// reduce once per segment.
// CHECK-LABEL: func @int8_row
// CHECK: %[[Q:.*]], %[[QS:.*]] = sherry.quantize_activations %{{.*}} : tensor<3x256xf32> -> tensor<3x256xi8>, tensor<3xf32>
// CHECK: scf.for %[[M:.*]] = %{{.*}} to %{{.*}} step %c4 iter_args(%{{.*}} = %{{.*}}) -> (tensor<3x8xf32>)
// CHECK:   scf.for {{.*}} step %c2
// CHECK:     scf.for
// CHECK:       scf.for {{.*}} -> (vector<64xi16>, vector<64xi16>, vector<64xi16>, vector<64xi16>, vector<64xi16>, vector<64xi16>, vector<64xi16>, vector<64xi16>)
// CHECK-COUNT-2: vector.transfer_read %[[Q]]
// CHECK:         vector.transfer_read %{{.*}}[%[[M]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<8x40xi8>, vector<8xi8>
// CHECK:         vector.transfer_read %{{.*}}[%[[M]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<8x40xi8>, vector<2xi8>
// CHECK:         vector.shuffle
// CHECK:         arith.select {{.*}} : vector<64xi1>, vector<64xi8>
// CHECK:       arith.extsi {{.*}} : vector<64xi16> to vector<64xi32>
// CHECK:       vector.reduction <add>, {{.*}} : vector<64xi32> into i32
// CHECK:       arith.sitofp
// CHECK:       arith.mulf
// CHECK:       tensor.extract %[[QS]]
// CHECK:       arith.mulf
// CHECK:       arith.addf
// CHECK:   scf.for
// CHECK:     tensor.insert
// CHECK-NOT: sherry.matmul
// ONE-LABEL: func @int8_row
// ONE: scf.for {{.*}} -> (vector<64xi16>)
func.func @int8_row(%x: tensor<3x256xf32>, %w: tensor<8x40xi8>,
                    %s: tensor<8xf32>, %b: tensor<8xf32>,
                    %i: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<8x40xi8>)
         scales(%s : tensor<8xf32>) bias(%b : tensor<8xf32>)
         outs(%i : tensor<3x8xf32>) layout<sherry, row> mode<int8>
         -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// K = 96 is not a multiple of 64: chunks of 32 (4 slot bytes, 1 sign byte).
// A segment of 2 * 8192 / 64 chunks could pass 32767 in i16 lanes: i32.
// CHECK-LABEL: func @k96_exact
// CHECK: scf.for {{.*}} -> (vector<32xf32>
// CHECK:   vector.transfer_read {{.*}} : tensor<?x15xi8>, vector<4xi8>
// CHECK:   vector.transfer_read {{.*}} : tensor<?x15xi8>, vector<1xi8>
// CHECK:   arith.sitofp {{.*}} : vector<32xi8> to vector<32xf32>
// CHECK:   arith.extf {{.*}} : vector<32xbf16> to vector<32xf32>
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: vector.reduction <add>, {{.*}} : vector<32xf32> into f32
// CHECK: arith.truncf {{.*}} : f32 to f16
func.func @k96_exact(%x: tensor<?x96xbf16>, %w: tensor<?x15xi8>,
                     %s: tensor<1xf32>, %i: tensor<?x?xf16>) -> tensor<?x?xf16> {
  %y = sherry.matmul ins(%x, %w : tensor<?x96xbf16>, tensor<?x15xi8>)
         scales(%s : tensor<1xf32>) outs(%i : tensor<?x?xf16>)
         layout<sherry, tensor> -> tensor<?x?xf16>
  return %y : tensor<?x?xf16>
}

// CHECK-LABEL: func @long_segment
// CHECK: scf.for {{.*}} -> (vector<64xi32>, vector<64xi32>, vector<64xi32>, vector<64xi32>, vector<64xi32>, vector<64xi32>, vector<64xi32>, vector<64xi32>)
func.func @long_segment(%x: tensor<4x65536xf32>, %w: tensor<2x10240xi8>,
                        %s: tensor<2xf32>, %i: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<4x65536xf32>, tensor<2x10240xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<4x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// stq1_0: activations reordered once (16p + l to 4l + p inside each 64),
// one segment per 256-element block with its f16 scale from bytes 40, 41
// (two scalar bytes, little endian).
// CHECK-LABEL: func @stq1_0
// CHECK: sherry.quantize_activations
// CHECK: tensor.expand_shape {{.*}} into tensor<2x8x4x16xi8>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<2x8x4x16xi8>) outs(%{{.*}} : tensor<2x8x16x4xi8>) permutation = [0, 1, 3, 2]
// CHECK: tensor.collapse_shape {{.*}} into tensor<2x512xi8>
// CHECK: %[[LO:.*]] = tensor.extract %{{.*}} : tensor<5x84xi8>
// CHECK: %[[HI:.*]] = tensor.extract %{{.*}} : tensor<5x84xi8>
// CHECK: arith.shli
// CHECK: %[[BITS:.*]] = arith.ori
// CHECK: %[[HALF:.*]] = arith.bitcast %[[BITS]] : i16 to f16
// CHECK: arith.extf %[[HALF]] : f16 to f32
func.func @stq1_0(%x: tensor<2x512xf32>, %w: tensor<5x84xi8>,
                  %i: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<2x512xf32>, tensor<5x84xi8>)
         outs(%i : tensor<2x5xf32>) layout<stq1_0> mode<int8> -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// Scale groups of 12 elements do not hold whole chunks: left for
// convert-sherry-to-linalg.
// CHECK-LABEL: func @group12
// CHECK: sherry.matmul
func.func @group12(%x: tensor<1x96xf32>, %w: tensor<4x15xi8>,
                   %s: tensor<4x8xf32>, %i: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<1x96xf32>, tensor<4x15xi8>)
         scales(%s : tensor<4x8xf32>) outs(%i : tensor<1x4xf32>)
         layout<sherry, group = 12> mode<int8> -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
