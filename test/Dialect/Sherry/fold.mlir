// RUN: sherry-opt %s -canonicalize -split-input-file | FileCheck %s

// Constant weights are ternarized, packed, unpacked and dequantized at
// compile time through the format library.

// CHECK-LABEL: func @ternarize_fold
// CHECK-DAG: %[[T:.*]] = arith.constant dense<{{\[}}[0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1], [0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1]]> : tensor<2x32xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<[0.533333{{[0-9]*}}, 1.06666{{[0-9]*}}]> : tensor<2xf32>
// CHECK: return %[[T]], %[[S]]
func.func @ternarize_fold() -> (tensor<2x32xi8>, tensor<2xf32>) {
  %w = arith.constant dense<[[0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000, 0.100000, -0.500000, 0.900000, -0.200000], [0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000, 0.200000, -1.000000, 1.800000, -0.400000]]> : tensor<2x32xf32>
  %t, %s = sherry.ternarize %w layout<sherry, row>
             : tensor<2x32xf32> -> tensor<2x32xi8>, tensor<2xf32>
  return %t, %s : tensor<2x32xi8>, tensor<2xf32>
}

// -----

// CHECK-LABEL: func @pack_unpack_fold
// CHECK-DAG: %[[P:.*]] = arith.constant dense<{{\[}}[17, 17, 17, 17, -1], [17, 17, 17, 17, -1]]> : tensor<2x5xi8>
// CHECK-DAG: %[[T:.*]] = arith.constant dense<{{\[}}[0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1], [0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1]]> : tensor<2x32xi8>
// CHECK: return %[[P]], %[[T]]
func.func @pack_unpack_fold() -> (tensor<2x5xi8>, tensor<2x32xi8>) {
  %t = arith.constant dense<[[0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1], [0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1]]> : tensor<2x32xi8>
  %p = sherry.pack %t layout<sherry, row> : tensor<2x32xi8> -> tensor<2x5xi8>
  %u = sherry.unpack %p layout<sherry, row> : tensor<2x5xi8> -> tensor<2x32xi8>
  return %p, %u : tensor<2x5xi8>, tensor<2x32xi8>
}

// -----

// Two zeros in a group is not a valid Sherry group: no fold.
// CHECK-LABEL: func @pack_invalid_no_fold
// CHECK: sherry.pack
func.func @pack_invalid_no_fold() -> tensor<1x5xi8> {
  %t = arith.constant dense<0> : tensor<1x32xi8>
  %p = sherry.pack %t layout<sherry, row> : tensor<1x32xi8> -> tensor<1x5xi8>
  return %p : tensor<1x5xi8>
}

// -----

// CHECK-LABEL: func @dequantize_fold
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[0.000000e+00, -2.500000e-01, 2.500000e-01, -2.500000e-01, 0.000000e+00
// CHECK: return %[[W]]
func.func @dequantize_fold() -> tensor<1x32xf32> {
  %p = arith.constant dense<[[17, 17, 17, 17, -1]]> : tensor<1x5xi8>
  %s = arith.constant dense<[0.25]> : tensor<1xf32>
  %w = sherry.dequantize %p scales(%s : tensor<1xf32>) layout<sherry, row>
         : tensor<1x5xi8> -> tensor<1x32xf32>
  return %w : tensor<1x32xf32>
}

// -----

// absmax 127: scale 1 and q = round_half_even(x): ties go to even.
// CHECK-LABEL: func @quantize_fold
// CHECK-DAG: arith.constant dense<{{\[}}[127, -2, 0, 2, 0, 3, 0, -127]]> : tensor<1x8xi8>
// CHECK-DAG: arith.constant dense<1.000000e+00> : tensor<1xf32>
func.func @quantize_fold() -> (tensor<1x8xi8>, tensor<1xf32>) {
  %x = arith.constant dense<[[127.0, -2.5, 0.5, 1.5, -0.5, 3.49, 0.0, -127.0]]> : tensor<1x8xf32>
  %q, %s = sherry.quantize_activations %x
             : tensor<1x8xf32> -> tensor<1x8xi8>, tensor<1xf32>
  return %q, %s : tensor<1x8xi8>, tensor<1xf32>
}

// -----

// x_k = k + 1 against groups (0, -1, +1, -1) at scale 0.5: each group gives
// -4g - 3, -136 in all, -68 scaled; plus init 1 and bias 0.25.
// CHECK-LABEL: func @matmul_fold_exact
// CHECK: %[[Y:.*]] = arith.constant dense<-6.675000e+01> : tensor<1x1xf32>
// CHECK: return %[[Y]]
func.func @matmul_fold_exact() -> tensor<1x1xf32> {
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0]]> : tensor<1x32xf32>
  %p = arith.constant dense<[[17, 17, 17, 17, -1]]> : tensor<1x5xi8>
  %s = arith.constant dense<[0.5]> : tensor<1xf32>
  %b = arith.constant dense<[0.25]> : tensor<1xf32>
  %i = arith.constant dense<1.0> : tensor<1x1xf32>
  %y = sherry.matmul ins(%x, %p : tensor<1x32xf32>, tensor<1x5xi8>)
         scales(%s : tensor<1xf32>) bias(%b : tensor<1xf32>)
         outs(%i : tensor<1x1xf32>) layout<sherry, row> -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}

// -----

// With x_31 = 127 the activation scale is 1 and q = x: -231 * 0.5.
// CHECK-LABEL: func @matmul_fold_int8
// CHECK: arith.constant dense<-1.155000e+02> : tensor<1x1xf32>
func.func @matmul_fold_int8() -> tensor<1x1xf32> {
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 127.0]]> : tensor<1x32xf32>
  %p = arith.constant dense<[[17, 17, 17, 17, -1]]> : tensor<1x5xi8>
  %s = arith.constant dense<[0.5]> : tensor<1xf32>
  %i = arith.constant dense<0.0> : tensor<1x1xf32>
  %y = sherry.matmul ins(%x, %p : tensor<1x32xf32>, tensor<1x5xi8>)
         scales(%s : tensor<1xf32>) outs(%i : tensor<1x1xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}
