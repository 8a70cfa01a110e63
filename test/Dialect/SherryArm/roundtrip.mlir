// RUN: sherry-opt %s | sherry-opt | FileCheck %s
// RUN: sherry-opt %s --mlir-print-op-generic | sherry-opt | FileCheck %s

// CHECK-LABEL: func @tbl1
// CHECK: sherry_arm.neon.tbl1 %{{.*}}, %{{.*}} : vector<16xi8>
func.func @tbl1(%t: vector<16xi8>, %i: vector<16xi8>) -> vector<16xi8> {
  %v = sherry_arm.neon.tbl1 %t, %i : vector<16xi8>
  return %v : vector<16xi8>
}

// CHECK-LABEL: func @tbl2
// CHECK: sherry_arm.neon.tbl2 %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi8>
func.func @tbl2(%t0: vector<16xi8>, %t1: vector<16xi8>,
                %i: vector<16xi8>) -> vector<16xi8> {
  %v = sherry_arm.neon.tbl2 %t0, %t1, %i : vector<16xi8>
  return %v : vector<16xi8>
}

// CHECK-LABEL: func @saddlp
// CHECK: sherry_arm.neon.saddlp %{{.*}} : vector<8xi16> to vector<4xi32>
func.func @saddlp(%v: vector<8xi16>) -> vector<4xi32> {
  %s = sherry_arm.neon.saddlp %v : vector<8xi16> to vector<4xi32>
  return %s : vector<4xi32>
}
