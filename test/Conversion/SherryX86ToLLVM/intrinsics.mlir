// RUN: sherry-opt %s -convert-sherry-x86-to-llvm | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-x86-to-llvm -convert-func-to-llvm | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// RUN: sherry-opt %s -convert-sherry-x86-to-llvm -convert-func-to-llvm | mlir-translate --mlir-to-llvmir | llc -mtriple=x86_64-linux-gnu -mattr=+avx512f,+avx512bw,+avx512vbmi,+avx512vnni | FileCheck %s --check-prefix=ASM
// The dialect's ConvertToLLVMPatternInterface: --convert-to-llvm lowers
// the ops with the same pattern, as --sherry-to-llvm does.
// RUN: sherry-opt %s --convert-to-llvm | FileCheck %s --check-prefix=TOLLVM
// TOLLVM: llvm.func
// TOLLVM: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// TOLLVM-NOT: sherry_x86

// Each op is one intrinsic call on the same vectors, and one instruction.
// CHECK-LABEL: func @ops
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.pmultishift.qb.512"(%{{.*}}, %{{.*}}) : (vector<64xi8>, vector<64xi8>) -> vector<64xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.qi.512"(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<64xi8>, vector<64xi8>, vector<64xi8>) -> vector<64xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// CHECK-NOT: sherry_x86
// LLVMIR: call <64 x i8> @llvm.x86.avx512.pmultishift.qb.512(
// LLVMIR: call <64 x i8> @llvm.x86.avx512.vpermi2var.qi.512(
// LLVMIR: call <16 x i32> @llvm.x86.avx512.vpdpbusd.512(
// ASM: vpmultishiftqb
// ASM: vperm{{[ti]}}2b
// ASM: vpdpbusd
func.func @ops(%c: vector<64xi8>, %d: vector<64xi8>, %lo: vector<64xi8>,
               %hi: vector<64xi8>, %acc: vector<16xi32>) -> vector<16xi32> {
  %f = sherry_x86.avx512.vpmultishiftqb %c, %d : vector<64xi8>
  %t = sherry_x86.avx512.vpermt2b %lo, %f, %hi : vector<64xi8>
  %r = sherry_x86.avx512.vpdpbusd %acc, %t, %d : vector<16xi32>, vector<64xi8>
  return %r : vector<16xi32>
}
