// RUN: sherry-opt %s | FileCheck %s
// RUN: sherry-opt %s | sherry-opt | FileCheck %s
// RUN: sherry-opt %s --mlir-print-op-generic | sherry-opt | FileCheck %s

// CHECK-LABEL: func @matmul_row_int8
// CHECK: sherry.matmul ins(%{{.*}}, %{{.*}} : tensor<3x256xf32>, tensor<64x40xi8>) scales(%{{.*}} : tensor<64xf32>) outs(%{{.*}} : tensor<3x64xf32>) layout<sherry, row> mode<int8> -> tensor<3x64xf32>
func.func @matmul_row_int8(%x: tensor<3x256xf32>, %w: tensor<64x40xi8>,
                           %s: tensor<64xf32>, %init: tensor<3x64xf32>)
    -> tensor<3x64xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%init : tensor<3x64xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x64xf32>
  return %y : tensor<3x64xf32>
}

// The default mode (exact) is elided.
// CHECK-LABEL: func @matmul_group_bias
// CHECK: sherry.matmul ins(%{{.*}}, %{{.*}} : tensor<?x256xf16>, tensor<64x40xi8>) scales(%{{.*}} : tensor<64x2xf16>) bias(%{{.*}} : tensor<64xf32>) outs(%{{.*}} : tensor<?x64xf32>) layout<sherry, group = 128, scale_type = f16> -> tensor<?x64xf32>
func.func @matmul_group_bias(%x: tensor<?x256xf16>, %w: tensor<64x40xi8>,
                             %s: tensor<64x2xf16>, %b: tensor<64xf32>,
                             %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<?x256xf16>, tensor<64x40xi8>)
         scales(%s : tensor<64x2xf16>) bias(%b : tensor<64xf32>)
         outs(%init : tensor<?x64xf32>)
         layout<sherry, group = 128, scale_type = f16> mode<exact>
         -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func @matmul_tensor_scale_memref
// CHECK: sherry.matmul ins(%{{.*}}, %{{.*}} : memref<1x2048xbf16>, memref<512x320xi8>) scales(%{{.*}} : memref<1xf32>) outs(%{{.*}} : memref<1x512xf32>) layout<sherry, tensor>
// CHECK-NOT: ->
func.func @matmul_tensor_scale_memref(%x: memref<1x2048xbf16>,
                                      %w: memref<512x320xi8>,
                                      %s: memref<1xf32>,
                                      %y: memref<1x512xf32>) {
  sherry.matmul ins(%x, %w : memref<1x2048xbf16>, memref<512x320xi8>)
    scales(%s : memref<1xf32>) outs(%y : memref<1x512xf32>)
    layout<sherry, tensor>
  return
}

// stq1_0 keeps its f16 scales inside the 42-byte blocks: no scales operand.
// CHECK-LABEL: func @matmul_stq1_0
// CHECK: sherry.matmul ins(%{{.*}}, %{{.*}} : tensor<1x512xf32>, tensor<7x84xi8>) outs(%{{.*}} : tensor<1x7xf32>) layout<stq1_0> mode<int8> -> tensor<1x7xf32>
func.func @matmul_stq1_0(%x: tensor<1x512xf32>, %w: tensor<7x84xi8>,
                         %init: tensor<1x7xf32>) -> tensor<1x7xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<1x512xf32>, tensor<7x84xi8>)
         outs(%init : tensor<1x7xf32>) layout<stq1_0> mode<int8>
         -> tensor<1x7xf32>
  return %y : tensor<1x7xf32>
}

// The attribute on its own, in full form.
// CHECK-LABEL: func @layout_attrs
// CHECK-SAME: test.a = #sherry.layout<sherry, row>
// CHECK-SAME: test.b = #sherry.layout<stq1_0>
// CHECK-SAME: test.c = #sherry.layout<sherry, group = 32>
// CHECK-SAME: test.d = #sherry.mode<int8>
func.func @layout_attrs() attributes {
    test.a = #sherry.layout<sherry>,
    test.b = #sherry.layout<stq1_0>,
    test.c = #sherry.layout<sherry, group = 32, scale_type = f32>,
    test.d = #sherry.mode<int8>} {
  return
}
