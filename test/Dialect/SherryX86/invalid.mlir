// RUN: sherry-opt %s -split-input-file -verify-diagnostics

func.func @narrow(%c: vector<32xi8>, %d: vector<32xi8>) -> vector<32xi8> {
  // expected-error @+1 {{operand #0 must be vector of 8-bit signless integer values of length 64}}
  %f = sherry_x86.avx512.vpmultishiftqb %c, %d : vector<32xi8>
  return %f : vector<32xi8>
}

// -----

func.func @acc(%acc: vector<8xi32>, %a: vector<64xi8>) -> vector<8xi32> {
  // expected-error @+1 {{operand #0 must be vector of 32-bit signless integer values of length 16}}
  %r = sherry_x86.avx512.vpdpbusd %acc, %a, %a : vector<8xi32>, vector<64xi8>
  return %r : vector<8xi32>
}

// -----

func.func @avx2_width(%t: vector<64xi8>, %i: vector<64xi8>) -> vector<64xi8> {
  // expected-error @+1 {{operand #0 must be vector of 8-bit signless integer values of length 32}}
  %v = sherry_x86.avx2.vpshufb %t, %i : vector<64xi8>
  return %v : vector<64xi8>
}

// -----

func.func @pairs(%a: vector<16xi16>) -> vector<16xi32> {
  // expected-error @+1 {{result #0 must be vector of 32-bit signless integer values of length 8}}
  %r = sherry_x86.avx2.vpmaddwd %a, %a : vector<16xi16> -> vector<16xi32>
  return %r : vector<16xi32>
}
