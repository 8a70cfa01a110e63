// RUN: sherry-opt %s -sherry-openmp-nowait | FileCheck %s

// The loop that ends its parallel region leaves the barrier to the join.
// CHECK-LABEL: func.func @last
// CHECK: omp.parallel
// CHECK-NEXT: omp.wsloop nowait
func.func @last(%n: index, %m: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %f, %m[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// Work after the loop in the same region needs the loop's barrier.
// CHECK-LABEL: func.func @not_last
// CHECK: omp.wsloop {
// CHECK: omp.wsloop nowait
func.func @not_last(%n: index, %m: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %f, %m[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %f, %m[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
