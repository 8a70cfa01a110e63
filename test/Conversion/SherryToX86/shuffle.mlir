// RUN: sherry-opt %s -convert-sherry-to-x86="isa=avx512-bw" | FileCheck %s --check-prefix=BW
// RUN: sherry-opt %s -convert-sherry-to-x86="isa=avx2" | FileCheck %s --check-prefix=AVX2
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-bw" | mlir-translate --mlir-to-llvmir | llc -O3 -mtriple=x86_64-linux-gnu -mcpu=znver4 | FileCheck %s --check-prefix=ASMBW
// RUN: sherry-opt %s --sherry-to-llvm="target=avx2" | mlir-translate --mlir-to-llvmir | llc -O3 -mtriple=x86_64-linux-gnu -mcpu=znver4 | FileCheck %s --check-prefix=ASM2

// int8, 64-element chunks, lane-major: the activations are regrouped once
// per call (lane p of group j to 16p + j); per chunk the slot bytes are
// spread to the low byte of each word of every 128-bit lane, word | word
// << 4 & 0x0f leaves slot j in byte j, vpshufb looks up lane p's value + 1
// in 128-bit lane p, the sign bits select 2 - v, and vpmaddubsw + vpmaddwd
// multiply-add per activation row (each segment subtracts its activation
// sum, the +1 offset). Default blocks: 2 x 8 on AVX-512BW, 1 x 8 on AVX2;
// with M = 9 and N = 5 static, only blocks of 2 or 1 rows by 4 or 1
// activation rows can run, and only they are emitted.
// BW-LABEL: func @int8_row
// BW: %[[Q:.*]], %{{.*}} = sherry.quantize_activations
// BW: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// BW: linalg.transpose ins(%{{.*}} : tensor<5x4x16x4xi8>) outs(%{{.*}} : tensor<5x4x4x16xi8>) permutation = [0, 1, 3, 2]
// BW: scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>) {
// BW:   arith.shli {{.*}} : vector<32xi16>
// BW:   sherry_x86.avx512.vpshufb {{.*}} : vector<64xi8>
// BW:   vector.bitcast {{.*}} : vector<2xi8> to vector<16xi1>
// BW:   arith.select {{.*}} : vector<64xi1>, vector<64xi8>
// BW:   sherry_x86.avx512.vpmaddubsw {{.*}} : vector<64xi8> -> vector<32xi16>
// BW:   sherry_x86.avx512.vpmaddwd {{.*}} : vector<32xi16> -> vector<16xi32>
// BW: vector.reduction <add>, {{.*}} : vector<16xi32> into i32
// BW: arith.subi
// AVX2-LABEL: func @int8_row
// AVX2: scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>) {
// AVX2-COUNT-2: sherry_x86.avx2.vpshufb {{.*}} : vector<32xi8>
// AVX2: arith.cmpi ne, {{.*}} : vector<64xi8>
// AVX2-COUNT-2: sherry_x86.avx2.vpmaddubsw
// ASMBW-LABEL: int8_row:
// ASMBW: vpshufb {{.*}}zmm
// ASMBW: vpsubb {{.*}}{%k
// ASMBW: vpmaddubsw {{.*}}zmm
// ASMBW: vpmaddwd {{.*}}zmm
// ASMBW-NOT: vpermb
// ASMBW-NOT: vpdpbusd
// ASM2-LABEL: int8_row:
// ASM2-NOT: zmm
// ASM2: vpshufb {{.*}}ymm
// ASM2-NOT: zmm
// ASM2: vpmaddubsw {{.*}}ymm
// ASM2-NOT: zmm
// ASM2: .Lfunc_end
func.func @int8_row(%x: tensor<5x256xf32>, %w: tensor<9x40xi8>,
                    %s: tensor<9xf32>, %i: tensor<5x9xf32>) -> tensor<5x9xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<5x256xf32>, tensor<9x40xi8>)
         scales(%s : tensor<9xf32>) outs(%i : tensor<5x9xf32>)
         layout<sherry, row> mode<int8> -> tensor<5x9xf32>
  return %y : tensor<5x9xf32>
}

// -----

// stq1_0 keeps its activations as they come: its chunks are lane-major.
// BW-LABEL: func @stq1_0
// BW-NOT: linalg.transpose
// BW: sherry_x86.avx512.vpshufb
func.func @stq1_0(%x: tensor<2x256xf32>, %w: tensor<3x42xi8>,
                  %i: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<3x42xi8>)
         outs(%i : tensor<2x3xf32>) layout<stq1_0> mode<int8>
         -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
