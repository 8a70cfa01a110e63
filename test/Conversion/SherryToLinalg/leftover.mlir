// A sherry op that no lowering takes is an error that says why, not an op
// left for bufferization and LLVM to choke on.
// RUN: sherry-opt %s --convert-sherry-to-linalg -split-input-file -verify-diagnostics
// RUN: not sherry-opt %s --sherry-to-llvm -split-input-file 2>&1 | FileCheck %s
// CHECK: error: 'sherry.matmul' op cannot be lowered to linalg: its K (the columns of the input) is dynamic; the kernels need it static
// CHECK: error: 'sherry.matmul' op cannot be lowered to linalg: it works on memrefs; sherry ops lower on tensors, before bufferization
// CHECK: error: 'sherry.ternarize' op cannot be lowered to linalg: its M (the rows) is dynamic; one scale per tensor needs it static

func.func @dynamic_k(%x: tensor<?x?xf32>, %w: tensor<?x?xi8>, %s: tensor<?xf32>,
                     %acc: tensor<?x?xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{'sherry.matmul' op cannot be lowered to linalg: its K (the columns of the input) is dynamic; the kernels need it static}}
  %y = sherry.matmul ins(%x, %w : tensor<?x?xf32>, tensor<?x?xi8>)
         scales(%s : tensor<?xf32>) outs(%acc : tensor<?x?xf32>)
         layout<sherry, row> mode<int8> -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

func.func @buffers(%x: memref<2x256xf32>, %w: memref<64x40xi8>, %s: memref<64xf32>,
                   %acc: memref<2x64xf32>) {
  // expected-error @+1 {{'sherry.matmul' op cannot be lowered to linalg: it works on memrefs; sherry ops lower on tensors, before bufferization}}
  sherry.matmul ins(%x, %w : memref<2x256xf32>, memref<64x40xi8>)
    scales(%s : memref<64xf32>) outs(%acc : memref<2x64xf32>)
    layout<sherry, row> mode<int8>
  return
}

// -----

// One scale per tensor sums over every row: their count must be static.
func.func @tensor_scale_dynamic_m(%w: tensor<?x32xf32>) -> (tensor<?x32xi8>, tensor<1xf32>) {
  // expected-error @+1 {{'sherry.ternarize' op cannot be lowered to linalg: its M (the rows) is dynamic; one scale per tensor needs it static}}
  %t, %s = sherry.ternarize %w layout<sherry, tensor>
             : tensor<?x32xf32> -> tensor<?x32xi8>, tensor<1xf32>
  return %t, %s : tensor<?x32xi8>, tensor<1xf32>
}
