// RUN: sherry-opt %s -convert-sherry-to-linalg -split-input-file | FileCheck %s

// Per row: the absmax of each row 16 lanes at a time, as the integer maximum
// of the bits with the sign cleared (the order of non-negative floats), lanes
// past K read as 0; then scale = absmax / 127 and
// q = clamp(roundeven(x * 127 / absmax)) elementwise.
// CHECK-LABEL: func @per_row
// CHECK: %[[MAG:.*]] = arith.constant dense<2147483647> : vector<16xi32>
// CHECK: scf.for %[[ROW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<?xf32>)
// CHECK:   scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %[[C16:.*]] iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xi32>)
// CHECK:     %[[V:.*]] = vector.transfer_read %{{.*}}[%[[ROW]], %[[J]]], %{{.*}} : tensor<?x100xf32>, vector<16xf32>
// CHECK:     %[[B:.*]] = arith.bitcast %[[V]] : vector<16xf32> to vector<16xi32>
// CHECK:     %[[A:.*]] = arith.andi %[[B]], %[[MAG]] : vector<16xi32>
// CHECK:     arith.maxsi %[[ACC]], %[[A]] : vector<16xi32>
// CHECK:   %[[MAX:.*]] = vector.reduction <maxsi>, %{{.*}} : vector<16xi32> into i32
// CHECK:   arith.bitcast %[[MAX]] : i32 to f32
// CHECK:   tensor.insert
// CHECK: linalg.generic
// CHECK: arith.divf
// CHECK: linalg.generic
// CHECK: math.roundeven
// CHECK-NOT: sherry.quantize_activations
func.func @per_row(%x: tensor<?x100xf32>) -> (tensor<?x100xi8>, tensor<?xf32>) {
  %q, %s = sherry.quantize_activations %x : tensor<?x100xf32> -> tensor<?x100xi8>, tensor<?xf32>
  return %q, %s : tensor<?x100xi8>, tensor<?xf32>
}

// -----

// f16 activations widen to f32 per 16 lanes; whole chunks are in bounds.
// CHECK-LABEL: func @per_row_f16
// CHECK: vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<2x64xf16>, vector<16xf16>
// CHECK: arith.extf {{.*}} : vector<16xf16> to vector<16xf32>
// CHECK: vector.reduction <maxsi>
func.func @per_row_f16(%x: tensor<2x64xf16>) -> (tensor<2x64xi8>, tensor<2xf32>) {
  %q, %s = sherry.quantize_activations %x : tensor<2x64xf16> -> tensor<2x64xi8>, tensor<2xf32>
  return %q, %s : tensor<2x64xi8>, tensor<2xf32>
}

// -----

// Per block of 32: a linalg reduction per block.
// CHECK-LABEL: func @per_block
// CHECK-NOT: vector.reduction
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.maximumf
func.func @per_block(%x: tensor<2x64xf32>) -> (tensor<2x64xi8>, tensor<2x2xf32>) {
  %q, %s = sherry.quantize_activations %x block 32 : tensor<2x64xf32> -> tensor<2x64xi8>, tensor<2x2xf32>
  return %q, %s : tensor<2x64xi8>, tensor<2x2xf32>
}
