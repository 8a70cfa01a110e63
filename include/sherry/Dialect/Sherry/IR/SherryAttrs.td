//===- SherryAttrs.td - sherry dialect attributes ----------*- tablegen -*-===//

#ifndef SHERRY_DIALECT_SHERRY_IR_SHERRYATTRS_TD
#define SHERRY_DIALECT_SHERRY_IR_SHERRYATTRS_TD

include "sherry/Dialect/Sherry/IR/SherryBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def Sherry_PackedFormat : I32EnumAttr<"PackedFormat",
    "physical layout of packed Sherry weights", [
      I32EnumAttrCase<"Sherry", 0, "sherry">,
      I32EnumAttrCase<"Stq1_0", 1, "stq1_0">,
      I32EnumAttrCase<"Tables", 2, "tables">
    ]> {
  let cppNamespace = "::mlir::sherry";
  let genSpecializedAttr = 0;
}

def Sherry_TableOrder : I32EnumAttr<"TableOrder",
    "code order of the tables layout, for the table kernels' lookups", [
      I32EnumAttrCase<"Pairs", 0, "pairs">,
      I32EnumAttrCase<"Lanes", 1, "lanes">,
      I32EnumAttrCase<"Words", 2, "words">
    ]> {
  let cppNamespace = "::mlir::sherry";
  let genSpecializedAttr = 0;
}

def Sherry_ScaleGranularity : I32EnumAttr<"ScaleGranularity",
    "where the scales of packed Sherry weights live", [
      I32EnumAttrCase<"Tensor", 0, "tensor">,
      I32EnumAttrCase<"Row", 1, "row">,
      I32EnumAttrCase<"Group", 2, "group">
    ]> {
  let cppNamespace = "::mlir::sherry";
  let genSpecializedAttr = 0;
}

def Sherry_ActivationMode : I32EnumAttr<"ActivationMode",
    "how a sherry matmul treats its activations", [
      I32EnumAttrCase<"Exact", 0, "exact">,
      I32EnumAttrCase<"Int8", 1, "int8">
    ]> {
  let cppNamespace = "::mlir::sherry";
  let genSpecializedAttr = 0;
}

def Sherry_ActivationModeAttr
    : EnumAttr<Sherry_Dialect, Sherry_ActivationMode, "mode"> {
  let assemblyFormat = "`<` $value `>`";
}

def Sherry_MatmulKernel : I32EnumAttr<"MatmulKernel",
    "the kernel a sherry.matmul is lowered to", [
      I32EnumAttrCase<"Tables", 0, "tables">,
      I32EnumAttrCase<"Decode", 1, "decode">,
      I32EnumAttrCase<"Portable", 2, "portable">,
      I32EnumAttrCase<"Linalg", 3, "linalg">
    ]> {
  let cppNamespace = "::mlir::sherry";
  let genSpecializedAttr = 0;
}

def Sherry_MatmulKernelAttr
    : EnumAttr<Sherry_Dialect, Sherry_MatmulKernel, "kernel"> {
  let summary = "The kernel chosen for one sherry.matmul";
  let description = [{
    Set on a `sherry.matmul` as `sherry.kernel` (by hand or with
    `transform.sherry.set_kernel`), it overrides the pipeline's `strategy`
    and `kernel` options for that op:

    - `tables`: the target's activation-table kernel;
    - `decode`: the target's decode kernel;
    - `portable`: the portable vector micro-kernel;
    - `linalg`: the linalg reference lowering.

    Where the target has no such kernel, or the kernel cannot take the op
    (exact mode on the table kernel, a K it does not tile), the op gets the
    portable kernel and a warning that says so. Tiling and sibling fusion
    keep the attribute; siblings with different kernels are not fused.
  }];
  let assemblyFormat = "`<` $value `>`";
}

def Sherry_LayoutAttr : Sherry_Attr<"Layout", "layout"> {
  let summary = "Physical layout and scale granularity of packed weights";
  let description = [{
    Describes how an M x K ternary weight matrix is stored as `i8` bytes
    plus its scales.

    - `sherry`: the canonical layout, an M x B tensor (B bytes per output
      row). Group g of a row is K elements 4g..4g+3; a row holds K/8 bytes
      of 4-bit slots then K/32 bytes of sign bits, so B = 5K/32 and K must
      be a multiple of 32. Scales are a separate tensor: `[1]` (`tensor`),
      `[M]` (`row`) or `[M, K/G]` (`group = G`), of `scale_type` (f32 by
      default, or f16).
    - `stq1_0`: llama.cpp's STQ1_0 blocks of 256 elements, 42 bytes each
      with an f16 scale inside, an M x B tensor with B = 42K/256; K must be
      a multiple of 256. It has no separate scales.
    - `tables`: the codes in the order the activation-table kernels read
      them (docs/format.md, section 3.3), a 1-D tensor of all the bytes:
      tiles of 32 rows, steps of 16 K elements, `order` (`lanes` for
      vpshufb and tbl, the default; `pairs` for vpermb; `words` for vpermw)
      with `tile_block` tiles interleaved (default 4), then for `lanes`
      each row's count of negative groups per scale region. `grouping`
      (`sherry`, the default, or `stq1_0`) says which K elements form a
      group. Scales are separate, as for `sherry`. Weights loaded at run
      time take it through `sherry.repack`, so that the table kernels read
      them as they read constant weights.

    Examples:

    ```mlir
    #sherry.layout<sherry, row>
    #sherry.layout<sherry, group = 128, scale_type = f16>
    #sherry.layout<stq1_0>
    #sherry.layout<tables, row>
    #sherry.layout<tables, group = 256, scale_type = f16, grouping = stq1_0,
                   order = words, tile_block = 8>
    ```
  }];
  let parameters = (ins
    "PackedFormat":$format,
    "ScaleGranularity":$granularity,
    "int64_t":$groupSize,
    "Type":$scaleType,
    "PackedFormat":$grouping,
    "TableOrder":$tableOrder,
    "int64_t":$tileBlock
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "PackedFormat":$format, "ScaleGranularity":$granularity,
                     CArg<"int64_t", "0">:$groupSize), [{
      Type f = format == PackedFormat::Stq1_0
                   ? Type(Float16Type::get($_ctxt))
                   : Type(Float32Type::get($_ctxt));
      if (format == PackedFormat::Stq1_0) {
        granularity = ScaleGranularity::Group;
        groupSize = 256;
      }
      return $_get($_ctxt, format, granularity, groupSize, f,
                   defaultGrouping(format), TableOrder::Lanes,
                   defaultTileBlock(format));
    }]>,
    AttrBuilder<(ins "PackedFormat":$format, "ScaleGranularity":$granularity,
                     "int64_t":$groupSize, "Type":$scaleType), [{
      return $_get($_ctxt, format, granularity, groupSize, scaleType,
                   defaultGrouping(format), TableOrder::Lanes,
                   defaultTileBlock(format));
    }]>
  ];
  let extraClassDeclaration = [{
    /// The grouping of a layout without table parameters: itself (the
    /// `grouping` parameter holds it), sherry for tables.
    static PackedFormat defaultGrouping(PackedFormat format) {
      return format == PackedFormat::Stq1_0 ? PackedFormat::Stq1_0
                                            : PackedFormat::Sherry;
    }
    /// The tile block of a layout without table parameters: 0, or the
    /// tables layout's default, 4.
    static int64_t defaultTileBlock(PackedFormat format) {
      return format == PackedFormat::Tables ? 4 : 0;
    }
    /// True when the scales are a tensor of their own (not inside the bytes).
    bool hasSeparateScales() const {
      return getFormat() != PackedFormat::Stq1_0;
    }
    /// True for the tables layout.
    bool isTables() const { return getFormat() == PackedFormat::Tables; }
    /// Which K elements form a group (sherry or stq1_0): what the
    /// activations are regrouped for.
    bool hasStq1_0Grouping() const {
      return getGrouping() == PackedFormat::Stq1_0;
    }
    /// The K multiple the layout needs (32 or 256; for tables also 64 with
    /// the words order).
    int64_t getRequiredKMultiple() const;
    /// Bytes per output row for a given K (K must be valid); sherry and
    /// stq1_0 only.
    int64_t getRowBytes(int64_t k) const;
    /// The bytes of M x K weights in this layout (static M and K): rows of
    /// bytes, or the tables layout's codes and counts.
    int64_t getWeightBytes(int64_t m, int64_t k) const;
    /// K elements of a row that share one scale: the group size (256 for
    /// stq1_0's blocks), or all of K with tensor or row granularity.
    int64_t getScaleRegionLength(int64_t k) const {
      return getGranularity() == ScaleGranularity::Group ? getGroupSize() : k;
    }
    /// Shape of the separate scales tensor for M x K weights; a dynamic M
    /// gives a dynamic dimension.
    ::llvm::SmallVector<int64_t> getScalesShape(int64_t m, int64_t k) const;
    /// Checks that K suits the layout; the error names K and the layout.
    ::llvm::LogicalResult
    verifyReductionSize(::llvm::function_ref<::mlir::InFlightDiagnostic()>
                            emitError,
                        int64_t k) const;
  }];
}

#endif // SHERRY_DIALECT_SHERRY_IR_SHERRYATTRS_TD
