// RUN: sherry-opt %s -sherry-tile="row-tile=16" | FileCheck %s
// RUN: sherry-opt %s -sherry-tile="row-tile=16 batch-tile=2" | FileCheck %s --check-prefix=BOTH
// RUN: not sherry-opt %s -sherry-tile="row-tile=-1" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: for the --row-tile option: '-1' value invalid for uint argument!

// M = 40 in tiles of 16: three iterations, the last one partial.
// CHECK-LABEL: func @rows
// CHECK: scf.forall (%[[I:.*]]) = (0) to (40) step (16) shared_outs(%[[ACC:.*]] = %{{.*}}) -> (tensor<3x40xf32>)
// CHECK:   %[[SZ:.*]] = affine.min
// CHECK:   %[[W:.*]] = tensor.extract_slice %{{.*}}[%[[I]], 0] [%[[SZ]], 40] [1, 1] : tensor<40x40xi8> to tensor<?x40xi8>
// CHECK:   sherry.matmul ins(%{{.*}}, %[[W]] : tensor<3x256xf32>, tensor<?x40xi8>) scales(%{{.*}} : tensor<?xf32>) outs(%{{.*}} : tensor<3x?xf32>) layout<sherry, row> mode<int8> -> tensor<3x?xf32>
// CHECK:   tensor.parallel_insert_slice
// BOTH-LABEL: func @rows
// BOTH: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (3, 40) step (2, 16)
func.func @rows(%x: tensor<3x256xf32>, %w: tensor<40x40xi8>, %s: tensor<40xf32>,
                %init: tensor<3x40xf32>) -> tensor<3x40xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<40x40xi8>)
         scales(%s : tensor<40xf32>) outs(%init : tensor<3x40xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}

// Weights in the tables layout tile by activation rows only: their bytes
// interleave tiles of 32 rows and end with the counts, so no slice of them
// is a range of rows. Without batch-tile they stay whole.
// CHECK-LABEL: func @tables
// CHECK-NOT: scf.forall
// CHECK: sherry.matmul {{.*}} tensor<704xi8>
// CHECK-SAME: outs(%{{.*}} : tensor<3x40xf32>)
// BOTH-LABEL: func @tables
// BOTH: scf.forall (%[[N:.*]]) = (0) to (3) step (2)
// BOTH: tensor.extract_slice %{{.*}}[%[[N]], 0] [%{{.*}}, 64] [1, 1] : tensor<3x64xf32>
// BOTH: sherry.matmul {{.*}} : tensor<?x64xf32>, tensor<704xi8>)
// BOTH-SAME: outs(%{{.*}} : tensor<?x40xf32>)
func.func @tables(%x: tensor<3x64xf32>, %w: tensor<704xi8>, %s: tensor<40xf32>,
                  %i: tensor<3x40xf32>) -> tensor<3x40xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<3x64xf32>, tensor<704xi8>)
         scales(%s : tensor<40xf32>) outs(%i : tensor<3x40xf32>)
         layout<tables, row, tile_block = 1> mode<int8> -> tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}
