// RUN: sherry-opt %s -sherry-outline-kernel-loops | FileCheck %s
// RUN: sherry-opt %s -sherry-outline-kernel-loops="link-once=false" | FileCheck %s --check-prefix=INTERNAL
// RUN: sherry-opt %s -sherry-outline-kernel-loops > %t.default
// RUN: sherry-opt %s -sherry-outline-kernel-loops="key=avx2" > %t.key
// RUN: cat %t.default %t.key | FileCheck %s --check-prefix=KEY

// Two marked loops that differ only in their buffers' shapes and layouts
// call one function: memrefs generalized (dynamic sizes, strides and
// offset, the unit innermost stride kept), constants cloned in, the trip
// count an argument even where it is a constant, named from a hash of the
// body and linked once. The pass-through iter_arg's uses see the init.
// CHECK-LABEL: func.func @two_shapes
// CHECK-SAME: (%[[W0:.*]]: memref<64xi8>, %[[Y0:.*]]: memref<1x32xf32>, %[[W1:.*]]: memref<128xi8>, %[[Y1:.*]]: memref<4x16xf32, strided<[32, 1], offset: 8>>, %[[N:.*]]: index)
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[CY0:.*]] = memref.cast %[[Y0]] : memref<1x32xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK: %[[CW0:.*]] = memref.cast %[[W0]] : memref<64xi8> to memref<?xi8, strided<[1], offset: ?>>
// CHECK: call @[[F:__sherry_kernel_loop_[0-9a-f]{16}]](%[[C1]], %[[CY0]], %[[CW0]])
// CHECK: %[[CY1:.*]] = memref.cast %[[Y1]] : memref<4x16xf32, strided<[32, 1], offset: 8>> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK: %[[CW1:.*]] = memref.cast %[[W1]] : memref<128xi8> to memref<?xi8, strided<[1], offset: ?>>
// CHECK: call @[[F]](%[[N]], %[[CY1]], %[[CW1]])
// CHECK-NOT: scf.for
// CHECK: return %[[Y0]], %[[Y1]]
// CHECK: func.func private @[[F]](%[[UB:.*]]: index, %[[Y:.*]]: memref<?x?xf32, strided<[?, 1], offset: ?>>, %[[W:.*]]: memref<?xi8, strided<[1], offset: ?>>)
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<linkonce_odr>}
// CHECK-DAG: arith.constant 0 : index
// CHECK-DAG: arith.constant 1 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[UB]] step %{{.*}} iter_args(%{{.*}} = %[[Y]]) -> (memref<?x?xf32, strided<[?, 1], offset: ?>>)
// CHECK-NOT: sherry.outline
// CHECK: return
// CHECK-NOT: func.func private

// INTERNAL: func.func private @__sherry_kernel_loop_{{[0-9a-f]+}}({{.*}}) attributes {llvm.linkage = #llvm.linkage<internal>}
// INTERNAL-NOT: func.func private

// The key changes the name.
// KEY: func.func private @[[A:__sherry_kernel_loop_[0-9a-f]{16}]]
// KEY-NOT: @[[A]]
// KEY: func.func private @__sherry_kernel_loop_{{[0-9a-f]+}}

func.func @two_shapes(%w0: memref<64xi8>, %y0: memref<1x32xf32>,
                      %w1: memref<128xi8>,
                      %y1: memref<4x16xf32, strided<[32, 1], offset: 8>>,
                      %n: index)
    -> (memref<1x32xf32>, memref<4x16xf32, strided<[32, 1], offset: 8>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %pad = arith.constant 0 : i8
  %r0 = scf.for %i = %c0 to %c1 step %c1 iter_args(%y = %y0)
      -> (memref<1x32xf32>) {
    %v = vector.transfer_read %w0[%c0], %pad {in_bounds = [true]}
        : memref<64xi8>, vector<16xi8>
    %f = arith.sitofp %v : vector<16xi8> to vector<16xf32>
    vector.transfer_write %f, %y[%i, %c0] {in_bounds = [true]}
        : vector<16xf32>, memref<1x32xf32>
    scf.yield %y : memref<1x32xf32>
  } {sherry.outline}
  %r1 = scf.for %i = %c0 to %n step %c1 iter_args(%y = %y1)
      -> (memref<4x16xf32, strided<[32, 1], offset: 8>>) {
    %v = vector.transfer_read %w1[%c0], %pad {in_bounds = [true]}
        : memref<128xi8>, vector<16xi8>
    %f = arith.sitofp %v : vector<16xi8> to vector<16xf32>
    vector.transfer_write %f, %y[%i, %c0] {in_bounds = [true]}
        : vector<16xf32>, memref<4x16xf32, strided<[32, 1], offset: 8>>
    scf.yield %y : memref<4x16xf32, strided<[32, 1], offset: 8>>
  } {sherry.outline}
  return %r0, %r1
      : memref<1x32xf32>, memref<4x16xf32, strided<[32, 1], offset: 8>>
}

// What cannot be outlined stays inline, unmarked: a loop on tensors, one
// whose iter_arg is not passed through, and an unmarked loop.
// CHECK-LABEL: func.func @stays
// CHECK-NOT: call
// CHECK: scf.for
// CHECK-NOT: sherry.outline
// CHECK: scf.for
// CHECK-NOT: sherry.outline
// CHECK: scf.for
// CHECK-NOT: sherry.outline
// CHECK-NOT: call
// CHECK: return
func.func @stays(%t: tensor<16xf32>, %m: memref<16xf32>, %a: memref<16xf32>,
                 %n: index) -> (tensor<16xf32>, memref<16xf32>, memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant dense<0.0> : vector<16xf32>
  %r0 = scf.for %i = %c0 to %n step %c1 iter_args(%y = %t) -> (tensor<16xf32>) {
    %w = vector.transfer_write %zero, %y[%c0] {in_bounds = [true]}
        : vector<16xf32>, tensor<16xf32>
    scf.yield %w : tensor<16xf32>
  } {sherry.outline}
  %r1 = scf.for %i = %c0 to %n step %c1 iter_args(%y = %m) -> (memref<16xf32>) {
    scf.yield %a : memref<16xf32>
  } {sherry.outline}
  %r2 = scf.for %i = %c0 to %n step %c1 iter_args(%y = %a) -> (memref<16xf32>) {
    vector.transfer_write %zero, %y[%c0] {in_bounds = [true]}
        : vector<16xf32>, memref<16xf32>
    scf.yield %y : memref<16xf32>
  }
  return %r0, %r1, %r2 : tensor<16xf32>, memref<16xf32>, memref<16xf32>
}
