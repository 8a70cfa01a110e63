//===- SherryOps.td - sherry dialect operations ------------*- tablegen -*-===//

#ifndef SHERRY_DIALECT_SHERRY_IR_SHERRYOPS_TD
#define SHERRY_DIALECT_SHERRY_IR_SHERRYOPS_TD

include "sherry/Dialect/Sherry/IR/SherryAttrs.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Sherry_ActivationType : AnyTypeOf<[F32, F16, BF16]>;
def Sherry_ScaleType : AnyTypeOf<[F32, F16]>;
def Sherry_RankedTensorOrMemRef : AnyTypeOf<[AnyRankedTensor, AnyMemRef],
    "ranked tensor or memref">;

def Sherry_MatmulOp : Sherry_Op<"matmul", [
    AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>,
    DestinationStyleOpInterface]> {
  let summary = "Matrix multiplication with packed sparse-ternary weights";
  let description = [{
    Computes `init + x * W'^T (+ bias)` where `x` is N x K activations and
    `W'` the M x K dequantized weights held in `weights` (M x B bytes in the
    given `layout`) and `scales`; the result is N x M. As with
    `linalg.matmul`, the product accumulates into `init`.

    `mode` selects the arithmetic:
    - `exact` (default): activations stay floating point; the result equals
      the format library's `matmulExact` within float rounding.
    - `int8`: each activation row is quantized to int8 with a symmetric
      absmax scale, products accumulate in int32 and are scaled once per
      scale region; the result is bit-exact with the format library's
      `matmulInt8`.

    `scales` is present exactly when the layout keeps scales apart from the
    bytes (`sherry`); its shape follows the granularity: `[1]`, `[M]` or
    `[M, K/G]`. `bias`, when present, has shape `[M]`.

    The op works on tensors (one result) or on memrefs (no result). The
    result is `(init + x * W'^T) + bias`, each sum in the result's type, with
    `x * W'^T` computed on its own first (so a zero init changes nothing).
    On constant tensors it folds through the format library.

    Example:

    ```mlir
    %y = sherry.matmul ins(%x, %w : tensor<3x256xf32>, tensor<64x40xi8>)
           scales(%s : tensor<64xf32>) outs(%init : tensor<3x64xf32>)
           layout<sherry, row> mode<int8> -> tensor<3x64xf32>
    ```
  }];

  let arguments = (ins
    Sherry_RankedTensorOrMemRef:$input,
    Sherry_RankedTensorOrMemRef:$weights,
    Optional<Sherry_RankedTensorOrMemRef>:$scales,
    Optional<Sherry_RankedTensorOrMemRef>:$bias,
    Sherry_RankedTensorOrMemRef:$init,
    Sherry_LayoutAttr:$layout,
    DefaultValuedAttr<Sherry_ActivationModeAttr,
                      "::mlir::sherry::ActivationMode::Exact">:$mode
  );
  let results = (outs Variadic<AnyRankedTensor>:$result);

  let assemblyFormat = [{
    `ins` `(` $input `,` $weights `:` type($input) `,` type($weights) `)`
    (`scales` `(` $scales^ `:` type($scales) `)`)?
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    `outs` `(` $init `:` type($init) `)`
    `layout` `` $layout
    (`mode` `` $mode^)?
    attr-dict (`->` type($result)^)?
  }];

  let extraClassDeclaration = [{
    MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }

    /// M, N and K as far as the types say (ShapedType::kDynamic otherwise).
    int64_t getM();
    int64_t getN();
    int64_t getK();

    /// The kernel chosen for this op (`sherry.kernel`), if any.
    std::optional<MatmulKernel> getChosenKernel();
    /// Gives `to` this op's `sherry.kernel`, if it has one (tiling and
    /// sibling fusion make matmuls that keep it).
    void copyChosenKernelTo(Operation *to);
  }];

  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Weight and activation conversion ops. All fold on constant operands through
// the format library, so constant weights are packed at compile time.
//===----------------------------------------------------------------------===//

def Sherry_QuantizeActivationsOp : Sherry_Op<"quantize_activations", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Quantizes float activations to int8 with absmax scales";
  let description = [{
    Quantizes N x K activations symmetrically to int8: for each row (or each
    block of `block` consecutive K elements of a row), `scale = absmax / 127`
    and `q = round_half_even(x * 127 / absmax)` clamped to [-127, 127]; an
    all-zero block gets scale 0. The scales have shape `[N]` per row or
    `[N, K / block]` per block. This is the activation half of the `int8`
    mode of `sherry.matmul`, bit-exact with the format library.

    ```mlir
    %q, %s = sherry.quantize_activations %x
               : tensor<3x256xf32> -> tensor<3x256xi8>, tensor<3xf32>
    %q, %s = sherry.quantize_activations %x block 128
               : tensor<3x256xf32> -> tensor<3x256xi8>, tensor<3x2xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32, F16, BF16]>:$input,
                       DefaultValuedAttr<I64Attr, "0">:$block);
  let results = (outs RankedTensorOf<[I8]>:$values,
                      RankedTensorOf<[F32]>:$scales);
  let assemblyFormat = [{
    $input (`block` $block^)? attr-dict `:` type($input) `->` type($values)
    `,` type($scales)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Sherry_TernarizeOp : Sherry_Op<"ternarize", [Pure]> {
  let summary = "Projects float weights onto the Sherry format";
  let description = [{
    The exact L2 projection of M x K float weights onto 3:4 ternary values
    with scales: in every group of four (as `layout` groups K) the smallest
    |w| becomes 0 and the others sign(w); each scale is the mean |w| of the
    kept weights of its region. `values` are i8 in {-1, 0, 1}; `scales` have
    the layout's scale shape and type (`[M, K/256]` f16 for `stq1_0`).

    ```mlir
    %t, %s = sherry.ternarize %w layout<sherry, row>
               : tensor<64x256xf32> -> tensor<64x256xi8>, tensor<64xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32, F16, BF16]>:$weights,
                       Sherry_LayoutAttr:$layout);
  let results = (outs RankedTensorOf<[I8]>:$values,
                      RankedTensorOf<[F32, F16]>:$scales);
  let assemblyFormat = [{
    $weights `layout` `` $layout attr-dict `:` type($weights) `->`
    type($values) `,` type($scales)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Sherry_PackOp : Sherry_Op<"pack", [Pure]> {
  let summary = "Packs ternary weights into a layout's bytes";
  let description = [{
    Packs M x K ternary values (i8 in {-1, 0, 1}, exactly one zero per group
    of the layout) into M x B bytes. The `stq1_0` layout stores its scales
    inside the bytes and takes them as `scales` (`[M, K/256]` f16); the
    `sherry` layout keeps scales apart and takes none.

    ```mlir
    %p = sherry.pack %t layout<sherry, row> : tensor<64x256xi8> -> tensor<64x40xi8>
    %q = sherry.pack %t scales(%s : tensor<64x1xf16>) layout<stq1_0>
           : tensor<64x256xi8> -> tensor<64x42xi8>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8]>:$values,
                       Optional<RankedTensorOf<[F16]>>:$scales,
                       Sherry_LayoutAttr:$layout);
  let results = (outs RankedTensorOf<[I8]>:$packed);
  let assemblyFormat = [{
    $values (`scales` `(` $scales^ `:` type($scales) `)`)?
    `layout` `` $layout attr-dict `:` type($values) `->` type($packed)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Sherry_UnpackOp : Sherry_Op<"unpack", [Pure]> {
  let summary = "Unpacks a layout's bytes into ternary values";
  let description = [{
    The inverse of `sherry.pack` on the values: M x B bytes to M x K i8 in
    {-1, 0, 1}. K comes from the result type.

    ```mlir
    %t = sherry.unpack %p layout<sherry, row> : tensor<64x40xi8> -> tensor<64x256xi8>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8]>:$packed,
                       Sherry_LayoutAttr:$layout);
  let results = (outs RankedTensorOf<[I8]>:$values);
  let assemblyFormat = [{
    $packed `layout` `` $layout attr-dict `:` type($packed) `->` type($values)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Sherry_DequantizeOp : Sherry_Op<"dequantize", [Pure]> {
  let summary = "Expands packed weights into float weights";
  let description = [{
    Computes the dense M x K weights `W'[m, k] = scale(m, k) * T[m, k]` of
    packed weights, with `scales` as `sherry.matmul` takes them.

    ```mlir
    %w = sherry.dequantize %p scales(%s : tensor<64xf32>) layout<sherry, row>
           : tensor<64x40xi8> -> tensor<64x256xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8]>:$packed,
                       Optional<RankedTensorOf<[F32, F16]>>:$scales,
                       Sherry_LayoutAttr:$layout);
  let results = (outs RankedTensorOf<[F32, F16, BF16]>:$weights);
  let assemblyFormat = [{
    $packed (`scales` `(` $scales^ `:` type($scales) `)`)?
    `layout` `` $layout attr-dict `:` type($packed) `->` type($weights)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Sherry_RepackOp : Sherry_Op<"repack", [Pure]> {
  let summary = "Puts packed weights into another layout of the same grouping";
  let description = [{
    Moves the codes of M x K packed weights between a canonical layout and
    the tables layout of the same grouping (which K elements form a group
    never changes: that would re-pick the zeros training chose):

    - `sherry` to `tables` with grouping `sherry`, and back;
    - `stq1_0` to `tables` with grouping `stq1_0`, and back.

    The canonical side is `tensor<M x B x i8>` and says M and K; the tables
    side is the layout's 1-D bytes. The scales that both keep apart stay
    where they are (the tables layout and `sherry` must agree on them).
    From `stq1_0`, the block scales come out as a second result (`[M,
    K/256]` of the tables layout's scale type, exactly: they are f16);
    into `stq1_0`, they go in as `scales` (`[M, K/256]` f16).

    On constants it folds through the format library, so constant weights
    are repacked at compile time; on run-time operands it lowers to linalg,
    once per call: a model that takes canonical or STQ1_0 bytes repacks them
    in an initialization function and its matmuls read the tables layout.

    ```mlir
    %t = sherry.repack %w from <sherry, row> to <tables, row>
           : tensor<2048x320xi8> -> tensor<1318912xi8>
    %b, %s = sherry.repack %q from <stq1_0>
               to <tables, group = 256, scale_type = f16, grouping = stq1_0>
           : tensor<2048x336xi8> -> tensor<1318912xi8>, tensor<2048x8xf16>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8]>:$packed,
                       Optional<RankedTensorOf<[F16]>>:$scales,
                       Sherry_LayoutAttr:$from,
                       Sherry_LayoutAttr:$to);
  let results = (outs RankedTensorOf<[I8]>:$result,
                      Optional<RankedTensorOf<[F32, F16]>>:$resultScales);
  let assemblyFormat = [{
    $packed (`scales` `(` $scales^ `:` type($scales) `)`)?
    `from` `` $from `to` `` $to attr-dict `:` type($packed) `->`
    type($result) (`,` type($resultScales)^)?
  }];
  let extraClassDeclaration = [{
    /// The canonical side's type (M x bytes per row): the operand or the
    /// result.
    ::mlir::RankedTensorType getCanonicalType();
    /// M and K, as far as the canonical side's type says.
    int64_t getM();
    int64_t getK();
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

#endif // SHERRY_DIALECT_SHERRY_IR_SHERRYOPS_TD
