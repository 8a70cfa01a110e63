// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables" | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-neon="strategy=tables" | FileCheck %s

// Where M is a multiple of 32 every tile's 32 rows exist: the scales, the
// accumulator and the result are read and written whole, without the mask
// that AArch64 turns into a load or store per lane. Elsewhere the last
// tile's rows past M are masked off.
// CHECK-LABEL: func @whole
// CHECK: vector.transfer_read %{{[^[]*}}[{{[^]]*}}], %{{[^ ]*}} {in_bounds = [true]} : tensor<64xf32>, vector<32xf32>
// CHECK: vector.transfer_read %{{[^[]*}}[{{[^]]*}}], %{{[^ ]*}} {in_bounds = [true]} : tensor<?x?xf32>, vector<32xf32>
// CHECK: vector.transfer_write %{{[^ ]*}}, %{{[^[]*}}[{{[^]]*}}] {in_bounds = [true]} : vector<32xf32>, tensor<?x?xf32>
func.func @whole(%x: tensor<1x256xf32>, %s: tensor<64xf32>,
                 %i: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %w = arith.constant dense<1> : tensor<64x40xi8>
  %y = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<64x40xi8>)
       scales(%s : tensor<64xf32>) outs(%i : tensor<1x64xf32>)
       layout<sherry, row> mode<int8> -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// CHECK-LABEL: func @partial
// CHECK: vector.transfer_read %{{[^[]*}}[{{[^]]*}}], %{{[^ ]*}} : tensor<40xf32>, vector<32xf32>
// CHECK: vector.transfer_read %{{[^[]*}}[{{[^]]*}}], %{{[^ ]*}} : tensor<?x?xf32>, vector<32xf32>
// CHECK: vector.transfer_write %{{[^ ]*}}, %{{[^[]*}}[{{[^]]*}}] : vector<32xf32>, tensor<?x?xf32>
func.func @partial(%x: tensor<1x256xf32>, %s: tensor<40xf32>,
                   %i: tensor<1x40xf32>) -> tensor<1x40xf32> {
  %w = arith.constant dense<1> : tensor<40x40xi8>
  %y = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<40x40xi8>)
       scales(%s : tensor<40xf32>) outs(%i : tensor<1x40xf32>)
       layout<sherry, row> mode<int8> -> tensor<1x40xf32>
  return %y : tensor<1x40xf32>
}
