// RUN: sherry-opt %s -convert-sherry-to-linalg -split-input-file -verify-diagnostics
// RUN: not sherry-opt %s -split-input-file --sherry-to-llvm 2>&1 | FileCheck %s --check-prefix=PIPELINE
// RUN: not sherry-compile %s -o %t.o 2>&1 | FileCheck %s --check-prefix=COMPILE

// Constant weights with a NaN or an infinity have no ternary projection: the
// fold leaves them, and the lowering stops with the first bad element
// instead of computing a NaN scale at run time.
// PIPELINE: error: 'sherry.ternarize' op constant weights hold NaN at [1, 2]: there is no ternary projection of them
// COMPILE: error: 'sherry.ternarize' op constant weights hold NaN at [1, 2]
func.func @nan() -> (tensor<2x32xi8>, tensor<2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0],
                             [1.0, 2.0, 0x7FC00000, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0]]> : tensor<2x32xf32>
  // expected-error @+1 {{constant weights hold NaN at [1, 2]: there is no ternary projection of them}}
  %t, %s = sherry.ternarize %w layout<sherry, row>
             : tensor<2x32xf32> -> tensor<2x32xi8>, tensor<2xf32>
  return %t, %s : tensor<2x32xi8>, tensor<2xf32>
}

// -----

func.func @inf() -> (tensor<1x32xi8>, tensor<1xf32>) {
  %w = arith.constant dense<0xFF800000> : tensor<1x32xf32>
  // expected-error @+1 {{constant weights hold an infinity at [0, 0]}}
  %t, %s = sherry.ternarize %w layout<sherry, tensor>
             : tensor<1x32xf32> -> tensor<1x32xi8>, tensor<1xf32>
  return %t, %s : tensor<1x32xi8>, tensor<1xf32>
}
