// sherry-forall-work-stealing run on OpenMP threads: every iteration runs
// exactly once, whatever the parts and however uneven the iterations (the
// late ones spin longest, so that early parts finish first and steal). The
// per-part buffer is filled once per part and read by each iteration.
// RUN: for p in 1 2 3 5 16; do \
// RUN:   sed "s/PARTS/$p/" %s | sherry-opt -sherry-forall-work-stealing \
// RUN:     -scf-forall-to-parallel -convert-scf-to-openmp=num-threads=$p \
// RUN:     -lower-affine -finalize-memref-to-llvm -convert-scf-to-cf \
// RUN:     -convert-to-llvm -reconcile-unrealized-casts \
// RUN:   | mlir-runner -e main -entry-point-result=void %runner_libs; \
// RUN: done | FileCheck %s

// CHECK-COUNT-5: runs 1001 once 1001 sum 8683382139507534729

func.func private @printI64(i64)
func.func private @printString(!llvm.ptr)
func.func private @printNewline()

llvm.mlir.global internal constant @runs("runs \00")
llvm.mlir.global internal constant @once(" once \00")
llvm.mlir.global internal constant @sum(" sum \00")

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1001 : index
  %zero = arith.constant 0 : i64
  %one = arith.constant 1 : i64
  %counts = memref.alloc() : memref<1001xi64>
  %values = memref.alloc() : memref<1001xi64>
  scf.for %i = %c0 to %n step %c1 {
    memref.store %zero, %counts[%i] : memref<1001xi64>
  }
  scf.forall (%i) in (1001) {
    %c0i = arith.constant 0 : index
    %c1i = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %ones = memref.alloc() : memref<8xi64>
    %filled = scf.for %j = %c0i to %c8 step %c1i iter_args(%m = %ones) -> (memref<8xi64>) {
      %o = arith.constant 1 : i64
      memref.store %o, %m[%j] : memref<8xi64>
      scf.yield %m : memref<8xi64>
    } {sherry.per_part}
    %c3 = arith.constant 3 : index
    %inc = memref.load %filled[%c3] : memref<8xi64>
    %old = memref.atomic_rmw addi %inc, %counts[%i] : (i64, memref<1001xi64>) -> i64
    // Work that grows with i.
    %spins = arith.muli %i, %c8 : index
    %mul = arith.constant 6364136223846793005 : i64
    %add = arith.constant 1442695040888963407 : i64
    %acc = scf.for %s = %c0i to %spins step %c1i iter_args(%a = %inc) -> (i64) {
      %x = arith.muli %a, %mul : i64
      %y = arith.addi %x, %add : i64
      scf.yield %y : i64
    }
    memref.store %acc, %values[%i] : memref<1001xi64>
  } {sherry.work_stealing = PARTS : i64}
  %runs, %once, %sum = scf.for %i = %c0 to %n step %c1
      iter_args(%r = %zero, %o = %zero, %s = %zero) -> (i64, i64, i64) {
    %c = memref.load %counts[%i] : memref<1001xi64>
    %r1 = arith.addi %r, %c : i64
    %is1 = arith.cmpi eq, %c, %one : i64
    %e = arith.extui %is1 : i1 to i64
    %o1 = arith.addi %o, %e : i64
    %v = memref.load %values[%i] : memref<1001xi64>
    %s1 = arith.addi %s, %v : i64
    scf.yield %r1, %o1, %s1 : i64, i64, i64
  }
  %p0 = llvm.mlir.addressof @runs : !llvm.ptr
  func.call @printString(%p0) : (!llvm.ptr) -> ()
  func.call @printI64(%runs) : (i64) -> ()
  %p1 = llvm.mlir.addressof @once : !llvm.ptr
  func.call @printString(%p1) : (!llvm.ptr) -> ()
  func.call @printI64(%once) : (i64) -> ()
  %p2 = llvm.mlir.addressof @sum : !llvm.ptr
  func.call @printString(%p2) : (!llvm.ptr) -> ()
  func.call @printI64(%sum) : (i64) -> ()
  func.call @printNewline() : () -> ()
  memref.dealloc %counts : memref<1001xi64>
  memref.dealloc %values : memref<1001xi64>
  return
}
