// RUN: sherry-opt %s --transform-interpreter -split-input-file -verify-diagnostics | FileCheck %s

// transform.sherry.set_kernel marks every sherry.matmul of its handle with
// the kernel; --sherry-to-llvm then lowers each with it.

// CHECK-LABEL: func.func @two
// CHECK: sherry.matmul {{.*}} {sherry.kernel = #sherry.kernel<linalg>}
// CHECK: sherry.matmul {{.*}} {sherry.kernel = #sherry.kernel<linalg>}
func.func @two(%x: tensor<1x32xf32>, %w: tensor<4x5xi8>, %s: tensor<4xf32>,
               %a: tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<1x4xf32>) {
  %y = sherry.matmul ins(%x, %w : tensor<1x32xf32>, tensor<4x5xi8>)
         scales(%s : tensor<4xf32>) outs(%a : tensor<1x4xf32>)
         layout<sherry, row> -> tensor<1x4xf32>
  %z = sherry.matmul ins(%x, %w : tensor<1x32xf32>, tensor<4x5xi8>)
         scales(%s : tensor<4xf32>) outs(%a : tensor<1x4xf32>)
         layout<sherry, row> {sherry.kernel = #sherry.kernel<tables>}
         -> tensor<1x4xf32>
  return %y, %z : tensor<1x4xf32>, tensor<1x4xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match ops{["sherry.matmul"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.sherry.set_kernel %mm kernel = <linalg> : !transform.any_op
    transform.yield
  }
}

// -----

func.func @not_a_matmul(%a: index) -> index {
  // expected-note @+1 {{this payload op}}
  %b = arith.addi %a, %a : index
  return %b : index
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %add = transform.structured.match ops{["arith.addi"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @+1 {{sets the kernel of sherry.matmul ops, but the handle points to 'arith.addi'}}
    transform.sherry.set_kernel %add kernel = <decode> : !transform.any_op
    transform.yield
  }
}
