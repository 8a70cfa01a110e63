// RUN: sherry-opt %s -convert-sherry-x86-to-llvm | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-x86-to-llvm -convert-func-to-llvm | mlir-translate --mlir-to-llvmir | llc -mtriple=x86_64-linux-gnu -mattr=+avx512f,+avx512bw | FileCheck %s --check-prefix=ASM512

// The shuffle ops of the AVX-512BW and AVX2 kernels (byte and word
// shuffles): one intrinsic call each, and one instruction
// (avx2-intrinsics.mlir: the AVX2 ones alone for an AVX2 CPU).
// CHECK-LABEL: func @avx512bw
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.pshuf.b.512"(%{{.*}}, %{{.*}}) : (vector<64xi8>, vector<64xi8>) -> vector<64xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"(%{{.*}}, %{{.*}}) : (vector<64xi8>, vector<64xi8>) -> vector<32xi16>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.pmaddw.d.512"(%{{.*}}, %{{.*}}) : (vector<32xi16>, vector<32xi16>) -> vector<16xi32>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.permvar.hi.512"(%{{.*}}, %{{.*}}) : (vector<32xi16>, vector<32xi16>) -> vector<32xi16>
// CHECK-NOT: sherry_x86
// ASM512-LABEL: avx512bw:
// ASM512: vpshufb {{.*}}zmm
// ASM512: vpmaddubsw {{.*}}zmm
// ASM512: vpmaddwd {{.*}}zmm
// ASM512: vpermw {{.*}}zmm
func.func @avx512bw(%t: vector<64xi8>, %i: vector<64xi8>,
                    %o: vector<32xi16>) -> (vector<16xi32>, vector<32xi16>) {
  %s = sherry_x86.avx512.vpshufb %t, %i : vector<64xi8>
  %p = sherry_x86.avx512.vpmaddubsw %s, %i : vector<64xi8> -> vector<32xi16>
  %d = sherry_x86.avx512.vpmaddwd %p, %o : vector<32xi16> -> vector<16xi32>
  %w = sherry_x86.avx512.vpermw %p, %o : vector<32xi16>
  return %d, %w : vector<16xi32>, vector<32xi16>
}

// CHECK-LABEL: func @avx2
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.pshuf.b"(%{{.*}}, %{{.*}}) : (vector<32xi8>, vector<32xi8>) -> vector<32xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%{{.*}}, %{{.*}}) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%{{.*}}, %{{.*}}) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
// ASM512-LABEL: avx2:
// ASM512: vpshufb {{.*}}ymm
// ASM512: vpmaddubsw {{.*}}ymm
// ASM512: vpmaddwd {{.*}}ymm
func.func @avx2(%t: vector<32xi8>, %i: vector<32xi8>,
                %o: vector<16xi16>) -> vector<8xi32> {
  %s = sherry_x86.avx2.vpshufb %t, %i : vector<32xi8>
  %p = sherry_x86.avx2.vpmaddubsw %s, %i : vector<32xi8> -> vector<16xi16>
  %d = sherry_x86.avx2.vpmaddwd %p, %o : vector<16xi16> -> vector<8xi32>
  return %d : vector<8xi32>
}
