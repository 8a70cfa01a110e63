// RUN: sherry-opt %s -convert-sherry-arm-to-llvm | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-arm-to-llvm -convert-func-to-llvm | mlir-translate --mlir-to-llvmir | llc -mtriple=aarch64-linux-gnu -mattr=+neon | FileCheck %s --check-prefix=ASM
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
