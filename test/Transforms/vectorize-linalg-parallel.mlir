// RUN: sherry-opt %s --pass-pipeline='builtin.module(func.func(sherry-vectorize-linalg{parallel-parts=2 parallel-min-work=4096}))' -split-input-file | FileCheck %s
// RUN: sherry-opt %s --pass-pipeline='builtin.module(func.func(sherry-vectorize-linalg{parallel-parts=2}))' -split-input-file | FileCheck %s --check-prefix=SMALL

// A dense matmul (an lm_head: 1 x 1000 outputs of 64 terms) with enough
// work: its 1000 columns in two chunks of 500 in an scf.forall, each chunk
// vectorized (partial sums along the reduction). Under the default minimum
// work (4 M iterations) it is left whole.
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @head
// CHECK: scf.forall (%[[I:.*]]) = (0) to (1000) step (500) shared_outs
// CHECK:   tensor.extract_slice %{{.*}}[%[[I]], 0] [500, 64] [1, 1]
// CHECK:   scf.for
// CHECK:     vector.transfer_read {{.*}} vector<16xf32>
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice
// CHECK-NOT: linalg.generic
// SMALL-LABEL: func.func @head
// SMALL-NOT: scf.forall
func.func @head(%x: tensor<1x64xf32>, %w: tensor<1000x64xf32>, %o: tensor<1x1000xf32>) -> tensor<1x1000xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<1x64xf32>, tensor<1000x64xf32>) outs(%o : tensor<1x1000xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x1000xf32>
  return %r : tensor<1x1000xf32>
}

// -----

// A dynamic extent: its work is unknown, so it is not split.
#id = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: scf.forall
func.func @dynamic(%a: tensor<?x4096xf32>, %b: tensor<?x4096xf32>) -> tensor<?x4096xf32> {
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<?x4096xf32>) outs(%b : tensor<?x4096xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %x : f32
    linalg.yield %s : f32
  } -> tensor<?x4096xf32>
  return %r : tensor<?x4096xf32>
}
