// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-vnni strategy=tables threads=2 tile-block=1 table-part-weights=0" | FileCheck %s
// RUN: sherry-opt %s --sherry-to-llvm="target=neon strategy=tables threads=2 tile-block=1 table-part-weights=0" | FileCheck %s
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-vnni strategy=tables threads=2 tile-block=1 table-part-weights=0 work-stealing=false" | FileCheck %s --check-prefix=STATIC
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-vnni strategy=tables tile-block=1" | FileCheck %s --check-prefix=STATIC

// With threads, the table kernel's parts claim its blocks (3 tiles of 32
// rows, blocks of 1) from a range per part on the calling function's stack:
// an atomic add each, in the parallel region; each part builds its tables
// once (one malloc per part). Without work stealing, or without threads,
// there are no claims.
// CHECK-LABEL: llvm.func @mm
// CHECK: llvm.alloca {{.*}}alignment = 64{{.*}} -> !llvm.ptr
// CHECK: omp.parallel
// CHECK-COUNT-1: llvm.call @malloc
// CHECK-NOT: llvm.call @malloc
// CHECK: llvm.atomicrmw add
// CHECK-NOT: llvm.atomicrmw
// CHECK: omp.terminator

// STATIC-LABEL: llvm.func @mm
// STATIC-NOT: llvm.atomicrmw
func.func @mm(%x: tensor<1x256xf32>, %s: tensor<96xf32>,
              %i: tensor<1x96xf32>) -> tensor<1x96xf32> {
  %w = arith.constant dense<1> : tensor<96x40xi8>
  %y = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<96x40xi8>)
       scales(%s : tensor<96xf32>) outs(%i : tensor<1x96xf32>)
       layout<sherry, row> mode<int8> -> tensor<1x96xf32>
  return %y : tensor<1x96xf32>
}
