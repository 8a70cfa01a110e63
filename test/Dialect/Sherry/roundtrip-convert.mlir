// RUN: sherry-opt %s | FileCheck %s
// RUN: sherry-opt %s | sherry-opt | FileCheck %s
// RUN: sherry-opt %s --mlir-print-op-generic | sherry-opt | FileCheck %s

// CHECK-LABEL: func @quantize
// CHECK: sherry.quantize_activations %{{.*}} : tensor<3x256xf32> -> tensor<3x256xi8>, tensor<3xf32>
// CHECK: sherry.quantize_activations %{{.*}} block 128 : tensor<?x256xbf16> -> tensor<?x256xi8>, tensor<?x2xf32>
func.func @quantize(%x: tensor<3x256xf32>, %y: tensor<?x256xbf16>) {
  %q, %s = sherry.quantize_activations %x
             : tensor<3x256xf32> -> tensor<3x256xi8>, tensor<3xf32>
  %q2, %s2 = sherry.quantize_activations %y block 128
               : tensor<?x256xbf16> -> tensor<?x256xi8>, tensor<?x2xf32>
  return
}

// CHECK-LABEL: func @ternarize_pack_unpack
// CHECK: sherry.ternarize %{{.*}} layout<sherry, row> : tensor<64x256xf32> -> tensor<64x256xi8>, tensor<64xf32>
// CHECK: sherry.pack %{{.*}} layout<sherry, row> : tensor<64x256xi8> -> tensor<64x40xi8>
// CHECK: sherry.unpack %{{.*}} layout<sherry, row> : tensor<64x40xi8> -> tensor<64x256xi8>
// CHECK: sherry.dequantize %{{.*}} scales(%{{.*}} : tensor<64xf32>) layout<sherry, row> : tensor<64x40xi8> -> tensor<64x256xf32>
func.func @ternarize_pack_unpack(%w: tensor<64x256xf32>) {
  %t, %s = sherry.ternarize %w layout<sherry, row>
             : tensor<64x256xf32> -> tensor<64x256xi8>, tensor<64xf32>
  %p = sherry.pack %t layout<sherry, row> : tensor<64x256xi8> -> tensor<64x40xi8>
  %u = sherry.unpack %p layout<sherry, row> : tensor<64x40xi8> -> tensor<64x256xi8>
  %d = sherry.dequantize %p scales(%s : tensor<64xf32>) layout<sherry, row>
         : tensor<64x40xi8> -> tensor<64x256xf32>
  return
}

// CHECK-LABEL: func @stq1_0
// CHECK: sherry.ternarize %{{.*}} layout<stq1_0> : tensor<8x512xf16> -> tensor<8x512xi8>, tensor<8x2xf16>
// CHECK: sherry.pack %{{.*}} scales(%{{.*}} : tensor<8x2xf16>) layout<stq1_0> : tensor<8x512xi8> -> tensor<8x84xi8>
// CHECK: sherry.dequantize %{{.*}} layout<stq1_0> : tensor<8x84xi8> -> tensor<8x512xf32>
func.func @stq1_0(%w: tensor<8x512xf16>) {
  %t, %s = sherry.ternarize %w layout<stq1_0>
             : tensor<8x512xf16> -> tensor<8x512xi8>, tensor<8x2xf16>
  %p = sherry.pack %t scales(%s : tensor<8x2xf16>) layout<stq1_0>
         : tensor<8x512xi8> -> tensor<8x84xi8>
  %d = sherry.dequantize %p layout<stq1_0> : tensor<8x84xi8> -> tensor<8x512xf32>
  return
}
