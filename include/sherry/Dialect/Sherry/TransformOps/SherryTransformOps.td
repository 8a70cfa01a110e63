//===- SherryTransformOps.td - Transform ops for sherry ----*- tablegen -*-===//

#ifndef SHERRY_DIALECT_SHERRY_TRANSFORMOPS_SHERRYTRANSFORMOPS_TD
#define SHERRY_DIALECT_SHERRY_TRANSFORMOPS_SHERRYTRANSFORMOPS_TD

include "mlir/Dialect/Transform/IR/TransformDialect.td"
include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.td"
include "mlir/Dialect/Transform/IR/TransformTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"
include "sherry/Dialect/Sherry/IR/SherryAttrs.td"

def SetKernelOp
    : Op<Transform_Dialect, "sherry.set_kernel",
         [DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
          TransformOpInterface, TransformEachOpTrait]> {
  let summary = "Chooses the kernel of sherry.matmul ops";
  let cppNamespace = "::mlir::sherry";
  let description = [{
    Sets `sherry.kernel = #sherry.kernel<...>` on every `sherry.matmul` that
    `target` points to: `--sherry-to-llvm` then lowers each of them with that
    kernel (`tables`, `decode`, `portable` or `linalg`), whatever its
    `strategy` and `kernel` options choose for the other matmuls. Tiling
    (`transform.structured.tile_using_forall`, `sherry-tile`) keeps the
    choice on the tiles.

    #### Return modes

    Fails definitely, naming it, on a payload op that is not a
    `sherry.matmul`. The handle is only read; the op has no results.

    ```mlir
    %mm = transform.structured.match ops{["sherry.matmul"]} in %module
      : (!transform.any_op) -> !transform.any_op
    transform.sherry.set_kernel %mm kernel = <decode> : !transform.any_op
    ```
  }];

  let arguments = (ins TransformHandleTypeInterface:$target,
                       Sherry_MatmulKernelAttr:$kernel);
  let results = (outs);
  let assemblyFormat = "$target `kernel` `=` $kernel attr-dict `:` type($target)";

  let extraClassDeclaration = [{
    ::mlir::DiagnosedSilenceableFailure applyToOne(
        ::mlir::transform::TransformRewriter &rewriter,
        ::mlir::Operation *target,
        ::mlir::transform::ApplyToEachResultList &results,
        ::mlir::transform::TransformState &state);
  }];
}

#endif // SHERRY_DIALECT_SHERRY_TRANSFORMOPS_SHERRYTRANSFORMOPS_TD
