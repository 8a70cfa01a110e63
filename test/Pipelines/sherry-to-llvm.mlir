// RUN: sherry-opt %s --sherry-to-llvm | FileCheck %s
// RUN: sherry-opt %s --sherry-to-llvm | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// RUN: sherry-opt %s --sherry-to-llvm="fold-constants=false" | FileCheck %s
// RUN: sherry-opt %s --sherry-to-llvm="kernel=linalg" | FileCheck %s
// RUN: sherry-opt %s --sherry-to-llvm="threads=2 row-tile=4" | FileCheck %s --check-prefixes=CHECK,OMP
// RUN: sherry-opt %s --sherry-to-llvm="threads=2 row-tile=4" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=KMPC

// A whole linear layer: sparsified, lowered to the llvm dialect, translated
// to LLVM IR.
// CHECK-LABEL: llvm.func @linear
// CHECK-NOT: sherry.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// LLVMIR: define {{.*}} @linear
// Threads: the scf.forall over row tiles becomes an OpenMP worksharing loop
// on two threads, calling libomp.
// OMP: omp.parallel num_threads
// OMP: omp.wsloop nowait
// KMPC: call void @__kmpc_push_num_threads(ptr @{{.*}}, i32 %{{.*}}, i32 2)
// KMPC: call void {{.*}} @__kmpc_fork_call
// The loop ends its region: the join is its only barrier.
// KMPC-NOT: call void @__kmpc_barrier
func.func @linear(%x: tensor<3x64xf32>, %w: tensor<16x10xi8> {sherry.packed = #sherry.layout<sherry, row>},
                  %s: tensor<16xf32>, %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x64xf32>, tensor<16x10xi8>)
         scales(%s : tensor<16xf32>) outs(%acc : tensor<3x16xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}
