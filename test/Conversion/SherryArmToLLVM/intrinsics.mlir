// RUN: sherry-opt %s -convert-sherry-arm-to-llvm | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-arm-to-llvm -convert-arith-to-llvm -convert-func-to-llvm | mlir-translate --mlir-to-llvmir | llc -mtriple=aarch64-linux-gnu -mattr=+neon | FileCheck %s --check-prefix=ASM
// The dialect's ConvertToLLVMPatternInterface: --convert-to-llvm lowers
// the ops with the same pattern, as --sherry-to-llvm does.
// RUN: sherry-opt %s --convert-to-llvm | FileCheck %s --check-prefix=TOLLVM
// TOLLVM: llvm.func
// TOLLVM: llvm.call_intrinsic "llvm.aarch64.neon.tbl1"
// TOLLVM-NOT: sherry_arm

// Each sherry_arm op is one intrinsic call, and one instruction of plain
// Armv8.0 NEON.
// CHECK-LABEL: func @tbl1
// CHECK: llvm.call_intrinsic "llvm.aarch64.neon.tbl1"(%{{.*}}, %{{.*}}) : (vector<16xi8>, vector<16xi8>) -> vector<16xi8>
// CHECK-NOT: sherry_arm
// ASM-LABEL: tbl1:
// ASM: tbl v0.16b, { v0.16b }, v1.16b
func.func @tbl1(%t: vector<16xi8>, %i: vector<16xi8>) -> vector<16xi8> {
  %v = sherry_arm.neon.tbl1 %t, %i : vector<16xi8>
  return %v : vector<16xi8>
}

// CHECK-LABEL: func @tbl2
// CHECK: llvm.call_intrinsic "llvm.aarch64.neon.tbl2"(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xi8>, vector<16xi8>, vector<16xi8>) -> vector<16xi8>
// ASM-LABEL: tbl2:
// ASM: tbl v0.16b, { v0.16b, v1.16b }, v2.16b
func.func @tbl2(%t0: vector<16xi8>, %t1: vector<16xi8>,
                %i: vector<16xi8>) -> vector<16xi8> {
  %v = sherry_arm.neon.tbl2 %t0, %t1, %i : vector<16xi8>
  return %v : vector<16xi8>
}

// An add of the pairwise sum into an accumulator is one sadalp.
// CHECK-LABEL: func @saddlp
// CHECK: llvm.call_intrinsic "llvm.aarch64.neon.saddlp"(%{{.*}}) : (vector<8xi16>) -> vector<4xi32>
// ASM-LABEL: saddlp:
// ASM: sadalp v0.4s, v1.8h
func.func @saddlp(%acc: vector<4xi32>, %v: vector<8xi16>) -> vector<4xi32> {
  %s = sherry_arm.neon.saddlp %v : vector<8xi16> to vector<4xi32>
  %r = arith.addi %acc, %s : vector<4xi32>
  return %r : vector<4xi32>
}
