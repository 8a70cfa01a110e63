// RUN: sherry-opt %s -sherry-fuse-sibling-matmuls -split-input-file | FileCheck %s
// RUN: sherry-opt %s -sherry-fuse-sibling-matmuls="min-members=3" -split-input-file | FileCheck %s --check-prefix=MIN3
// RUN: not sherry-opt %s -sherry-fuse-sibling-matmuls="min-members=1" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: error: sherry-fuse-sibling-matmuls: min-members must be at least 2, got 1

// q, k and v of M = 2, 1 and 3 on the same activations: one matmul on the
// 6 rows side by side (K = 32: 5 bytes a row), scales likewise, the
// accumulators side by side, each result a slice.
// CHECK-LABEL: func @qkv
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15], [16, 17, 18, 19, 20], [21, 22, 23, 24, 25], [26, 27, 28, 29, 30]]> : tensor<6x5xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00]> : tensor<6xf32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<3x6xf32>
// CHECK: %[[I0:.*]] = tensor.insert_slice %{{.*}} into %[[E]][0, 0] [3, 2] [1, 1]
// CHECK: %[[I1:.*]] = tensor.insert_slice %{{.*}} into %[[I0]][0, 2] [3, 1] [1, 1]
// CHECK: %[[I2:.*]] = tensor.insert_slice %{{.*}} into %[[I1]][0, 3] [3, 3] [1, 1]
// CHECK: %[[Y:.*]] = sherry.matmul ins(%{{.*}}, %[[W]] : tensor<3x32xf32>, tensor<6x5xi8>) scales(%[[S]] : tensor<6xf32>) outs(%[[I2]] : tensor<3x6xf32>) layout<sherry, row> mode<int8> -> tensor<3x6xf32>
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[Y]][0, 0] [3, 2] [1, 1] : tensor<3x6xf32> to tensor<3x2xf32>
// CHECK: %[[K:.*]] = tensor.extract_slice %[[Y]][0, 2] [3, 1] [1, 1] : tensor<3x6xf32> to tensor<3x1xf32>
// CHECK: %[[V:.*]] = tensor.extract_slice %[[Y]][0, 3] [3, 3] [1, 1] : tensor<3x6xf32> to tensor<3x3xf32>
// CHECK-NOT: sherry.matmul
// CHECK: return %[[Q]], %[[K]], %[[V]]
// MIN3-LABEL: func @qkv
// MIN3-COUNT-1: sherry.matmul
// MIN3-NOT: sherry.matmul
// MIN3: return
// MIN3-LABEL: func @group_scales_bias
// MIN3-COUNT-2: sherry.matmul
// MIN3-NOT: tensor.extract_slice
func.func @qkv(%x: tensor<3x32xf32>, %iq: tensor<3x2xf32>, %ik: tensor<3x1xf32>,
               %iv: tensor<3x3xf32>)
    -> (tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x3xf32>) {
  %wq = arith.constant dense<[[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]> : tensor<2x5xi8>
  %sq = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %wk = arith.constant dense<[[11, 12, 13, 14, 15]]> : tensor<1x5xi8>
  %sk = arith.constant dense<[3.0]> : tensor<1xf32>
  %wv = arith.constant dense<[[16, 17, 18, 19, 20], [21, 22, 23, 24, 25], [26, 27, 28, 29, 30]]> : tensor<3x5xi8>
  %sv = arith.constant dense<[4.0, 5.0, 6.0]> : tensor<3xf32>
  %q = sherry.matmul ins(%x, %wq : tensor<3x32xf32>, tensor<2x5xi8>)
         scales(%sq : tensor<2xf32>) outs(%iq : tensor<3x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x2xf32>
  %k = sherry.matmul ins(%x, %wk : tensor<3x32xf32>, tensor<1x5xi8>)
         scales(%sk : tensor<1xf32>) outs(%ik : tensor<3x1xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x1xf32>
  %v = sherry.matmul ins(%x, %wv : tensor<3x32xf32>, tensor<3x5xi8>)
         scales(%sv : tensor<3xf32>) outs(%iv : tensor<3x3xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x3xf32>
  return %q, %k, %v : tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x3xf32>
}

// -----

// Scales per group of 16 (two a row) that are arguments, a bias on each,
// a dynamic N: the scales and biases are concatenated at run time.
// CHECK-LABEL: func @group_scales_bias
// CHECK-SAME: (%[[X:.*]]: tensor<?x32xf32>, %[[S0:.*]]: tensor<1x2xf32>, %[[S1:.*]]: tensor<2x2xf32>, %[[B0:.*]]: tensor<1xf32>, %[[B1:.*]]: tensor<2xf32>, %[[I0:.*]]: tensor<?x1xf32>, %[[I1:.*]]: tensor<?x2xf32>)
// CHECK: %[[N:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[SE:.*]] = tensor.empty() : tensor<3x2xf32>
// CHECK: %[[SA:.*]] = tensor.insert_slice %[[S0]] into %[[SE]][0, 0] [1, 2] [1, 1]
// CHECK: %[[SB:.*]] = tensor.insert_slice %[[S1]] into %[[SA]][1, 0] [2, 2] [1, 1]
// CHECK: %[[BE:.*]] = tensor.empty() : tensor<3xf32>
// CHECK: %[[BA:.*]] = tensor.insert_slice %[[B0]] into %[[BE]][0] [1] [1]
// CHECK: %[[BB:.*]] = tensor.insert_slice %[[B1]] into %[[BA]][1] [2] [1]
// CHECK: %[[IE:.*]] = tensor.empty(%[[N]]) : tensor<?x3xf32>
// CHECK: sherry.matmul ins(%[[X]], %{{.*}} : tensor<?x32xf32>, tensor<3x5xi8>) scales(%[[SB]] : tensor<3x2xf32>) bias(%[[BB]] : tensor<3xf32>) outs(%{{.*}} : tensor<?x3xf32>) layout<sherry, group = 16> -> tensor<?x3xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [%[[N]], 1] [1, 1] : tensor<?x3xf32> to tensor<?x1xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 1] [%[[N]], 2] [1, 1] : tensor<?x3xf32> to tensor<?x2xf32>
func.func @group_scales_bias(%x: tensor<?x32xf32>, %s0: tensor<1x2xf32>,
                             %s1: tensor<2x2xf32>, %b0: tensor<1xf32>,
                             %b1: tensor<2xf32>, %i0: tensor<?x1xf32>,
                             %i1: tensor<?x2xf32>)
    -> (tensor<?x1xf32>, tensor<?x2xf32>) {
  %w0 = arith.constant dense<[[1, 2, 3, 4, 5]]> : tensor<1x5xi8>
  %w1 = arith.constant dense<[[6, 7, 8, 9, 10], [11, 12, 13, 14, 15]]> : tensor<2x5xi8>
  %y0 = sherry.matmul ins(%x, %w0 : tensor<?x32xf32>, tensor<1x5xi8>)
          scales(%s0 : tensor<1x2xf32>) bias(%b0 : tensor<1xf32>)
          outs(%i0 : tensor<?x1xf32>) layout<sherry, group = 16>
          -> tensor<?x1xf32>
  %y1 = sherry.matmul ins(%x, %w1 : tensor<?x32xf32>, tensor<2x5xi8>)
          scales(%s1 : tensor<2x2xf32>) bias(%b1 : tensor<2xf32>)
          outs(%i1 : tensor<?x2xf32>) layout<sherry, group = 16>
          -> tensor<?x2xf32>
  return %y0, %y1 : tensor<?x1xf32>, tensor<?x2xf32>
}

// -----

// Left alone: different activations, weights that are arguments, one
// scale per tensor, a different mode, a bias on one only.
// CHECK-LABEL: func @not_siblings
// CHECK-COUNT-7: sherry.matmul
// CHECK-NOT: tensor.extract_slice
func.func @not_siblings(%x: tensor<1x32xf32>, %z: tensor<1x32xf32>,
                        %wa: tensor<1x5xi8>, %i: tensor<1x1xf32>,
                        %b: tensor<1xf32>)
    -> (tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>,
        tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>) {
  %w = arith.constant dense<[[1, 2, 3, 4, 5]]> : tensor<1x5xi8>
  %s = arith.constant dense<[1.0]> : tensor<1xf32>
  %y0 = sherry.matmul ins(%x, %w : tensor<1x32xf32>, tensor<1x5xi8>)
          scales(%s : tensor<1xf32>) outs(%i : tensor<1x1xf32>)
          layout<sherry, row> mode<int8> -> tensor<1x1xf32>
  %y1 = sherry.matmul ins(%z, %w : tensor<1x32xf32>, tensor<1x5xi8>)
          scales(%s : tensor<1xf32>) outs(%i : tensor<1x1xf32>)
          layout<sherry, row> mode<int8> -> tensor<1x1xf32>
  %y2 = sherry.matmul ins(%z, %wa : tensor<1x32xf32>, tensor<1x5xi8>)
          scales(%s : tensor<1xf32>) outs(%i : tensor<1x1xf32>)
          layout<sherry, row> mode<int8> -> tensor<1x1xf32>
  %y3 = sherry.matmul ins(%z, %w : tensor<1x32xf32>, tensor<1x5xi8>)
          scales(%s : tensor<1xf32>) outs(%i : tensor<1x1xf32>)
          layout<sherry, tensor> mode<int8> -> tensor<1x1xf32>
  %y4 = sherry.matmul ins(%z, %w : tensor<1x32xf32>, tensor<1x5xi8>)
          scales(%s : tensor<1xf32>) outs(%i : tensor<1x1xf32>)
          layout<sherry, tensor> mode<int8> -> tensor<1x1xf32>
  %y5 = sherry.matmul ins(%z, %w : tensor<1x32xf32>, tensor<1x5xi8>)
          scales(%s : tensor<1xf32>) outs(%i : tensor<1x1xf32>)
          layout<sherry, row> -> tensor<1x1xf32>
  %y6 = sherry.matmul ins(%z, %w : tensor<1x32xf32>, tensor<1x5xi8>)
          scales(%s : tensor<1xf32>) bias(%b : tensor<1xf32>)
          outs(%i : tensor<1x1xf32>) layout<sherry, row> mode<int8>
          -> tensor<1x1xf32>
  return %y0, %y1, %y2, %y3, %y4, %y5, %y6
      : tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>,
        tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>
}

// -----

// The second matmul accumulates into the first one's result, so the two
// cannot stand together; the third joins the second.
// CHECK-LABEL: func @chained
// CHECK: %[[A:.*]] = sherry.matmul {{.*}} -> tensor<1x1xf32>
// CHECK: tensor.insert_slice %[[A]] into
// CHECK: %[[B:.*]] = sherry.matmul {{.*}} -> tensor<1x2xf32>
// CHECK-NOT: sherry.matmul
func.func @chained(%x: tensor<1x32xf32>, %i: tensor<1x1xf32>)
    -> (tensor<1x1xf32>, tensor<1x1xf32>) {
  %w = arith.constant dense<[[1, 2, 3, 4, 5]]> : tensor<1x5xi8>
  %s = arith.constant dense<[1.0]> : tensor<1xf32>
  %a = sherry.matmul ins(%x, %w : tensor<1x32xf32>, tensor<1x5xi8>)
         scales(%s : tensor<1xf32>) outs(%i : tensor<1x1xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x1xf32>
  %b = sherry.matmul ins(%x, %w : tensor<1x32xf32>, tensor<1x5xi8>)
         scales(%s : tensor<1xf32>) outs(%a : tensor<1x1xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x1xf32>
  %c = sherry.matmul ins(%x, %w : tensor<1x32xf32>, tensor<1x5xi8>)
         scales(%s : tensor<1xf32>) outs(%i : tensor<1x1xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x1xf32>
  return %b, %c : tensor<1x1xf32>, tensor<1x1xf32>
}
