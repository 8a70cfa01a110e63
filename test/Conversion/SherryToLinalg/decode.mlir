// RUN: sherry-opt %s -convert-sherry-to-linalg -split-input-file | FileCheck %s

// sherry layout: group k / 4, lane k % 4; slot nibble in byte g / 2, sign bit
// in byte K/8 + g / 8; the 5-bit code indexes the codebook; lane bits minus
// one give t; times the row scale.
// CHECK-LABEL: func @dequantize_row
// CHECK-DAG: %[[CB:.*]] = arith.constant dense<[-87, -119, 41, 9, -90, -122, 38, 6, -102, -110, 26, 18, 106, 98, 74, 66, 1, 33, -127, -95, 4, 36, -124, -92, 16, 24, -112, -104, 64, 72, 96, 104]> : tensor<32xi8>
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<?x64xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} outs(%[[E]] : tensor<?x64xf32>)
// CHECK:   %[[M:.*]] = linalg.index 0
// CHECK:   %[[K:.*]] = linalg.index 1
// CHECK:   tensor.extract %{{.*}}[%[[M]], %{{.*}}] : tensor<?x10xi8>
// CHECK:   tensor.extract %[[CB]][%{{.*}}] : tensor<32xi8>
// CHECK:   %[[T:.*]] = arith.sitofp %{{.*}} : i32 to f32
// CHECK:   %[[S:.*]] = tensor.extract %{{.*}}[%[[M]]] : tensor<?xf32>
// CHECK:   %[[W:.*]] = arith.mulf %[[S]], %[[T]] : f32
// CHECK:   linalg.yield %[[W]] : f32
// CHECK-NOT: sherry.dequantize
func.func @dequantize_row(%p: tensor<?x10xi8>, %s: tensor<?xf32>) -> tensor<?x64xf32> {
  %w = sherry.dequantize %p scales(%s : tensor<?xf32>) layout<sherry, row>
         : tensor<?x10xi8> -> tensor<?x64xf32>
  return %w : tensor<?x64xf32>
}

// -----

// stq1_0: the f16 scale is read from bytes 40 and 41 of the element's block.
// CHECK-LABEL: func @dequantize_stq
// CHECK: linalg.generic
// CHECK:   arith.trunci %{{.*}} : i32 to i16
// CHECK:   arith.bitcast %{{.*}} : i16 to f16
// CHECK:   arith.extf %{{.*}} : f16 to f32
// CHECK:   arith.truncf %{{.*}} : f32 to bf16
func.func @dequantize_stq(%p: tensor<3x42xi8>) -> tensor<3x256xbf16> {
  %w = sherry.dequantize %p layout<stq1_0> : tensor<3x42xi8> -> tensor<3x256xbf16>
  return %w : tensor<3x256xbf16>
}

// -----

// CHECK-LABEL: func @unpack
// CHECK: linalg.generic
// CHECK:   %[[T:.*]] = arith.trunci %{{.*}} : i32 to i8
// CHECK:   linalg.yield %[[T]] : i8
// CHECK-NOT: sherry.unpack
func.func @unpack(%p: tensor<2x40xi8>) -> tensor<2x256xi8> {
  %t = sherry.unpack %p layout<sherry, tensor> : tensor<2x40xi8> -> tensor<2x256xi8>
  return %t : tensor<2x256xi8>
}
