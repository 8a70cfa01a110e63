//===- Passes.td - sherry dialect passes -------------------*- tablegen -*-===//

#ifndef SHERRY_DIALECT_SHERRY_TRANSFORMS_PASSES_TD
#define SHERRY_DIALECT_SHERRY_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SherrySparsify : Pass<"sherry-sparsify", "ModuleOp"> {
  let summary = "Bring linalg matmuls with constant weights into the sherry "
                "dialect";
  let description = [{
    The front door for models. Rewrites each `linalg.matmul`,
    `linalg.matvec` and `linalg.batch_matmul` whose weight operand is a
    dense constant into
    `sherry.matmul` on weights ternarized and packed at compile time (through
    the format library, so the bytes equal what `sherry-pack` writes).

    Weight forms recognized, with W the M x K weight matrix as
    `torch.nn.Linear` stores it:
    - `linalg.matmul ins(%x, %b)` with a constant `%b` of shape K x M
      (W = b^T, the plain linalg form);
    - `linalg.matmul ins(%x, %t)` where `%t = linalg.transpose ins(%w)
      permutation = [1, 0]` of a constant M x K `%w` (what torch-mlir emits
      for `nn.Linear`);
    - `linalg.matmul` with transpose-B indexing maps on a constant M x K;
    - `linalg.matvec ins(%w, %x)` with a constant M x K `%w`;
    - `linalg.batch_matmul ins(%x, %b)` with a constant B x K x M `%b`: one
      packed matmul per batch on slices of `%x` and the accumulator.

    Weights can also arrive as function arguments marked with the unit
    attribute `sherry.weights` (a static 2-D float tensor in any of the forms
    above). Such an argument is replaced by the packed bytes, an M x B `i8`
    tensor with the attribute `sherry.packed = #sherry.layout<...>`, followed,
    when the layout keeps them apart, by the scales with the attribute
    `sherry.scales = #sherry.layout<...>`; callers pass what `sherry-pack`
    writes (the data and scale sections of a `.sherry` file). With
    `argument-layout=tables` the packed bytes of such an argument are the
    tables layout of that layout instead (docs/format.md, section 3.3: a 1-D
    `i8` tensor, `table-order` and `tile-block` its parameters), which the
    activation-table kernels read at run time as fast as constants:
    `sherry-pack convert --layout=tables` writes them. A marked
    argument that cannot be rewritten (another use, K not allowed by the
    layout, a caller in the module) is an error, not a remark.

    Layers it leaves dense get a remark that says why (weights not constant,
    below `min-weights`, K not allowed by the layout, unsupported indexing
    maps or element types).
  }];
  let options = [
    Option<"layout", "layout", "::mlir::sherry::PackedFormat",
           "::mlir::sherry::PackedFormat::Sherry",
           "Packed layout of the weights",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::PackedFormat::Sherry, "sherry",
                        "canonical layout, K % 32 == 0, separate scales"),
             clEnumValN(::mlir::sherry::PackedFormat::Stq1_0, "stq1_0",
                        "llama.cpp STQ1_0 blocks, K % 256 == 0"))}]>,
    Option<"granularity", "granularity", "::mlir::sherry::ScaleGranularity",
           "::mlir::sherry::ScaleGranularity::Row",
           "Scale granularity (sherry layout; stq1_0 has one per block)",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::ScaleGranularity::Tensor, "tensor",
                        "one scale per weight matrix"),
             clEnumValN(::mlir::sherry::ScaleGranularity::Row, "row",
                        "one scale per output row"),
             clEnumValN(::mlir::sherry::ScaleGranularity::Group, "group",
                        "one scale per group-size K elements of a row"))}]>,
    Option<"groupSize", "group-size", "unsigned", "128",
           "K elements per scale with granularity=group">,
    Option<"mode", "mode", "::mlir::sherry::ActivationMode",
           "::mlir::sherry::ActivationMode::Exact",
           "Activation arithmetic of the generated matmuls",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::ActivationMode::Exact, "exact",
                        "float activations"),
             clEnumValN(::mlir::sherry::ActivationMode::Int8, "int8",
                        "int8 activations, int32 accumulation"))}]>,
    Option<"minWeights", "min-weights", "uint64_t", "0",
           "Layers with fewer weights than this stay dense">,
    Option<"argumentLayout", "argument-layout",
           "::mlir::sherry::ArgumentLayout",
           "::mlir::sherry::ArgumentLayout::Packed",
           "How arguments marked sherry.weights are passed",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::ArgumentLayout::Packed, "packed",
                        "in the packed layout itself (what sherry-pack "
                        "pack writes)"),
             clEnumValN(::mlir::sherry::ArgumentLayout::Tables, "tables",
                        "in its tables layout, for the table kernels "
                        "(sherry-pack convert --layout=tables)"))}]>,
    Option<"tableOrder", "table-order", "::mlir::sherry::TableOrder",
           "::mlir::sherry::TableOrder::Lanes",
           "argument-layout=tables: the code order (docs/pipelines.md has "
           "each target's)",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::TableOrder::Lanes, "lanes",
                        "vpshufb and tbl: AVX2, AVX-512BW, NEON"),
             clEnumValN(::mlir::sherry::TableOrder::Pairs, "pairs",
                        "vpermb: AVX-512 VBMI"),
             clEnumValN(::mlir::sherry::TableOrder::Words, "words",
                        "vpermw: AVX-512, K a multiple of 64"))}]>,
    Option<"tileBlock", "tile-block", "unsigned", "2",
           "argument-layout=tables: tiles of 32 rows interleaved step by "
           "step (1..64)">
  ];
  let dependentDialects = [
    "::mlir::sherry::SherryDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SherryTile : Pass<"sherry-tile"> {
  let summary = "Tile sherry.matmul over output rows with scf.forall";
  let description = [{
    Splits every `sherry.matmul` into an `scf.forall` over tiles of
    `row-tile` output features (whole rows of packed bytes with their
    scales and bias) and, optionally, `batch-tile` activation rows, through
    the op's TilingInterface. The forall's iterations are independent: they
    are what threads run. A tile size of 0 leaves that dimension whole.
    Weights in the tables layout tile by activation rows only (their bytes
    interleave tiles of 32 rows and end with every row's counts, so no
    slice of them is a range of rows).
  }];
  let options = [
    Option<"rowTile", "row-tile", "unsigned", "64",
           "Output features (weight rows) per tile; 0 = all">,
    Option<"batchTile", "batch-tile", "unsigned", "0",
           "Activation rows per tile; 0 = all">
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::affine::AffineDialect"
  ];
}

def SherryFuseSiblingMatmuls : Pass<"sherry-fuse-sibling-matmuls"> {
  let summary = "Merge sherry.matmul ops that share their activations into "
                "one on concatenated constant weights";
  let description = [{
    Horizontal fusion, the fused QKV projection of a transformer layer: the
    tensor-form `sherry.matmul` ops of a block that read the same
    activations, with constant packed weights of the same layout, mode and
    K, become one `sherry.matmul` on the weights concatenated along M at
    compile time. Its accumulator is the members' accumulators side by side
    and each member's result is an `tensor.extract_slice` of the fused one.
    The activations are then quantized once, the table kernel builds its
    tables once, and the fused matmul runs as one parallel region: small
    members (k and v next to q) share the threads instead of running alone.

    In int8 mode each activation row is quantized on its own, so the fused
    result equals the members' bit for bit; in exact mode too, as every
    output row is computed on its own.

    Members need constant weights (concatenating run-time weights would copy
    them on every call), scales with one value per row or per group
    (`row`, `group` or the scales inside `stq1_0`; `tensor` scales are left
    alone), the same result type and either all or none with a bias. Scales
    and biases that are not constants are concatenated at run time. Only ops
    whose results are not used before the last member fuse, so the fused op
    can stand where the last one stood.

    The concatenation costs copies on every call where scales, biases or
    accumulators are not constants: the accumulators in, the results out.
    `--sherry-to-llvm` therefore runs this pass after the table kernel,
    which lowers siblings as one loop nest of its own that reads and writes
    each member's operands in place (`table-siblings` of
    `convert-sherry-to-x86` and `convert-sherry-to-neon`); what it fuses
    then goes to the decode kernels.
  }];
  let options = [
    Option<"minMembers", "min-members", "unsigned", "2",
           "Fuse only groups of at least this many matmuls (at least 2)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SherryInsertRuntimeChecks : Pass<"sherry-insert-runtime-checks",
                                     "ModuleOp"> {
  let summary = "Check at run time the dynamic sizes of sherry.matmul that "
                "must agree";
  let description = [{
    The verifier rejects a `sherry.matmul` whose sizes disagree where the
    types spell them; where they are dynamic (`tensor<?x256xf32>`), a kernel
    given disagreeing operands would read and write past their buffers.
    This pass checks, before each matmul, every pair of sizes that must
    agree and that value-bounds analysis cannot prove equal:

    - the rows of x and of the accumulator (N);
    - the rows of the weights, the accumulator's columns, the scales' rows
      and the bias (M);
    - K: a multiple of what the layout needs, the bytes per row of the
      weights, the columns of per-group scales.

    A pair that differs calls `sherry_runtime_error(format, a, b)`, a C
    function taking a printf format with two `%lld` (the sizes) and naming
    the function, the op's location and its arguments, and the matmul then
    computes nothing: its operands are sliced to no rows (an N mismatch) or
    no output columns (an M mismatch; a K mismatch empties both), so no
    buffer is touched out of bounds, whatever the handler does, and the
    accumulator comes back as it went in.

    With `handler=weak-default` the pass also defines `sherry_runtime_error`
    (where the module does not) with weak linkage: it prints the message to
    standard error and returns, and a strong definition linked into the
    program wins. With `handler=external` it only declares it: the program
    provides it (the C API does, and turns a failed check into an error of
    the call).
  }];
  let options = [
    Option<"handler", "handler", "::mlir::sherry::RuntimeErrorHandler",
           "::mlir::sherry::RuntimeErrorHandler::WeakDefault",
           "Who defines sherry_runtime_error",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::RuntimeErrorHandler::WeakDefault,
                        "weak-default",
                        "a weak definition that prints to stderr"),
             clEnumValN(::mlir::sherry::RuntimeErrorHandler::External,
                        "external", "a declaration; the program defines it"))}]>
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // SHERRY_DIALECT_SHERRY_TRANSFORMS_PASSES_TD
