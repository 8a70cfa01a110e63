//===- Passes.td - sherry conversion passes ----------------*- tablegen -*-===//

#ifndef SHERRY_CONVERSION_PASSES_TD
#define SHERRY_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSherryToLinalg : Pass<"convert-sherry-to-linalg"> {
  let summary = "Lower sherry ops on tensors to portable linalg";
  let description = [{
    The portable reference lowering: upstream linalg, arith, math and tensor
    ops only, so it runs on every LLVM target and bufferizes with upstream
    one-shot bufferization. It is what the target-specific kernels are
    tested against, and it is slow (it materializes decoded weights).

    - `sherry.unpack` / `sherry.dequantize`: a `linalg.generic` that decodes
      each element: its group's slot nibble and sign bit (per the layout),
      the codebook entry of the 5-bit code, its 2-bit lane and, for
      `dequantize`, its scale.
    - `sherry.quantize_activations`: absmax per row (an `scf.for` over 16
      lanes of the bits of |x|, `arith.maxsi`: vectorized without LLVM's
      loop vectorizer) or per block (a linalg reduction), then
      `q = clamp(roundeven(x * (127 / absmax)))`.
    - `sherry.matmul` (tensor form): exact mode contracts dequantized f32
      weights; int8 mode sums int8 products per scale segment in i32 and
      combines the segments in f32 in increasing K order, bit-exact with the
      format library's `matmulInt8`. Then `(init + y) + bias` in f32,
      rounded once into the accumulator's type.

    - `sherry.ternarize`: the zero lane of each group (first lane of
      smallest |w|), sign(w) elsewhere, and each scale as the f64 sum of the
      kept |w| of its region in row, group and lane order over its count:
      bit-exact with the format library's `ternarize`.
    - `sherry.pack`: each group's 5-bit code from its four values, slot
      nibbles and sign bits (and `stq1_0`'s f16 scales) where the layout
      puts them; values that are not a valid group are counted and reported
      through `sherry_runtime_error` (sherry-insert-runtime-checks), their
      bytes unspecified.

    `stq1_0` operands are put in group order first. This is the last pass
    of `--sherry-to-llvm` that lowers sherry ops: a dialect conversion with
    the sherry dialect illegal, so no sherry op survives it. One it cannot
    lower is an error that says why (the memref form of `sherry.matmul`,
    which no pass lowers: write it on tensors; a dynamic K), reported
    before any IR changes, not an op left for bufferization and LLVM to
    stumble over.
  }];
  let dependentDialects = [
    "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ConvertSherryToVector : Pass<"convert-sherry-to-vector"> {
  let summary = "Lower sherry.matmul on tensors to a vector micro-kernel";
  let description = [{
    The portable fast path: `sherry.matmul` (tensor form) becomes a loop
    over output rows whose body decodes 32 or 64 packed weights at a time
    straight into a vector of ternary lanes and multiply-accumulates it with
    activation vectors, with no decoded weights in memory. Upstream vector,
    arith, scf and tensor ops only, so it is correct on every LLVM target.

    - Scale segments (the whole row, a scale group, or an `stq1_0` block)
      are summed one after another; chunks never cross a segment.
    - int8 mode quantizes the activations with `sherry.quantize_activations`
      (per row), multiplies in i8 (exact: |x| <= 127, w in {-1, 0, 1}),
      accumulates lanes in i16 while a segment cannot overflow it (i32
      otherwise), and combines segments in f32 exactly as the format
      library's `matmulInt8` does: the result is bit-exact.
    - exact mode accumulates `x * t` in f32 lanes and scales each segment
      sum once.
    - `stq1_0` activations are reordered once per call (inside each 64
      elements, `16p + l` to `4l + p`) so that decoded groups meet them lane
      by lane.
    - Blocks of `row-block` output rows by `batch-block` activation rows
      share each decoded chunk and activation read, with an accumulator per
      pair (independent dependency chains); the remaining rows go one at a
      time.

    Scale groups that are not a multiple of 32 elements are left to
    `convert-sherry-to-linalg`.
  }];
  let options = [
    Option<"onlyMarked", "only-marked", "bool", "false",
           "Lower only the matmuls whose sherry.kernel names this pass's "
           "kernel; leave unmarked ones (the pipeline's instance for a "
           "kernel its options do not choose)">,
    Option<"rowBlock", "row-block", "unsigned", "4",
           "Output rows computed together (independent accumulators)">,
    Option<"batchBlock", "batch-block", "unsigned", "4",
           "Activation rows that share each decoded weight chunk">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ConvertSherryToX86 : Pass<"convert-sherry-to-x86"> {
  let summary = "Lower int8 sherry.matmul to x86 SIMD micro-kernels";
  let description = [{
    Lowers `sherry.matmul` on tensors to x86 SIMD kernels for `isa`
    `avx512-vnni` (AVX-512 F, BW, VBMI, VNNI), `avx512-bw` (AVX-512 F, BW)
    or `avx2`, bit-exact with the format library's `matmulInt8` in int8
    mode and in f32 lanes in exact mode. `strategy` picks the kernel:
    `tables`, the activation-table kernel (int8 mode, constant weights or
    weights in the `tables` layout: per call each group of 4 activations
    gets its partial sums as tables, which the weights index 32 rows at a
    time); `decode`, the micro-kernel of `convert-sherry-to-vector` with x86
    chunk arithmetic (any packed layout but `tables`, both modes); `auto`,
    `tables` where it applies and `decode` elsewhere. What no strategy
    takes (chunks of 32) is left for `convert-sherry-to-vector`.

    The `table-*` and `tile-block` options shape the table kernel (its
    lookup and table build, tiles per block, parts per thread, table bytes
    per pass, sibling matmuls, work stealing), `row-block` and
    `batch-block` the decode kernel's register blocks; 0 means the isa's
    default. docs/targets.md describes each kernel's instructions and
    why the defaults are what they are. The generated code needs the named
    CPU features (`--sherry-to-llvm`'s `target=host` checks them);
    instructions without an `x86vector` op are `sherry_x86` ops, which the
    LLVM lowering turns into intrinsic calls.
  }];
  let options = [
    Option<"isa", "isa", "::mlir::sherry::X86Isa",
           "::mlir::sherry::X86Isa::Avx512Vnni", "Instruction set of the kernel",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::X86Isa::Avx512Vnni, "avx512-vnni",
                        "AVX-512 F, BW, VBMI and VNNI"),
             clEnumValN(::mlir::sherry::X86Isa::Avx512Bw, "avx512-bw",
                        "AVX-512 F and BW"),
             clEnumValN(::mlir::sherry::X86Isa::Avx2, "avx2", "AVX2"))}]>,
    Option<"strategy", "strategy", "::mlir::sherry::KernelStrategy",
           "::mlir::sherry::KernelStrategy::Auto", "Kernel strategy",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::KernelStrategy::Auto, "auto",
                        "tables where they apply, decode elsewhere"),
             clEnumValN(::mlir::sherry::KernelStrategy::Tables, "tables",
                        "activation tables"),
             clEnumValN(::mlir::sherry::KernelStrategy::Decode, "decode",
                        "the decode micro-kernel"))}]>,
    Option<"onlyMarked", "only-marked", "bool", "false",
           "Lower only the matmuls whose sherry.kernel names this pass's "
           "kernel; leave unmarked ones (the pipeline's instance for a "
           "kernel its options do not choose)">,
    Option<"tileBlock", "tile-block", "unsigned", "0",
           "Tiles of 32 rows that share each table read (tables; 0: the "
           "lookup's default, 8 for vpermw and vpermb tables, 16 for "
           "vpermw tables built per step, 4 for vpshufb tables)">,
    Option<"tableParts", "table-parts", "unsigned", "0",
           "tables: split the rows into this many parts, each building its "
           "own tables (one per thread); 0 or 1: one scf.forall iteration "
           "per block of tiles, tables built once">,
    Option<"tablePartWeights", "table-part-weights", "uint64_t", "2097152",
           "tables: the fewest weights (times N where it is static) worth "
           "a part of their own; fewer parts where a matmul has less, none "
           "(the calling thread, in order) below two (0: any size)">,
    Option<"tableBytes", "table-bytes", "uint64_t", "524288",
           "tables: the most table bytes built at a time; activation rows "
           "go in blocks whose tables fit, one pass over the weights per "
           "block (0: every row at once)">,
    Option<"tableSiblings", "table-siblings", "bool", "true",
           "tables: sibling matmuls (the same activations, layout, mode "
           "and K, constant weights) share one loop over parts, one "
           "quantization and one table build per part, each writing its own "
           "result, where their tables are built for every activation row "
           "at once and their weights make more than one part">,
    Option<"tableWorkStealing", "table-work-stealing", "bool", "false",
           "tables: where the tables are built for every activation row at "
           "once, parts as one scf.forall iteration per block, marked for "
           "sherry-forall-work-stealing (which must run after one-shot "
           "bufferization: without it every block builds its own tables)">,
    Option<"tablesMaxBatch", "tables-max-batch", "unsigned", "0",
           "tables: leave matmuls with a static N of at least this many "
           "activation rows to decode (0: no limit)">,
    Option<"tableLookup", "table-lookup", "::mlir::sherry::TableLookup",
           "::mlir::sherry::TableLookup::Auto", "tables: the table lookup",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::TableLookup::Auto, "auto",
                        "words where they apply, bytes elsewhere"),
             clEnumValN(::mlir::sherry::TableLookup::Words, "words",
                        "vpermw on 32-entry word tables (AVX-512, scale "
                        "segments of 64n elements)"),
             clEnumValN(::mlir::sherry::TableLookup::Bytes, "bytes",
                        "vpermb on avx512-vnni, vpshufb elsewhere"))}]>,
    Option<"tableBuild", "table-build", "::mlir::sherry::TableBuild",
           "::mlir::sherry::TableBuild::Auto",
           "tables: where word tables come from",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::TableBuild::Auto, "auto",
                        "step at a static N of 1, call otherwise"),
             clEnumValN(::mlir::sherry::TableBuild::Call, "call",
                        "every activation row's tables built once per call "
                        "into memory, 1 KiB per 64 K elements, read by every "
                        "step"),
             clEnumValN(::mlir::sherry::TableBuild::Step, "step",
                        "each step's tables built in registers from the "
                        "int8 activations, which stay in L1: more "
                        "instructions, but a weight stream from DRAM no "
                        "longer evicts the tables"))}]>,
    Option<"rowBlock", "row-block", "unsigned", "0",
           "Output rows computed together (decode; 0: the isa's default, 2 "
           "for AVX-512, 1 for AVX2)">,
    Option<"batchBlock", "batch-block", "unsigned", "0",
           "Activation rows that share each decoded weight chunk (decode; "
           "0: the isa's default, 8)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::sherry::x86::SherryX86Dialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ConvertSherryToNeon : Pass<"convert-sherry-to-neon"> {
  let summary = "Lower sherry.matmul to AArch64 NEON kernels";
  let description = [{
    Lowers `sherry.matmul` on tensors to AArch64 NEON kernels for `isa`
    `neon-dotprod` (Armv8.2-A with the dot product extension) or `neon`
    (Armv8.0), bit-exact with the format library's `matmulInt8` in int8
    mode and in f32 lanes (`fmla`) in exact mode. `strategy` picks the
    kernel: `tables`, the activation-table kernel on `tbl` (int8 mode,
    constant weights or weights in the `tables` layout); `decode`, the
    micro-kernel of `convert-sherry-to-vector` with a lane-major `tbl`
    decode and `sdot` (`neon-dotprod`) or `smull`/`sadalp` (`neon`)
    accumulation, in panels of rows decoded once where N is static and
    large enough; `auto`, `tables` where it applies and `decode` elsewhere.

    The options are those of `convert-sherry-to-x86` for the same kernels
    (0: the isa's default). docs/targets.md describes each kernel and its
    defaults. `isa=neon-dotprod` code needs `+dotprod` (an Armv8.0 CPU
    stops with an illegal instruction); `isa=neon` code runs on any
    AArch64 CPU.
  }];
  let options = [
    Option<"isa", "isa", "::mlir::sherry::NeonIsa",
           "::mlir::sherry::NeonIsa::NeonDotprod",
           "Instruction set of the kernel",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::NeonIsa::NeonDotprod, "neon-dotprod",
                        "Armv8.2-A NEON with the dot product extension"),
             clEnumValN(::mlir::sherry::NeonIsa::Neon, "neon",
                        "Armv8.0 NEON"))}]>,
    Option<"strategy", "strategy", "::mlir::sherry::KernelStrategy",
           "::mlir::sherry::KernelStrategy::Auto", "Kernel strategy",
           [{::llvm::cl::values(
             clEnumValN(::mlir::sherry::KernelStrategy::Auto, "auto",
                        "tables where they apply, decode elsewhere"),
             clEnumValN(::mlir::sherry::KernelStrategy::Tables, "tables",
                        "activation tables"),
             clEnumValN(::mlir::sherry::KernelStrategy::Decode, "decode",
                        "the decode micro-kernel"))}]>,
    Option<"onlyMarked", "only-marked", "bool", "false",
           "Lower only the matmuls whose sherry.kernel names this pass's "
           "kernel; leave unmarked ones (the pipeline's instance for a "
           "kernel its options do not choose)">,
    Option<"tileBlock", "tile-block", "unsigned", "0",
           "Tiles of 32 rows that share each table read (tables; 0: the "
           "default, 1)">,
    Option<"tableParts", "table-parts", "unsigned", "0",
           "tables: split the rows into this many parts, each building its "
           "own tables (one per thread); 0 or 1: one scf.forall iteration "
           "per block of tiles, tables built once">,
    Option<"tablePartWeights", "table-part-weights", "uint64_t", "2097152",
           "tables: the fewest weights (times N where it is static) worth "
           "a part of their own; fewer parts where a matmul has less, none "
           "(the calling thread, in order) below two (0: any size)">,
    Option<"tableBytes", "table-bytes", "uint64_t", "524288",
           "tables: the most table bytes built at a time; activation rows "
           "go in blocks whose tables fit, one pass over the weights per "
           "block (0: every row at once)">,
    Option<"tableSiblings", "table-siblings", "bool", "true",
           "tables: sibling matmuls (the same activations, layout, mode "
           "and K, constant weights) share one loop over parts, one "
           "quantization and one table build per part, each writing its own "
           "result, where their tables are built for every activation row "
           "at once and their weights make more than one part">,
    Option<"tableWorkStealing", "table-work-stealing", "bool", "false",
           "tables: where the tables are built for every activation row at "
           "once, parts as one scf.forall iteration per block, marked for "
           "sherry-forall-work-stealing (which must run after one-shot "
           "bufferization: without it every block builds its own tables)">,
    Option<"tablesMaxBatch", "tables-max-batch", "unsigned", "0",
           "tables: leave matmuls with a static N of at least this many "
           "activation rows to decode (0: no limit)">,
    Option<"rowBlock", "row-block", "unsigned", "0",
           "decode: output rows computed together (independent "
           "accumulators; 0: the default, 2, 1 in exact mode, 4 in "
           "neon-dotprod panels)">,
    Option<"batchBlock", "batch-block", "unsigned", "0",
           "decode: activation rows that share each decoded weight chunk "
           "(0: the default, 3 for neon-dotprod, 1 for neon, 2 in exact "
           "mode, 4 in neon-dotprod panels, 2 in neon panels)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::arm_neon::ArmNeonDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::sherry::arm::SherryArmDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ConvertSherryX86ToLLVM : Pass<"convert-sherry-x86-to-llvm"> {
  let summary = "Replace sherry_x86 ops by their LLVM intrinsic calls";
  let description = [{
    Each `sherry_x86` op wraps one x86 intrinsic on builtin vectors; this
    dialect conversion replaces it by `llvm.call_intrinsic` with the same
    operands, and an op that does not convert is an error. Run it after
    bufferization (intrinsic calls have unknown memory effects, which buffer
    deallocation rejects). `--convert-to-llvm` does the same through the
    dialect's `ConvertToLLVMPatternInterface`, which is how
    `--sherry-to-llvm` lowers these ops.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def ConvertSherryArmToLLVM : Pass<"convert-sherry-arm-to-llvm"> {
  let summary = "Replace sherry_arm ops by their LLVM intrinsic calls";
  let description = [{
    Each `sherry_arm` op wraps one AArch64 intrinsic on builtin vectors; as
    `convert-sherry-x86-to-llvm`, this dialect conversion replaces it by
    `llvm.call_intrinsic`, and `--convert-to-llvm` does the same.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // SHERRY_CONVERSION_PASSES_TD
