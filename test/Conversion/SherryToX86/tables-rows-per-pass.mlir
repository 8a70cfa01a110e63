// RUN: sherry-opt %s -convert-sherry-to-x86="isa=avx2 strategy=tables" | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-x86="isa=avx512-bw strategy=tables" | FileCheck %s --check-prefix=BW

// On AVX2 the table kernel computes four activation rows per pass (4 x 4
// accumulators of 16 lanes, 4 x 8 vpshufb per step), which share each
// step's weight reads, nibbles and sign masks (the same ops for every row,
// which CSE merges), each looking them up in its own tables; the rows past
// the last whole pass go one at a time. A static N below 4 goes one row at
// a time. AVX-512BW keeps one row a pass.
// CHECK-LABEL: func @dynamic_rows
// CHECK: %[[REM:.*]] = arith.remui %{{.*}}, %c4
// CHECK: %[[WHOLE:.*]] = arith.subi %{{.*}}, %[[REM]]
// CHECK: scf.for %{{.*}} = %c0 to %[[WHOLE]] step %c4
// CHECK:   scf.for {{.*}} -> (vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>)
// CHECK:     scf.for {{.*}} -> ({{((vector<16xi16>, ){15})}}vector<16xi16>)
// CHECK-COUNT-32: sherry_x86.avx2.vpshufb
// CHECK-NOT: sherry_x86.avx2.vpshufb
// CHECK:       scf.yield {{.*}} : {{((vector<16xi16>, ){15})}}vector<16xi16>
// CHECK: scf.for %{{.*}} = %[[WHOLE]] to %{{.*}} step %c1
// CHECK-LABEL: func @three_rows
// CHECK-NOT: arith.remui
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c1
// BW-LABEL: func @dynamic_rows
// BW-NOT: arith.remui
// BW: scf.for %{{.*}} = %c0 to %{{.*}} step %c1
func.func @dynamic_rows(%x: tensor<?x64xf32>, %w: tensor<704xi8>,
                        %s: tensor<40xf32>, %i: tensor<?x40xf32>)
    -> tensor<?x40xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<?x64xf32>, tensor<704xi8>)
         scales(%s : tensor<40xf32>) outs(%i : tensor<?x40xf32>)
         layout<tables, row, order = lanes, tile_block = 1> mode<int8>
         -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}

func.func @three_rows(%x: tensor<3x64xf32>, %w: tensor<704xi8>,
                      %s: tensor<40xf32>, %i: tensor<3x40xf32>)
    -> tensor<3x40xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x64xf32>, tensor<704xi8>)
         scales(%s : tensor<40xf32>) outs(%i : tensor<3x40xf32>)
         layout<tables, row, order = lanes, tile_block = 1> mode<int8>
         -> tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}
