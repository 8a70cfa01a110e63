// The transform script of transform-script.mlir: sparsify the payload
// with the registered pass, choose the decode kernel for every
// sherry.matmul it made, then tile them 4 x 16 on an scf.forall.
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.consumed}) {
    %sparse = transform.apply_registered_pass "sherry-sparsify" with options = {"mode" = "int8"} to %root : (!transform.any_op) -> !transform.any_op
    %mm = transform.structured.match ops{["sherry.matmul"]} in %sparse : (!transform.any_op) -> !transform.any_op
    transform.sherry.set_kernel %mm kernel = <decode> : !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %mm tile_sizes [4, 16] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
