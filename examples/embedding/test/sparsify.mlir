// RUN: embed-opt %s --sherry-sparsify="mode=int8" --one-shot-bufferize | FileCheck %s

// The embedding compiler runs the sherry pass and then upstream
// bufferization, which uses sherry.matmul's interface model.
// CHECK-LABEL: func @linear
// CHECK: memref.get_global
// CHECK: sherry.matmul ins({{.*}} : memref<1x32xf32{{.*}}>, memref<8x5xi8>) scales({{.*}} : memref<8xf32>) outs({{.*}}) layout<sherry, row> mode<int8>
func.func @linear(%x: tensor<1x32xf32>, %acc: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %b = arith.constant dense<0.5> : tensor<32x8xf32>
  %y = linalg.matmul ins(%x, %b : tensor<1x32xf32>, tensor<32x8xf32>)
                     outs(%acc : tensor<1x8xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
