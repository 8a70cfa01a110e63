// RUN: sherry-opt %s -sherry-sparsify -split-input-file -verify-diagnostics | FileCheck %s

// Weights passed as arguments marked sherry.weights become packed arguments:
// the M x B bytes (sherry.packed = layout), then the scales (sherry.scales).
// The torch-mlir form: the M x K weight goes through linalg.transpose.
// CHECK-LABEL: func @linear(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x256xf32>,
// CHECK-SAME: %[[W:[^:]*]]: tensor<64x40xi8> {sherry.packed = #sherry.layout<sherry, row>},
// CHECK-SAME: %[[S:[^:]*]]: tensor<64xf32> {sherry.scales = #sherry.layout<sherry, row>},
// CHECK-SAME: %[[I:[^:]*]]: tensor<?x64xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: %[[Y:.*]] = sherry.matmul ins(%[[X]], %[[W]] : tensor<?x256xf32>, tensor<64x40xi8>) scales(%[[S]] : tensor<64xf32>) outs(%[[I]] : tensor<?x64xf32>) layout<sherry, row>
// CHECK: return %[[Y]]
func.func @linear(%x: tensor<?x256xf32>, %w: tensor<64x256xf32> {sherry.weights},
                  %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %e = tensor.empty() : tensor<256x64xf32>
  %t = linalg.transpose ins(%w : tensor<64x256xf32>) outs(%e : tensor<256x64xf32>) permutation = [1, 0]
  %y = linalg.matmul ins(%x, %t : tensor<?x256xf32>, tensor<256x64xf32>)
                     outs(%init : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// One weight shared by a matmul (K x M form) and, separately, a matvec
// argument; several marked arguments in one function.
// CHECK-LABEL: func @two_weights(
// CHECK-SAME: %{{[^:]*}}: tensor<1x64xf32>,
// CHECK-SAME: %[[B:[^:]*]]: tensor<32x10xi8> {sherry.packed = #sherry.layout<sherry, row>},
// CHECK-SAME: %[[BS:[^:]*]]: tensor<32xf32> {sherry.scales = #sherry.layout<sherry, row>},
// CHECK-SAME: %{{[^:]*}}: tensor<64xf32>,
// CHECK-SAME: %[[V:[^:]*]]: tensor<16x10xi8> {sherry.packed = #sherry.layout<sherry, row>},
// CHECK-SAME: %[[VS:[^:]*]]: tensor<16xf32> {sherry.scales = #sherry.layout<sherry, row>})
// CHECK: sherry.matmul ins(%{{.*}}, %[[B]] : tensor<1x64xf32>, tensor<32x10xi8>) scales(%[[BS]] : tensor<32xf32>)
// CHECK: sherry.matmul ins(%{{.*}}, %[[V]] : tensor<1x64xf32>, tensor<16x10xi8>) scales(%[[VS]] : tensor<16xf32>)
func.func @two_weights(%x: tensor<1x64xf32>, %b: tensor<64x32xf32> {sherry.weights},
                       %v: tensor<64xf32>, %w: tensor<16x64xf32> {sherry.weights})
    -> (tensor<1x32xf32>, tensor<16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<1x32xf32>
  %i1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x32xf32>) -> tensor<1x32xf32>
  %y1 = linalg.matmul ins(%x, %b : tensor<1x64xf32>, tensor<64x32xf32>)
                      outs(%i1 : tensor<1x32xf32>) -> tensor<1x32xf32>
  %e2 = tensor.empty() : tensor<16xf32>
  %i2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<16xf32>) -> tensor<16xf32>
  %y2 = linalg.matvec ins(%w, %v : tensor<16x64xf32>, tensor<64xf32>)
                      outs(%i2 : tensor<16xf32>) -> tensor<16xf32>
  return %y1, %y2 : tensor<1x32xf32>, tensor<16xf32>
}

// -----

// expected-error @+1 {{sherry-sparsify: argument #1 is marked sherry.weights but it is used by 'arith.addf', which needs dense weights}}
func.func @other_use(%x: tensor<1x32xf32>, %w: tensor<32x4xf32> {sherry.weights},
                     %init: tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<32x4xf32>) {
  %y = linalg.matmul ins(%x, %w : tensor<1x32xf32>, tensor<32x4xf32>)
                     outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  %d = arith.addf %w, %w : tensor<32x4xf32>
  return %y, %d : tensor<1x4xf32>, tensor<32x4xf32>
}

// -----

// expected-error @+1 {{sherry-sparsify: argument #1 is marked sherry.weights but K = 48 is not a multiple of 32}}
func.func @bad_k(%x: tensor<1x48xf32>, %w: tensor<48x4xf32> {sherry.weights},
                 %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %y = linalg.matmul ins(%x, %w : tensor<1x48xf32>, tensor<48x4xf32>)
                     outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// expected-error @+1 {{sherry-sparsify: argument #1 is marked sherry.weights but the function is called in this module, and its callers pass dense weights}}
func.func @called(%x: tensor<1x32xf32>, %w: tensor<32x4xf32> {sherry.weights},
                  %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %y = linalg.matmul ins(%x, %w : tensor<1x32xf32>, tensor<32x4xf32>)
                     outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
func.func @caller(%x: tensor<1x32xf32>, %w: tensor<32x4xf32>, %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %y = func.call @called(%x, %w, %init) : (tensor<1x32xf32>, tensor<32x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// expected-error @+1 {{sherry-sparsify: argument #0 is marked sherry.weights but it is not a static 2-D float tensor}}
func.func @dynamic(%w: tensor<?x32xf32> {sherry.weights}) {
  return
}

// -----

// expected-error @+1 {{sherry-sparsify: argument #0 is marked sherry.weights but it has no use to rewrite}}
func.func @unused(%w: tensor<4x32xf32> {sherry.weights}) {
  return
}
