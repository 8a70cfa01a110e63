// RUN: sherry-opt %s -convert-sherry-to-x86 -split-input-file | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-x86="row-block=1 batch-block=1" -split-input-file | FileCheck %s --check-prefix=ONE
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-vnni" | mlir-translate --mlir-to-llvmir | llc -O3 -mtriple=x86_64-linux-gnu -mattr=+avx512f,+avx512bw,+avx512vbmi,+avx512vnni | FileCheck %s --check-prefix=ASM

// int8, 64-element chunks: each chunk's slot bytes go to every quadword,
// vpmultishiftqb + and/or form 4 * slot + lane, the sign bits (as a mask)
// add 0x40, vpermt2b reads lane values + 1 from a 128-byte table, vpdpbusd
// multiplies them with int8 activations. Each segment subtracts its
// activation sum (the +1 offset), computed once per call.
// CHECK-LABEL: func @int8_row
// CHECK: %[[Q:.*]], %{{.*}} = sherry.quantize_activations
// CHECK: %[[XSUM:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}} : tensor<5x1x256xi8>) outs(%{{.*}} : tensor<5x1xi32>)
// CHECK: scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>) {
// CHECK:   vector.shuffle {{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7,
// CHECK:   sherry_x86.avx512.vpmultishiftqb
// CHECK:   vector.bitcast {{.*}} : vector<2xi8> to vector<16xi1>
// CHECK:   arith.select {{.*}} : vector<16xi1>, vector<16xi32>
// CHECK:   sherry_x86.avx512.vpermt2b
// CHECK:   sherry_x86.avx512.vpdpbusd
// CHECK: vector.reduction <add>, {{.*}} : vector<16xi32> into i32
// CHECK: tensor.extract %[[XSUM]]
// CHECK: arith.subi
// ONE-LABEL: func @int8_row
// ONE: scf.for {{.*}} -> (vector<16xi32>) {
// ASM-LABEL: int8_row:
// ASM: vpmultishiftqb
// ASM: vperm{{[ti]}}2b
// ASM: vpdpbusd
func.func @int8_row(%x: tensor<5x256xf32>, %w: tensor<9x40xi8>,
                    %s: tensor<9xf32>, %i: tensor<5x9xf32>) -> tensor<5x9xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<5x256xf32>, tensor<9x40xi8>)
         scales(%s : tensor<9xf32>) outs(%i : tensor<5x9xf32>)
         layout<sherry, row> mode<int8> -> tensor<5x9xf32>
  return %y : tensor<5x9xf32>
}

// -----

// Exact mode takes the same decode, minus 1, widened to f32 and multiplied
// by FMA into f32 lanes (no activation quantization, no activation sums);
// chunks of 32 stay for the portable kernel.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: sherry.quantize_activations
// CHECK: sherry_x86.avx512.vpermt2b
// CHECK: arith.subi {{.*}} : vector<64xi8>
// CHECK-COUNT-4: vector.fma {{.*}} : vector<16xf32>
// CHECK: vector.reduction <add>, {{.*}} : vector<16xf32> into f32
// CHECK: sherry.matmul {{.*}} layout<sherry, row> mode<int8>
func.func @left_alone(%x: tensor<1x256xf32>, %w: tensor<2x40xi8>,
                      %x2: tensor<1x96xf32>, %w2: tensor<2x15xi8>,
                      %s: tensor<2xf32>, %i: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<2x40xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<1x2xf32>)
         layout<sherry, row> -> tensor<1x2xf32>
  %z = sherry.matmul ins(%x2, %w2 : tensor<1x96xf32>, tensor<2x15xi8>)
         scales(%s : tensor<2xf32>) outs(%y : tensor<1x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x2xf32>
  return %z : tensor<1x2xf32>
}
