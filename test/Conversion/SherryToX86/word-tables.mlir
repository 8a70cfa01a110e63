// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-build=call" | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-x86="isa=avx512-bw strategy=tables table-build=call" | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables" | FileCheck %s --check-prefix=STEP
// RUN: sherry-opt %s -convert-sherry-to-x86="isa=avx512-bw strategy=tables table-build=step" | FileCheck %s --check-prefix=STEP
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-build=step" | FileCheck %s --check-prefixes=STEP,STEPN3
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables" | FileCheck %s --check-prefix=AUTON3
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-lookup=bytes" | FileCheck %s --check-prefix=BYTES
// RUN: sherry-opt %s -convert-sherry-to-x86="isa=avx512-bw strategy=tables table-lookup=bytes" | FileCheck %s --check-prefix=BWBYTES
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-lookup=words" | FileCheck %s --check-prefix=WORDS
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-bw" | mlir-translate --mlir-to-llvmir | llc -O3 -mtriple=x86_64-linux-gnu -mattr=+avx512f,+avx512bw | FileCheck %s --check-prefix=ASM

// Word tables (the default on AVX-512 where scale segments are multiples
// of 64 elements): per call and 16 K elements, 4 groups' tables of 32
// words (16 canonical sums, then the same negated) in N x K/16 x 256
// bytes; the weights regrouped into 320 bytes per 64 K elements and tile
// (640 here, one tile); per step of 64 elements and tile, 16 vpermw indexed by
// the words shifted to each code (bits 0, 5, 10, and the top bits
// gathered), summed by arith.addi in i16 lanes, one per row, and widened
// to i32.
// CHECK-LABEL: func @k128
// CHECK: sherry.quantize_activations
// CHECK: scf.for {{.*}} -> (tensor<?x8x256xi8>)
// CHECK:   vector.shuffle {{.*}} : vector<64xi16>, vector<64xi16>
// CHECK:   vector.bitcast {{.*}} : vector<32xi16> to vector<64xi8>
// CHECK:   vector.transfer_write {{.*}} : vector<64xi8>, tensor<?x8x256xi8>
// CHECK: scf.forall
// CHECK:   vector.transfer_read %{{.*}} : tensor<640xi8>, vector<64xi8>
// CHECK:   vector.bitcast {{.*}} : vector<64xi8> to vector<32xi16>
// CHECK-COUNT-16: sherry_x86.avx512.vpermw
// CHECK:   arith.extsi {{.*}} : vector<32xi16> to vector<32xi32>
// CHECK-NOT: vpermb
// CHECK-NOT: vpshufb
// CHECK-NOT: sherry.matmul
// Tables built per step (table-build=step, and auto at a static N of 1):
// per call only the activations plus 128 as bytes, then with each group's
// halves swapped (N x K/16 x 32 bytes); per step and group, two dword
// broadcasts and two vpmaddubsw against the codebook's signs, their sum
// less the codes' offsets giving the same 32-word table in registers.
// STEP-LABEL: func @k128
// STEP: scf.for {{.*}} -> (tensor<?x8x32xi8>)
// STEP:   arith.xori {{.*}} : vector<16xi8>
// STEP:   vector.shuffle {{.*}} [2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13] : vector<16xi8>, vector<16xi8>
// STEP: scf.forall
// STEP-COUNT-2: vector.transfer_read {{.*}} : tensor<?x8x32xi8>, vector<4xi8>
// STEP:   vector.broadcast {{.*}} : i32 to vector<16xi32>
// STEP:   sherry_x86.avx512.vpmaddubsw
// STEP:   arith.subi {{.*}} : vector<32xi16>
// STEP-NOT: tensor<?x8x256xi8>
// STEP: sherry_x86.avx512.vpermw
// STEP-NOT: tensor<?x8x256xi8>
// STEPN3-LABEL: func @n3
// STEPN3: tensor<?x4x32xi8>
// STEPN3: sherry_x86.avx512.vpmaddubsw
// STEPN3: sherry_x86.avx512.vpermw
// AUTON3-LABEL: func @n3
// AUTON3: tensor<?x4x256xi8>
// AUTON3-NOT: vpmaddubsw
// AUTON3: sherry_x86.avx512.vpermw
// BYTES-LABEL: func @k128
// BYTES-NOT: vpermw
// BYTES: sherry_x86.avx512.vpermb
// BWBYTES-LABEL: func @k128
// BWBYTES-NOT: vpermw
// BWBYTES: sherry_x86.avx512.vpshufb
// WORDS-LABEL: func @k128
// WORDS: sherry_x86.avx512.vpermw
// ASM-LABEL: k128:
// ASM: vpermw
// ASM: vpaddw
func.func @k128(%x: tensor<1x128xf32>, %s: tensor<2xf32>,
                %i: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1, 35, 69, 103, 5, 9, 12, -7, 44, 3, 1, 35, 69, 103, 5, 9, 12, -7, 44, 3],
                             [-1, -2, -3, -4, 90, 7, 7, 7, 7, 7, -1, -2, -3, -4, 90, 7, 7, 7, 7, 7]]> : tensor<2x20xi8>
  %y = sherry.matmul ins(%x, %w : tensor<1x128xf32>, tensor<2x20xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<1x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// Groups of 32 elements are no whole step of 64: byte tables by default;
// with table-lookup=words no table kernel applies and the matmul stays for
// the decode strategy.
// CHECK-LABEL: func @groups32
// CHECK-NOT: vpermw
// CHECK: sherry_x86.avx512.{{vpermb|vpshufb}}
// WORDS-LABEL: func @groups32
// WORDS: sherry.matmul
func.func @groups32(%x: tensor<1x64xf32>, %s: tensor<2x2xf32>,
                    %i: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1, 35, 69, 103, 5, 9, 12, -7, 44, 3],
                             [-1, -2, -3, -4, 90, 7, 7, 7, 7, 7]]> : tensor<2x10xi8>
  %y = sherry.matmul ins(%x, %w : tensor<1x64xf32>, tensor<2x10xi8>)
         scales(%s : tensor<2x2xf32>) outs(%i : tensor<1x2xf32>)
         layout<sherry, group = 32> mode<int8> -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// N = 3: table-build=auto builds the tables once per call into memory.
func.func @n3(%x: tensor<3x64xf32>, %s: tensor<2xf32>,
              %i: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1, 35, 69, 103, 5, 9, 12, -7, 44, 3],
                             [-1, -2, -3, -4, 90, 7, 7, 7, 7, 7]]> : tensor<2x10xi8>
  %y = sherry.matmul ins(%x, %w : tensor<3x64xf32>, tensor<2x10xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<3x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
