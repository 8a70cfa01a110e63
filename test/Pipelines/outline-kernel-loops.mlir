// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-vnni strategy=tables" | FileCheck %s
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-vnni strategy=tables threads=2 table-part-weights=0" | FileCheck %s
// RUN: sherry-opt %s --sherry-to-llvm="target=neon strategy=tables" | FileCheck %s
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-vnni strategy=tables outline-kernel-loops=false" | FileCheck %s --check-prefix=INLINE
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-vnni strategy=decode" | FileCheck %s --check-prefix=INLINE
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-vnni strategy=tables" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// Two matmuls of the same K but different M, activations and weights: the
// table kernel's block loop nest is one function that both call, linked
// once across objects. The decode kernel and outline-kernel-loops=false
// keep every loop inline.
// CHECK-LABEL: llvm.func @two
// CHECK: llvm.call @[[F:__sherry_kernel_loop_[0-9a-f]+]](
// CHECK: llvm.call @[[F]](
// CHECK: llvm.func linkonce_odr @[[F]](
// CHECK-NOT: llvm.func {{.*}}@__sherry_kernel_loop

// INLINE-NOT: __sherry_kernel_loop

// LLVMIR: define linkonce_odr void @__sherry_kernel_loop_
func.func @two(%x: tensor<1x256xf32>, %x2: tensor<1x256xf32>,
               %s0: tensor<64xf32>, %s1: tensor<96xf32>,
               %i0: tensor<1x64xf32>, %i1: tensor<1x96xf32>)
    -> (tensor<1x64xf32>, tensor<1x96xf32>) {
  %w0 = arith.constant dense<1> : tensor<64x40xi8>
  %w1 = arith.constant dense<2> : tensor<96x40xi8>
  %y0 = sherry.matmul ins(%x, %w0 : tensor<1x256xf32>, tensor<64x40xi8>)
        scales(%s0 : tensor<64xf32>) outs(%i0 : tensor<1x64xf32>)
        layout<sherry, row> mode<int8> -> tensor<1x64xf32>
  %y1 = sherry.matmul ins(%x2, %w1 : tensor<1x256xf32>, tensor<96x40xi8>)
        scales(%s1 : tensor<96xf32>) outs(%i1 : tensor<1x96xf32>)
        layout<sherry, row> mode<int8> -> tensor<1x96xf32>
  return %y0, %y1 : tensor<1x64xf32>, tensor<1x96xf32>
}
