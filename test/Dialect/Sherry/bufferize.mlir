// RUN: sherry-opt %s -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -split-input-file | FileCheck %s

// The matmul writes its init in place: no copy, no allocation.
// CHECK-LABEL: func @in_place
// CHECK-SAME: (%[[X:.*]]: memref<3x256xf32>, %[[W:.*]]: memref<64x40xi8>, %[[S:.*]]: memref<64xf32>, %[[B:.*]]: memref<64xf32>, %[[I:.*]]: memref<3x64xf32>) -> memref<3x64xf32>
// CHECK-NOT: memref.alloc
// CHECK: sherry.matmul ins(%[[X]], %[[W]] : memref<3x256xf32>, memref<64x40xi8>) scales(%[[S]] : memref<64xf32>) bias(%[[B]] : memref<64xf32>) outs(%[[I]] : memref<3x64xf32>) layout<sherry, row> mode<int8>
// CHECK-NEXT: return %[[I]]
func.func @in_place(%x: tensor<3x256xf32>, %w: tensor<64x40xi8>,
                    %s: tensor<64xf32>, %b: tensor<64xf32>,
                    %init: tensor<3x64xf32>) -> tensor<3x64xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) bias(%b : tensor<64xf32>)
         outs(%init : tensor<3x64xf32>) layout<sherry, row> mode<int8>
         -> tensor<3x64xf32>
  return %y : tensor<3x64xf32>
}

// -----

// A zero-filled fresh accumulator becomes an allocation filled in place;
// constant packed weights become globals.
// CHECK-LABEL: func @fresh_init
// CHECK: %[[W:.*]] = memref.get_global @{{.*}} : memref<2x42xi8>
// CHECK: %[[A:.*]] = memref.alloc() {{.*}}: memref<1x2xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[A]] : memref<1x2xf32>)
// CHECK: sherry.matmul ins(%{{.*}}, %[[W]] : memref<1x256xf32>, memref<2x42xi8>) outs(%[[A]] : memref<1x2xf32>) layout<stq1_0>
// CHECK: return %[[A]]
func.func @fresh_init(%x: tensor<1x256xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<0> : tensor<2x42xi8>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2xf32>) -> tensor<1x2xf32>
  %y = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<2x42xi8>)
         outs(%init : tensor<1x2xf32>) layout<stq1_0> -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
