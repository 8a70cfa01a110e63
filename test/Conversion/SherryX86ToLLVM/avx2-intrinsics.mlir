// RUN: sherry-opt %s -convert-sherry-x86-to-llvm -convert-func-to-llvm | mlir-translate --mlir-to-llvmir | llc -mtriple=x86_64-linux-gnu -mattr=+avx2 | FileCheck %s

// The AVX2 ops need nothing beyond AVX2: one ymm instruction each.
// CHECK-LABEL: avx2:
// CHECK: vpshufb {{.*}}ymm
// CHECK: vpmaddubsw {{.*}}ymm
// CHECK: vpmaddwd {{.*}}ymm
// CHECK-NOT: zmm
func.func @avx2(%t: vector<32xi8>, %i: vector<32xi8>,
                %o: vector<16xi16>) -> vector<8xi32> {
  %s = sherry_x86.avx2.vpshufb %t, %i : vector<32xi8>
  %p = sherry_x86.avx2.vpmaddubsw %s, %i : vector<32xi8> -> vector<16xi16>
  %d = sherry_x86.avx2.vpmaddwd %p, %o : vector<16xi16> -> vector<8xi32>
  return %d : vector<8xi32>
}
