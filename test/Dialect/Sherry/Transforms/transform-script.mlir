// A transform script (Inputs/sparsify-and-tile.mlir) drives the sherry
// passes with upstream transform ops: transform.apply_registered_pass runs
// sherry-sparsify on the payload, transform.structured.tile_using_forall
// tiles the sherry.matmul it made (TilingInterface: N and M), and the
// result goes through --sherry-to-llvm with the tiles on OpenMP threads.

// RUN: sherry-opt %s --transform-preload-library=transform-library-paths=%S/Inputs/sparsify-and-tile.mlir --transform-interpreter | FileCheck %s
// RUN: sherry-opt %s --transform-preload-library=transform-library-paths=%S/Inputs/sparsify-and-tile.mlir --transform-interpreter | sherry-opt --sherry-to-llvm="target=avx2 threads=2" | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @dense
// CHECK-NOT: linalg.matmul
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (2, 2)
// CHECK: sherry.matmul ins(%{{.*}}, %{{.*}} : tensor<4x64xf32>, tensor<16x10xi8>) scales(%{{.*}} : tensor<16xf32>) outs(%{{.*}} : tensor<4x16xf32>) layout<sherry, row> mode<int8>
// CHECK: tensor.parallel_insert_slice

// LLVM: llvm.func @dense
// LLVM: omp.parallel
// LLVM-NOT: sherry.matmul
func.func @dense(%x: tensor<8x64xf32>, %acc: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %w = arith.constant dense<0.5> : tensor<64x32xf32>
  %y = linalg.matmul ins(%x, %w : tensor<8x64xf32>, tensor<64x32xf32>)
                     outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}
