// RUN: sherry-opt %s -convert-sherry-to-linalg -split-input-file | FileCheck %s

// ternarize: per group (K viewed as groups x 4) the first lane of smallest
// |w| (a reduction over lanes in order), the values from it, and per scale
// region the f64 sum of the kept |w| over its count (3 per group), rounded
// to f32 then to the scale type.
// CHECK-LABEL: func @ternarize_group
// CHECK: %[[COUNT:.*]] = arith.constant 2.400000e+01 : f64
// CHECK: %[[LANES:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [4, 16, 4] : tensor<4x64xf16> into tensor<4x16x4xf16>
// CHECK: %[[ARGMIN:.*]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%[[LANES]] : tensor<4x16x4xf16>) outs(%{{.*}}, %{{.*}} : tensor<4x16xf32>, tensor<4x16xi32>)
// CHECK:   arith.cmpf olt
// CHECK: linalg.generic {{.*}} ins(%[[LANES]], %[[ARGMIN]]#1 : tensor<4x16x4xf16>, tensor<4x16xi32>) outs(%{{.*}} : tensor<4x16x4xi8>)
// CHECK: %[[SUMS:.*]] = linalg.generic {{.*}} ins(%[[LANES]], %[[ARGMIN]]#1 : tensor<4x16x4xf16>, tensor<4x16xi32>) outs(%{{.*}} : tensor<4x2xf64>)
// CHECK:   arith.extf {{.*}} : f32 to f64
// CHECK: linalg.generic {{.*}} ins(%[[SUMS]] : tensor<4x2xf64>) outs(%{{.*}} : tensor<4x2xf16>)
// CHECK:   arith.divf %{{.*}}, %[[COUNT]] : f64
// CHECK:   arith.truncf {{.*}} : f64 to f32
// CHECK:   arith.truncf {{.*}} : f32 to f16
// CHECK-NOT: sherry.
func.func @ternarize_group(%w: tensor<4x64xf16>) -> (tensor<4x64xi8>, tensor<4x2xf16>) {
  %t, %s = sherry.ternarize %w layout<sherry, group = 32, scale_type = f16>
             : tensor<4x64xf16> -> tensor<4x64xi8>, tensor<4x2xf16>
  return %t, %s : tensor<4x64xi8>, tensor<4x2xf16>
}

// -----

// stq1_0: weights in group order first, values back to element order; one
// scale region per 256-block.
// CHECK-LABEL: func @ternarize_stq1_0
// CHECK: linalg.transpose {{.*}} permutation = [0, 1, 3, 2]
// CHECK: linalg.transpose {{.*}} permutation = [0, 1, 3, 2]
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<?x1xf64>)
func.func @ternarize_stq1_0(%w: tensor<?x256xf32>) -> (tensor<?x256xi8>, tensor<?x1xf16>) {
  %t, %s = sherry.ternarize %w layout<stq1_0>
             : tensor<?x256xf32> -> tensor<?x256xi8>, tensor<?x1xf16>
  return %t, %s : tensor<?x256xi8>, tensor<?x1xf16>
}

// -----

// pack: the code of every group (with a count of invalid groups, reported
// through sherry_runtime_error), slot bytes of 2 groups and sign bytes of
// 8, then the layout's bytes.
// CHECK-LABEL: func @pack_sherry
// CHECK: %[[CODES:.*]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} outs(%{{.*}}, %{{.*}} : tensor<3x24xi32>, tensor<i32>)
// CHECK: %[[BAD:.*]] = tensor.extract %[[CODES]]#1[] : tensor<i32>
// CHECK: %[[ANY:.*]] = arith.cmpi ne, %[[BAD]], %{{.*}} : i32
// CHECK: scf.if %[[ANY]] {
// CHECK:   func.call @sherry_runtime_error(%{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, i64, i64) -> ()
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<3x12xi8>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<3x3xi8>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<3x15xi8>)
// CHECK-NOT: = sherry.
func.func @pack_sherry(%t: tensor<3x96xi8>) -> tensor<3x15xi8> {
  %p = sherry.pack %t layout<sherry, row> : tensor<3x96xi8> -> tensor<3x15xi8>
  return %p : tensor<3x15xi8>
}

// -----

// stq1_0 blocks end with the f16 scale's two bytes.
// CHECK-LABEL: func @pack_stq1_0
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x84xi8>)
// CHECK:   arith.bitcast {{.*}} : f16 to i16
func.func @pack_stq1_0(%t: tensor<2x512xi8>, %s: tensor<2x2xf16>) -> tensor<2x84xi8> {
  %p = sherry.pack %t scales(%s : tensor<2x2xf16>) layout<stq1_0>
         : tensor<2x512xi8> -> tensor<2x84xi8>
  return %p : tensor<2x84xi8>
}
