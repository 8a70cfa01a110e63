// RUN: sherry-opt %s -convert-sherry-to-linalg -split-input-file | FileCheck %s

// int8 mode: quantize activations per row, decode ternary values, sum int8
// products per scale segment in i32 (K viewed as segments x G), combine the
// segments in f32 in order, then (init + y) + bias written into init.
// CHECK-LABEL: func @int8_group
// CHECK: math.roundeven
// CHECK: %[[Q:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [3, 2, 128] : tensor<3x256xi8> into tensor<3x2x128xi8>
// CHECK: %[[T:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [8, 2, 128] : tensor<8x256xi8> into tensor<8x2x128xi8>
// CHECK: %[[SUMS:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]{{.*}} ins(%[[Q]], %[[T]] : tensor<3x2x128xi8>, tensor<8x2x128xi8>) outs(%{{.*}} : tensor<3x8x2xi32>)
// CHECK:   arith.extsi
// CHECK:   arith.muli
// CHECK:   arith.addi
// CHECK: %[[Y:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%[[SUMS]], %{{.*}}, %{{.*}} : tensor<3x8x2xi32>, tensor<8x2xf32>, tensor<3xf32>) outs(%{{.*}} : tensor<3x8xf32>)
// CHECK:   arith.sitofp
// CHECK:   arith.mulf
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: linalg.generic {{.*}} ins(%[[Y]], %{{.*}} : tensor<3x8xf32>, tensor<8xf32>) outs(%{{.*}} : tensor<3x8xf32>)
// CHECK-NOT: sherry.
func.func @int8_group(%x: tensor<3x256xf32>, %w: tensor<8x40xi8>,
                      %s: tensor<8x2xf32>, %b: tensor<8xf32>,
                      %i: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<8x40xi8>)
         scales(%s : tensor<8x2xf32>) bias(%b : tensor<8xf32>)
         outs(%i : tensor<3x8xf32>) layout<sherry, group = 128> mode<int8>
         -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// exact mode: dequantized f32 weights, an f32 contraction over K, then the
// accumulator (f16 here: summed in f32, rounded once).
// CHECK-LABEL: func @exact_f16
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<?x256xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} outs(%{{.*}} : tensor<?x?xf32>)
// CHECK:   arith.extf %{{.*}} : bf16 to f32
// CHECK: linalg.generic
// CHECK:   arith.extf %{{.*}} : f16 to f32
// CHECK:   arith.truncf %{{.*}} : f32 to f16
func.func @exact_f16(%x: tensor<?x256xbf16>, %w: tensor<?x40xi8>,
                     %s: tensor<1xf32>, %i: tensor<?x?xf16>) -> tensor<?x?xf16> {
  %y = sherry.matmul ins(%x, %w : tensor<?x256xbf16>, tensor<?x40xi8>)
         scales(%s : tensor<1xf32>) outs(%i : tensor<?x?xf16>)
         layout<sherry, tensor> -> tensor<?x?xf16>
  return %y : tensor<?x?xf16>
}
