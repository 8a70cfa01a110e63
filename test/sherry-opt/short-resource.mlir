// Regression test (found while adding the bad-input tests of issue 8): a
// dense_resource constant whose blob is shorter than its tensor type. The
// folds of sherry.ternarize and sherry.matmul used to read such a blob past
// its end (a heap-buffer-overflow under ASan, garbage constants in a
// release build); getElementsAsFloats/getElementsAsInt8 now leave it alone,
// the constants stay as they are, and translation rejects them.
// RUN: sherry-opt %s --split-input-file --sherry-to-llvm | FileCheck %s
// RUN: not sherry-compile %S/../sherry-compile/Inputs/short-resource.mlir -o %t.o 2>&1 | FileCheck %s --check-prefix=COMPILE

// CHECK: llvm.mlir.global {{.*}}(dense_resource<w> : tensor<4x32xf32>)
// CHECK: llvm.mlir.global {{.*}}(dense_resource<x> : tensor<1x32xf32>)
// COMPILE: error: raw data size does not match element type size
// COMPILE: sherry-compile: error: cannot translate '{{.*}}short-resource.mlir' to LLVM IR

// Weights: 2 floats where the type says 4 x 32.
func.func @short_weights(%x: tensor<1x32xf32>, %acc: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %w = arith.constant dense_resource<w> : tensor<4x32xf32>
  %t, %s = sherry.ternarize %w layout<sherry, row>
             : tensor<4x32xf32> -> tensor<4x32xi8>, tensor<4xf32>
  %p = sherry.pack %t layout<sherry, row> : tensor<4x32xi8> -> tensor<4x5xi8>
  %y = sherry.matmul ins(%x, %p : tensor<1x32xf32>, tensor<4x5xi8>)
         scales(%s : tensor<4xf32>) outs(%acc : tensor<1x4xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803f0000803f"
    }
  }
#-}

// -----

// Activations: 2 floats where the type says 1 x 32.
func.func @short_activations() -> tensor<1x4xf32> {
  %x = arith.constant dense_resource<x> : tensor<1x32xf32>
  %w = arith.constant dense<1.0> : tensor<4x32xf32>
  %acc = arith.constant dense<0.0> : tensor<1x4xf32>
  %t, %s = sherry.ternarize %w layout<sherry, row>
             : tensor<4x32xf32> -> tensor<4x32xi8>, tensor<4xf32>
  %p = sherry.pack %t layout<sherry, row> : tensor<4x32xi8> -> tensor<4x5xi8>
  %y = sherry.matmul ins(%x, %p : tensor<1x32xf32>, tensor<4x5xi8>)
         scales(%s : tensor<4xf32>) outs(%acc : tensor<1x4xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      x: "0x040000000000803f0000803f"
    }
  }
#-}
