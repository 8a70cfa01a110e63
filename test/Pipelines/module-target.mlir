// RUN: sherry-opt %s -split-input-file --sherry-to-llvm="target=module" -verify-diagnostics | FileCheck %s

// target=module takes the instruction set from the LLVM target the module
// names (llvm.target: the chip's features, then explicit +/- features;
// else llvm.target_triple), the best kernel those features allow, and pins
// it on the functions as a named target would.

// A Zen 4 has everything: VNNI, and the table kernel for constant weights.
// CHECK-LABEL: llvm.func @znver4
// CHECK-SAME: target_features = #llvm.target_features<["+avx512f", "+avx512bw", "+avx512vbmi", "+avx512vnni"]>
module attributes {llvm.target = #llvm.target<triple = "x86_64-unknown-linux-gnu", chip = "znver4">} {
  func.func @znver4(%x: tensor<1x64xf32>, %w: tensor<2x10xi8>, %s: tensor<2xf32>,
                    %i: tensor<1x2xf32>) -> tensor<1x2xf32> {
    %y = sherry.matmul ins(%x, %w : tensor<1x64xf32>, tensor<2x10xi8>)
           scales(%s : tensor<2xf32>) outs(%i : tensor<1x2xf32>)
           layout<sherry, row> mode<int8> -> tensor<1x2xf32>
    return %y : tensor<1x2xf32>
  }
}

// -----

// Skylake-SP without VBMI and VNNI: avx512-bw.
// CHECK-LABEL: llvm.func @skx
// CHECK-SAME: target_cpu = "skylake-avx512"
module attributes {llvm.target = #llvm.target<triple = "x86_64-unknown-linux-gnu", chip = "skylake-avx512">} {
  func.func @skx() {
    return
  }
}

// -----

// The same chip with AVX-512 taken away (-avx512f takes BW along): avx2.
// CHECK-LABEL: llvm.func @no_avx512
// CHECK-SAME: target_cpu = "haswell"
module attributes {llvm.target = #llvm.target<triple = "x86_64-unknown-linux-gnu", chip = "znver4", features = #llvm.target_features<["-avx512f"]>>} {
  func.func @no_avx512() {
    return
  }
}

// -----

// Features alone: +avx2 on a generic x86-64.
// CHECK-LABEL: llvm.func @features
// CHECK-SAME: target_cpu = "haswell"
module attributes {llvm.target = #llvm.target<triple = "x86_64-unknown-linux-gnu", chip = "", features = #llvm.target_features<["+avx2"]>>} {
  func.func @features() {
    return
  }
}

// -----

// A plain x86-64 triple has none of them: portable, nothing pinned.
// CHECK-LABEL: llvm.func @x86_64
// CHECK-NOT: target_cpu
module attributes {llvm.target_triple = "x86_64-unknown-linux-gnu"} {
  func.func @x86_64() {
    return
  }
}

// -----

// AArch64: Cortex-A76 has the dot product, Cortex-A53 not, a bare triple
// gets plain NEON.
// CHECK-LABEL: llvm.func @a76
// CHECK-SAME: target_features = #llvm.target_features<["+neon", "+dotprod"]>
module attributes {llvm.target = #llvm.target<triple = "aarch64-linux-gnu", chip = "cortex-a76">} {
  func.func @a76() {
    return
  }
}

// -----

// CHECK-LABEL: llvm.func @a53
// CHECK-SAME: target_features = #llvm.target_features<["+neon", "-dotprod"]>
module attributes {llvm.target = #llvm.target<triple = "aarch64-linux-gnu", chip = "cortex-a53">} {
  func.func @a53() {
    return
  }
}

// -----

// CHECK-LABEL: llvm.func @aarch64
// CHECK-SAME: target_features = #llvm.target_features<["+neon", "-dotprod"]>
module attributes {llvm.target_triple = "aarch64-unknown-linux-gnu"} {
  func.func @aarch64() {
    return
  }
}

// -----

// Another architecture: portable.
// CHECK-LABEL: llvm.func @riscv
// CHECK-NOT: target_cpu
module attributes {llvm.target_triple = "riscv64-unknown-linux-gnu"} {
  func.func @riscv() {
    return
  }
}

// -----

// expected-error @+1 {{sherry-to-llvm: target=module needs an 'llvm.target' or 'llvm.target_triple' attribute on the module}}
module {
  func.func @none() {
    return
  }
}

// -----

// expected-error @+1 {{sherry-to-llvm: target=module: unknown x86 CPU 'pentium9'}}
module attributes {llvm.target = #llvm.target<triple = "x86_64-unknown-linux-gnu", chip = "pentium9">} {
  func.func @unknown() {
    return
  }
}

// -----

// expected-error @+1 {{sherry-to-llvm: target=module: unknown AArch64 CPU 'cortex-z9'}}
module attributes {llvm.target = #llvm.target<triple = "aarch64-linux-gnu", chip = "cortex-z9">} {
  func.func @unknown() {
    return
  }
}
