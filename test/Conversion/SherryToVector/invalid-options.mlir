// RUN: not sherry-opt %s -convert-sherry-to-vector="batch-block=0" 2>&1 | FileCheck %s
// CHECK: error: convert-sherry-to-vector: batch-block must be at least 1, got 0
func.func @f() {
  return
}
