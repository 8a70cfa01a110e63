// RUN: sherry-opt %s | sherry-opt | FileCheck %s
// RUN: sherry-opt %s --mlir-print-op-generic | sherry-opt | FileCheck %s

// CHECK-LABEL: func @ops
// CHECK: %[[F:.*]] = sherry_x86.avx512.vpmultishiftqb %{{.*}}, %{{.*}} : vector<64xi8>
// CHECK: %[[T:.*]] = sherry_x86.avx512.vpermt2b %{{.*}}, %[[F]], %{{.*}} : vector<64xi8>
// CHECK: sherry_x86.avx512.vpdpbusd %{{.*}}, %[[T]], %{{.*}} : vector<16xi32>, vector<64xi8>
func.func @ops(%c: vector<64xi8>, %d: vector<64xi8>, %lo: vector<64xi8>,
               %hi: vector<64xi8>, %acc: vector<16xi32>) -> vector<16xi32> {
  %f = sherry_x86.avx512.vpmultishiftqb %c, %d : vector<64xi8>
  %t = sherry_x86.avx512.vpermt2b %lo, %f, %hi : vector<64xi8>
  %r = sherry_x86.avx512.vpdpbusd %acc, %t, %d : vector<16xi32>, vector<64xi8>
  return %r : vector<16xi32>
}

// CHECK-LABEL: func @shuffle_ops
// CHECK: %[[S:.*]] = sherry_x86.avx512.vpshufb %{{.*}}, %{{.*}} : vector<64xi8>
// CHECK: %[[P:.*]] = sherry_x86.avx512.vpmaddubsw %[[S]], %{{.*}} : vector<64xi8> -> vector<32xi16>
// CHECK: sherry_x86.avx512.vpmaddwd %[[P]], %{{.*}} : vector<32xi16> -> vector<16xi32>
// CHECK: %[[S2:.*]] = sherry_x86.avx2.vpshufb %{{.*}}, %{{.*}} : vector<32xi8>
// CHECK: %[[P2:.*]] = sherry_x86.avx2.vpmaddubsw %[[S2]], %{{.*}} : vector<32xi8> -> vector<16xi16>
// CHECK: sherry_x86.avx2.vpmaddwd %[[P2]], %{{.*}} : vector<16xi16> -> vector<8xi32>
// CHECK: sherry_x86.avx512.vpermw %{{.*}}, %{{.*}} : vector<32xi16>
func.func @shuffle_ops(%t: vector<64xi8>, %i: vector<64xi8>, %o: vector<32xi16>,
                       %t2: vector<32xi8>, %i2: vector<32xi8>,
                       %o2: vector<16xi16>)
    -> (vector<16xi32>, vector<8xi32>, vector<32xi16>) {
  %s = sherry_x86.avx512.vpshufb %t, %i : vector<64xi8>
  %p = sherry_x86.avx512.vpmaddubsw %s, %i : vector<64xi8> -> vector<32xi16>
  %d = sherry_x86.avx512.vpmaddwd %p, %o : vector<32xi16> -> vector<16xi32>
  %s2 = sherry_x86.avx2.vpshufb %t2, %i2 : vector<32xi8>
  %p2 = sherry_x86.avx2.vpmaddubsw %s2, %i2 : vector<32xi8> -> vector<16xi16>
  %d2 = sherry_x86.avx2.vpmaddwd %p2, %o2 : vector<16xi16> -> vector<8xi32>
  %w = sherry_x86.avx512.vpermw %p, %o : vector<32xi16>
  return %d, %d2, %w : vector<16xi32>, vector<8xi32>, vector<32xi16>
}
