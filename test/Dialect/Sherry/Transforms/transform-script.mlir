// A transform script (Inputs/sparsify-and-tile.mlir) drives the sherry
// passes: transform.apply_registered_pass runs sherry-sparsify on the
// payload, transform.sherry.set_kernel chooses the decode kernel for the
// sherry.matmul it made, transform.structured.tile_using_forall tiles it
// (TilingInterface: N and M; the tiles keep the kernel), and the result
// goes through --sherry-to-llvm with the tiles on OpenMP threads: the
// decode kernel (vpmaddubsw), where the options alone would choose the
// table kernel (only vpshufb).

// RUN: sherry-opt %s --transform-preload-library=transform-library-paths=%S/Inputs/sparsify-and-tile.mlir --transform-interpreter | FileCheck %s
// RUN: sherry-opt %s --transform-preload-library=transform-library-paths=%S/Inputs/sparsify-and-tile.mlir --transform-interpreter | sherry-opt --sherry-to-llvm="target=avx2 threads=2" | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @dense
// CHECK-NOT: linalg.matmul
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (2, 2)
// CHECK: sherry.matmul ins(%{{.*}}, %{{.*}} : tensor<4x64xf32>, tensor<16x10xi8>) scales(%{{.*}} : tensor<16xf32>) outs(%{{.*}} : tensor<4x16xf32>) layout<sherry, row> mode<int8> {sherry.kernel = #sherry.kernel<decode>}
// CHECK: tensor.parallel_insert_slice

// LLVM: llvm.func @dense
// LLVM: omp.parallel
// LLVM: llvm.x86.avx2.pmadd.ub.sw
// LLVM-NOT: sherry.matmul
func.func @dense(%x: tensor<8x64xf32>, %acc: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %w = arith.constant dense<0.5> : tensor<64x32xf32>
  %y = linalg.matmul ins(%x, %w : tensor<8x64xf32>, tensor<64x32xf32>)
                     outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}
