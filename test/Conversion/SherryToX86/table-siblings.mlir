// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-parts=2 table-part-weights=0" | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-parts=2 table-part-weights=0 table-siblings=false" | FileCheck %s --check-prefix=ALONE
// RUN: sherry-opt %s -convert-sherry-to-neon="strategy=tables table-parts=2 table-part-weights=0" | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-parts=2" | FileCheck %s --check-prefix=SMALL
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-parts=2 table-part-weights=0 tile-block=1" | FileCheck %s --check-prefix=ORDER
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-parts=2 table-part-weights=0 table-work-stealing=true" | FileCheck %s --check-prefix=STEAL

// Siblings (the same activations, layout and mode, constant weights) as
// one table kernel: one quantization, one scf.forall over 2 parts with
// every member's init as a shared output, tables built once per part, each
// member's tiles clamped to the part's share of the blocks (in member
// order) and written into its own result: no concatenation, no copy.
// CHECK-LABEL: func @qkv
// CHECK-COUNT-1: sherry.quantize_activations
// CHECK-NOT: sherry.quantize_activations
// CHECK: %[[R:.*]]:3 = scf.forall (%{{.*}}) in (2) shared_outs(%{{.*}} = %arg2, %{{.*}} = %arg3, %{{.*}} = %arg4) -> (tensor<1x64xf32>, tensor<1x32xf32>, tensor<1x40xf32>)
// CHECK:   bufferization.alloc_tensor
// CHECK-NOT: bufferization.alloc_tensor
// CHECK:   scf.forall.in_parallel
// CHECK-COUNT-3: tensor.parallel_insert_slice
// CHECK-NOT: tensor.concat
// CHECK: return %[[R]]#0, %[[R]]#1, %[[R]]#2

// With work stealing: one iteration per unit (each member is short of a
// block, so one unit each), the table build marked to run once per part
// and the forall marked with the 2 parts for sherry-forall-work-stealing.
// STEAL-LABEL: func @qkv
// STEAL: scf.forall (%{{.*}}) in (3) shared_outs(%{{.*}} = %arg2, %{{.*}} = %arg3, %{{.*}} = %arg4)
// STEAL-NEXT: arith.addi
// STEAL-NEXT: bufferization.alloc_tensor
// STEAL: } {sherry.per_part}
// STEAL-COUNT-3: tensor.parallel_insert_slice
// STEAL: } {sherry.work_stealing = 2 : i64}

// Each alone: a forall (or the calling thread) per matmul.
// ALONE-LABEL: func @qkv
// ALONE-COUNT-3: sherry.quantize_activations
// ALONE-NOT: shared_outs({{.*}}, {{.*}})

// Too few weights for two parts together: each goes alone, in order.
// SMALL-LABEL: func @qkv
// SMALL-COUNT-3: sherry.quantize_activations
// SMALL-NOT: scf.forall

func.func @qkv(%x: tensor<1x256xf32>, %s: tensor<64xf32>,
               %i0: tensor<1x64xf32>, %i1: tensor<1x32xf32>,
               %i2: tensor<1x40xf32>)
    -> (tensor<1x64xf32>, tensor<1x32xf32>, tensor<1x40xf32>) {
  %w0 = arith.constant dense<1> : tensor<64x40xi8>
  %w1 = arith.constant dense<2> : tensor<32x40xi8>
  %w2 = arith.constant dense<3> : tensor<40x40xi8>
  %s1 = tensor.extract_slice %s[0] [32] [1] : tensor<64xf32> to tensor<32xf32>
  %s2 = tensor.extract_slice %s[0] [40] [1] : tensor<64xf32> to tensor<40xf32>
  %y0 = sherry.matmul ins(%x, %w0 : tensor<1x256xf32>, tensor<64x40xi8>)
        scales(%s : tensor<64xf32>) outs(%i0 : tensor<1x64xf32>)
        layout<sherry, row> mode<int8> -> tensor<1x64xf32>
  %y1 = sherry.matmul ins(%x, %w1 : tensor<1x256xf32>, tensor<32x40xi8>)
        scales(%s1 : tensor<32xf32>) outs(%i1 : tensor<1x32xf32>)
        layout<sherry, row> mode<int8> -> tensor<1x32xf32>
  %y2 = sherry.matmul ins(%x, %w2 : tensor<1x256xf32>, tensor<40x40xi8>)
        scales(%s2 : tensor<40xf32>) outs(%i2 : tensor<1x40xf32>)
        layout<sherry, row> mode<int8> -> tensor<1x40xf32>
  return %y0, %y1, %y2 : tensor<1x64xf32>, tensor<1x32xf32>, tensor<1x40xf32>
}

// The blocks go to the parts in the order that makes the costliest part
// cheapest, a member's first block in a part costing extra (its loop nest
// and weight stream start cold): 4 + 1 + 1 tiles in member order would give
// one part 3 tiles of one member and the other 3 tiles of three; k's tile
// first gives each part 3 tiles of two. Each result is still its own.
// ORDER-LABEL: func @big_first
// ORDER: %[[R:.*]]:3 = scf.forall (%{{.*}}) in (2) shared_outs(%{{.*}} = %arg3, %{{.*}} = %arg2, %{{.*}} = %arg4) -> (tensor<1x32xf32>, tensor<1x128xf32>, tensor<1x32xf32>)
// ORDER: return %[[R]]#1, %[[R]]#0, %[[R]]#2
func.func @big_first(%x: tensor<1x256xf32>, %s: tensor<128xf32>,
                     %i0: tensor<1x128xf32>, %i1: tensor<1x32xf32>,
                     %i2: tensor<1x32xf32>)
    -> (tensor<1x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>) {
  %w0 = arith.constant dense<1> : tensor<128x40xi8>
  %w1 = arith.constant dense<2> : tensor<32x40xi8>
  %w2 = arith.constant dense<3> : tensor<32x40xi8>
  %s1 = tensor.extract_slice %s[0] [32] [1] : tensor<128xf32> to tensor<32xf32>
  %y0 = sherry.matmul ins(%x, %w0 : tensor<1x256xf32>, tensor<128x40xi8>)
        scales(%s : tensor<128xf32>) outs(%i0 : tensor<1x128xf32>)
        layout<sherry, row> mode<int8> -> tensor<1x128xf32>
  %y1 = sherry.matmul ins(%x, %w1 : tensor<1x256xf32>, tensor<32x40xi8>)
        scales(%s1 : tensor<32xf32>) outs(%i1 : tensor<1x32xf32>)
        layout<sherry, row> mode<int8> -> tensor<1x32xf32>
  %y2 = sherry.matmul ins(%x, %w2 : tensor<1x256xf32>, tensor<32x40xi8>)
        scales(%s1 : tensor<32xf32>) outs(%i2 : tensor<1x32xf32>)
        layout<sherry, row> mode<int8> -> tensor<1x32xf32>
  return %y0, %y1, %y2 : tensor<1x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>
}
