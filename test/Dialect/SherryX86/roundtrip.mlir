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
