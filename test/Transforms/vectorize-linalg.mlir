// RUN: sherry-opt %s --pass-pipeline='builtin.module(func.func(sherry-vectorize-linalg))' -split-input-file -verify-diagnostics | FileCheck %s

// Innermost loop parallel: rows tiled by 1, columns by 16, the tail of 40
// masked.
#id = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.for %{{.*}} = %{{.*}} to %c3 step %c1
// CHECK:   scf.for %{{.*}} = %{{.*}} to %c40 step %c16
// CHECK:     %[[N:.*]] = affine.min
// CHECK:     %[[MASK:.*]] = vector.create_mask %[[N]] : vector<16xi1>
// CHECK:     vector.transfer_read {{.*}}, %[[MASK]] {{.*}} vector<16xf32>
// CHECK:     arith.addf {{.*}} : vector<16xf32>
// CHECK:     vector.transfer_write {{.*}} : vector<16xf32>, tensor<1x?xf32>
// CHECK-NOT: linalg.generic
func.func @elementwise(%a: tensor<3x40xf32>, %b: tensor<3x40xf32>) -> tensor<3x40xf32> {
  %e = tensor.empty() : tensor<3x40xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<3x40xf32>, tensor<3x40xf32>) outs(%e : tensor<3x40xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<3x40xf32>
  return %r : tensor<3x40xf32>
}

// -----

// Innermost loop a reduction: one output element per tile, its 128 terms
// summed as 16 partial sums carried in a vector, then reduced once.
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
// CHECK-LABEL: func.func @row_sums
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK: scf.for {{.*}} to %[[C2]] step
// CHECK:   %[[SUMS:.*]] = scf.for {{.*}} to %c128 step %c16 iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (vector<16xf32>)
// CHECK:     %[[X:.*]] = vector.transfer_read {{.*}} vector<16xf32>
// CHECK:     %[[NEXT:.*]] = arith.addf %[[X]], %[[ACC]] : vector<16xf32>
// CHECK:     scf.yield %[[NEXT]] : vector<16xf32>
// CHECK:   vector.reduction <add>, %[[SUMS]]
func.func @row_sums(%a: tensor<2x128xf32>) -> tensor<2xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %r = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%a : tensor<2x128xf32>) outs(%f : tensor<2xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

// A reduction over an outer, dynamic loop (attention over the cached
// positions): it runs in order, each step a vector add.
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
// CHECK-LABEL: func.func @column_sums
// CHECK: %[[T:.*]] = tensor.dim
// CHECK: scf.for {{.*}} to %[[T]] step %c1
// CHECK:   scf.for {{.*}} to %c64 step %c16
// CHECK:     arith.addf {{.*}} : vector<16xf32>
// CHECK-NOT: vector.extract
func.func @column_sums(%a: tensor<?x64xf32>) -> tensor<64xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %r = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]} ins(%a : tensor<?x64xf32>) outs(%f : tensor<64xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  return %r : tensor<64xf32>
}

// -----

// Left as they are: an op inside a loop (kernels emit those), an indexing
// map that is not a projected permutation, and fills.
#id = affine_map<(i) -> (i)>
#rot = affine_map<(i) -> ((i + 4) mod 8)>
// CHECK: #[[ROT:.*]] = affine_map<(d0) -> ((d0 + 4) mod 8)>
// CHECK-LABEL: func.func @untouched
// CHECK: scf.for
// CHECK:   linalg.generic
// CHECK: linalg.generic {indexing_maps = [#[[ROT]],
// CHECK: linalg.fill
// CHECK-NOT: vector.
func.func @untouched(%a: tensor<8xf32>, %n: index) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<8xf32>
  %l = scf.for %i = %c0 to %n step %c1 iter_args(%t = %a) -> (tensor<8xf32>) {
    %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%t : tensor<8xf32>) outs(%e : tensor<8xf32>) {
    ^bb0(%x: f32, %o: f32):
      %s = arith.addf %x, %x : f32
      linalg.yield %s : f32
    } -> tensor<8xf32>
    scf.yield %g : tensor<8xf32>
  }
  %r = linalg.generic {indexing_maps = [#rot, #id], iterator_types = ["parallel"]} ins(%a : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<8xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  return %l, %r, %f : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}

