// RUN: sherry-opt %s -split-input-file -verify-diagnostics

func.func @wide(%t: vector<32xi8>, %i: vector<32xi8>) -> vector<32xi8> {
  // expected-error @+1 {{operand #0 must be vector of 8-bit signless integer values of length 16}}
  %v = sherry_arm.neon.tbl1 %t, %i : vector<32xi8>
  return %v : vector<32xi8>
}

// -----

func.func @words(%t: vector<8xi16>, %i: vector<8xi16>) -> vector<8xi16> {
  // expected-error @+1 {{operand #0 must be vector of 8-bit signless integer values of length 16}}
  %v = sherry_arm.neon.tbl1 %t, %i : vector<8xi16>
  return %v : vector<8xi16>
}

// -----

func.func @tbl2_mixed(%t0: vector<16xi8>, %t1: vector<8xi16>,
                      %i: vector<16xi8>) -> vector<16xi8> {
  // expected-error @+1 {{operand #1 must be vector of 8-bit signless integer values of length 16}}
  %v = "sherry_arm.neon.tbl2"(%t0, %t1, %i)
      : (vector<16xi8>, vector<8xi16>, vector<16xi8>) -> vector<16xi8>
  return %v : vector<16xi8>
}

// -----

func.func @saddlp_bytes(%v: vector<16xi8>) -> vector<4xi32> {
  // expected-error @+1 {{operand #0 must be vector of 16-bit signless integer values of length 8}}
  %s = sherry_arm.neon.saddlp %v : vector<16xi8> to vector<4xi32>
  return %s : vector<4xi32>
}
