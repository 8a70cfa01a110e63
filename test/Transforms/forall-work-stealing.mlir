// RUN: sherry-opt %s -sherry-forall-work-stealing -split-input-file -verify-diagnostics | FileCheck %s

// Seven iterations in 3 parts: [0, 2), [2, 4), [4, 7), each range one i64
// (front | (back + 2^30) << 32) in a 64-byte line of a stack buffer at the
// start of the function. The marked table build and the alloc it uses run
// once per part, before the claim loop; the rest of the body runs once per
// claimed iteration.
// CHECK-LABEL: func.func @steal
// CHECK-NEXT: %[[RANGES:.*]] = memref.alloca() {alignment = 64 : i64} : memref<3x8xi64>
// CHECK: %[[R0:.*]] = arith.constant 4611686027017322496 : i64
// CHECK: memref.store %[[R0]], %[[RANGES]]
// CHECK: %[[R1:.*]] = arith.constant 4611686035607257090 : i64
// CHECK: memref.store %[[R1]], %[[RANGES]]
// CHECK: %[[R2:.*]] = arith.constant 4611686048492158980 : i64
// CHECK: memref.store %[[R2]], %[[RANGES]]
// CHECK: scf.forall (%[[PART:.*]]) in (3) {
// CHECK: memref.alloc() : memref<16xf32>
// CHECK-NEXT: %[[TABLE:.*]] = scf.for
// CHECK-NOT: sherry.per_part
// CHECK: scf.while (%[[VICTIM:.*]] = %[[PART]]) : (index) -> (index, i64, i1) {
// CHECK: %[[OWN:.*]] = arith.cmpi eq, %[[VICTIM]], %[[PART]]
// CHECK: %[[DELTA:.*]] = arith.select %[[OWN]], %{{.*}}, %{{.*}} : i64
// CHECK: memref.atomic_rmw addi %[[DELTA]], %[[RANGES]][%[[VICTIM]], %{{.*}}]
// CHECK: arith.cmpi slt
// CHECK: arith.remui
// CHECK: scf.condition
// CHECK: } do {
// CHECK: scf.if
// CHECK-NEXT: %[[I:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK-NEXT: %[[V:.*]] = memref.load %[[TABLE]][%[[I]]]
// CHECK-NEXT: memref.store %[[V]], %{{.*}}[%[[I]]]
// CHECK-NOT: sherry.work_stealing
func.func @steal(%out: memref<7xf32>) {
  scf.forall (%i) in (7) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %table = memref.alloc() : memref<16xf32>
    %t = scf.for %j = %c0 to %c16 step %c1 iter_args(%m = %table) -> (memref<16xf32>) {
      %jj = arith.index_cast %j : index to i32
      %f = arith.sitofp %jj : i32 to f32
      memref.store %f, %m[%j] : memref<16xf32>
      scf.yield %m : memref<16xf32>
    } {sherry.per_part}
    %v = memref.load %t[%i] : memref<16xf32>
    memref.store %v, %out[%i] : memref<7xf32>
  } {sherry.work_stealing = 3 : i64}
  return
}

// -----

// A marked operation that uses the iteration stays in it.
func.func @per_iteration(%out: memref<7xindex>) {
  scf.forall (%i) in (7) {
    // expected-warning @+1 {{sherry-forall-work-stealing: an operation marked 'sherry.per_part' depends on the iteration; it runs per iteration}}
    %j = arith.addi %i, %i {sherry.per_part} : index
    memref.store %j, %out[%i] : memref<7xindex>
  } {sherry.work_stealing = 2 : i64}
  return
}

// -----

// What fills a buffer the marked operation reads moves with it, though the
// marked operation does not use its result: the fill of %buf.
// CHECK-LABEL: func.func @closure
// CHECK: scf.forall (%{{.*}}) in (2) {
// CHECK: %[[BUF:.*]] = memref.alloc() : memref<4xf32>
// CHECK-NEXT: linalg.fill ins(%{{.*}} : f32) outs(%[[BUF]] : memref<4xf32>)
// CHECK: memref.alloc() : memref<4xf32>
// CHECK: scf.for
// CHECK: scf.while
func.func @closure(%out: memref<7xf32>) {
  scf.forall (%i) in (7) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %two = arith.constant 2.0 : f32
    %buf = memref.alloc() : memref<4xf32>
    linalg.fill ins(%two : f32) outs(%buf : memref<4xf32>)
    %table = memref.alloc() : memref<4xf32>
    %t = scf.for %j = %c0 to %c4 step %c1 iter_args(%m = %table) -> (memref<4xf32>) {
      %v = memref.load %buf[%j] : memref<4xf32>
      memref.store %v, %m[%j] : memref<4xf32>
      scf.yield %m : memref<4xf32>
    } {sherry.per_part}
    %c3 = arith.constant 3 : index
    %v = memref.load %t[%c3] : memref<4xf32>
    memref.store %v, %out[%i] : memref<7xf32>
  } {sherry.work_stealing = 2 : i64}
  return
}

// -----

// Reading what each iteration writes, or writing a buffer of the caller, a
// marked operation stays in the iterations.
func.func @reads_iteration_writes(%out: memref<7xf32>, %in: memref<4xf32>) {
  scf.forall (%i) in (7) {
    %c0 = arith.constant 0 : index
    // expected-warning @+1 {{sherry-forall-work-stealing: an operation marked 'sherry.per_part' reads a buffer that each iteration writes; it runs per iteration}}
    %v = memref.load %in[%c0] {sherry.per_part} : memref<4xf32>
    memref.store %v, %out[%i] : memref<7xf32>
    %f = arith.constant 1.0 : f32
    memref.store %f, %in[%c0] : memref<4xf32>
  } {sherry.work_stealing = 2 : i64}
  return
}

func.func @writes_outside(%out: memref<7xf32>) {
  scf.forall (%i) in (7) {
    %c0 = arith.constant 0 : index
    %f = arith.constant 1.0 : f32
    // expected-warning @+1 {{sherry-forall-work-stealing: an operation marked 'sherry.per_part' writes a buffer it does not allocate; it runs per iteration}}
    memref.store %f, %out[%c0] {sherry.per_part} : memref<7xf32>
  } {sherry.work_stealing = 2 : i64}
  return
}

// -----


// -----

func.func @tensors(%t: tensor<7xindex>) -> tensor<7xindex> {
  // expected-error @+1 {{sherry-forall-work-stealing: cannot split this loop into parts: the loop still has shared outputs (run after bufferization)}}
  %r = scf.forall (%i) in (7) shared_outs(%o = %t) -> tensor<7xindex> {
    %s = tensor.from_elements %i : tensor<1xindex>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %s into %o[%i] [1] [1] : tensor<1xindex> into tensor<7xindex>
    }
  } {sherry.work_stealing = 2 : i64}
  return %r : tensor<7xindex>
}

// -----

func.func @two_dims(%out: memref<7x3xindex>) {
  // expected-error @+1 {{sherry-forall-work-stealing: cannot split this loop into parts: the loop has more than one dimension}}
  scf.forall (%i, %j) in (7, 3) {
    memref.store %i, %out[%i, %j] : memref<7x3xindex>
  } {sherry.work_stealing = 2 : i64}
  return
}

// -----

func.func @dynamic(%n: index, %out: memref<?xindex>) {
  // expected-error @+1 {{sherry-forall-work-stealing: cannot split this loop into parts: the loop is not from 0 in steps of 1 to a static bound}}
  scf.forall (%i) in (%n) {
    memref.store %i, %out[%i] : memref<?xindex>
  } {sherry.work_stealing = 2 : i64}
  return
}

// -----

// Unmarked loops stay as they are.
// CHECK-LABEL: func.func @unmarked
// CHECK-NOT: scf.while
// CHECK: scf.forall (%{{.*}}) in (7)
func.func @unmarked(%out: memref<7xindex>) {
  scf.forall (%i) in (7) {
    memref.store %i, %out[%i] : memref<7xindex>
  }
  return
}
