// RUN: sherry-opt %s | sherry-opt | FileCheck %s
// RUN: sherry-opt %s --mlir-print-op-generic | sherry-opt | FileCheck %s

// CHECK-LABEL: func @tbl1
// CHECK: sherry_arm.neon.tbl1 %{{.*}}, %{{.*}} : vector<16xi8>
func.func @tbl1(%t: vector<16xi8>, %i: vector<16xi8>) -> vector<16xi8> {
  %v = sherry_arm.neon.tbl1 %t, %i : vector<16xi8>
  return %v : vector<16xi8>
}
