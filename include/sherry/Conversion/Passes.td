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
    x86 kernels for `sherry.matmul` on tensors: int8 mode bit-exact with the
    format library's `matmulInt8`, exact mode in f32 lanes like the
    portable kernel. The `isa` option names what the
    generated code may use:

    - `avx512-vnni`: AVX-512 F, BW, VBMI and VNNI.
    - `avx512-bw`: AVX-512 F and BW (no VBMI, no VNNI).
    - `avx2`: AVX2 only; each 512-bit step runs as two 256-bit halves.

    Two strategies, on every `isa`:

    - `tables` (the paper's kernel), for constant weights: per call, each
      group of 4 int8 activations gets the partial sums of its codes as
      tables; the weights are regrouped at compile time (32 rows
      interleaved, 1.25 bits per weight). On AVX-512 (`avx512-vnni`,
      `avx512-bw`), where scale segments are multiples of 64 elements, a
      group's table is its 32 codes' whole 16-bit sums, signs included;
      each row's codes sit three to a 16-bit word at bits 0, 5 and 10, the
      sixteenth code of every 64 elements in the top bits of five words,
      so per 64 K elements and 32 rows 16 `vpermw` (which read an index's
      low 5 bits: shifts reach every code) and 16 `vpaddw` sum the rows in
      i16 lanes, widened to i32 every 5 steps of 64. Those word tables
      come from `table-build`: `call` builds every activation row's
      tables once per call into memory (1 KiB per 64 K elements), which
      each step reads; `step` keeps only the activations plus 128 as bytes
      (twice: each group's halves swapped), and builds a step's 16 tables
      in registers, per group two dword broadcasts and two `vpmaddubsw`
      against the codebook's signs, less a constant; `auto` (default)
      takes `step` at a static N of 1, where the weights stream from DRAM
      and 1 KiB of tables per step missing L1 costs a quarter of the time,
      and `call` otherwise (docs/design/2026-11-25-x86-table-kernel.md). Elsewhere
      (`table-lookup=bytes`, other segments, `avx2`) tables are low-byte
      and high-byte tables. With VBMI
      (`avx512-vnni`) a table holds two groups' 32 codes, signs included,
      and per 16 K elements and 32 rows two `vpermb` per nibble set fetch
      the rows' partial sums, which `vpmaddubsw` adds into i16 lanes (one
      per row), widened to i32 every 32 steps at most. With `vpshufb` only
      (`avx512-bw`, `avx2`), each 128-bit lane's 16-entry table holds one
      group's 16 canonical codes; the sign bit applies after the lookup by
      complementing both bytes (~s = -s - 1, the kernel adds back each
      row's count of negative groups per segment, a compile-time constant),
      and `vpunpcklbw`/`vpunpckhbw` form i16 sums per (row, group) that
      `vpaddw` accumulates for up to 85 steps. An `scf.forall` over blocks
      of `tile-block` tiles of 32 rows (8 by default with `vpermw` and
      `vpermb`, 16 with tables built per step, 4 with `vpshufb`) carries
      the threads; with
      `table-parts=P` it is a forall over P parts of the rows instead, each
      building its own copy of the tables, so that a thread reads tables
      from its own core's caches. Where the tables of all activation rows
      would take more than `table-bytes`, the rows go in blocks whose
      tables fit (in a core's L2), each built and then used by one pass
      over the tiles.
    - `decode`, for any weights: the micro-kernel of
      `convert-sherry-to-vector` with x86 chunk arithmetic. On
      `avx512-vnni` a chunk of 64 weights takes one `vpbroadcastq` of its 8
      slot bytes, `vpmultishiftqb` and `vpternlogd` to form table indices
      `4 * slot + lane`, a `vpord` under the 16 sign bits as mask, one
      `vpermt2b` through a 128-byte table (lane values as t + 1, in
      {0, 1, 2}) and one `vpdpbusd` per activation row. On `avx512-bw` and
      `avx2` the chunk is decoded lane-major with `vpshufb`, 128-bit lane p
      holding lane p of its 16 groups, through a table of that lane's
      values + 1 (the activations are reordered to match, once per call);
      the sign bits select `2 - v`; `vpmaddubsw` and `vpmaddwd` multiply
      and widen per activation row. The +1 offset is removed with each
      segment's activation sum, computed once per call.

    `strategy=auto` takes `tables` where the weights are a constant, the
    scale segments hold whole steps of 16 and N is dynamic or below
    `tables-max-batch`, `decode` elsewhere (64-element chunks); `tables` or
    `decode` alone leave the other cases. Exact mode (every `isa`, with the
    `decode` strategy) reuses the ISA's decode: the weights minus 1,
    widened to f32 and multiplied with the activations by FMA into f32
    lanes. What no strategy takes (chunks of 32) is left for
    `convert-sherry-to-vector`. The instructions without an `x86vector` op
    are `sherry_x86` ops, which `convert-sherry-x86-to-llvm` turns into LLVM
    intrinsic calls. The generated code needs the CPU features named above:
    run it only where they are (the `--sherry-to-llvm` option `target=host`
    checks).
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
    AArch64 kernels for `sherry.matmul` on tensors, bit-exact with the
    format library's `matmulInt8` in int8 mode, for `isa=neon-dotprod`
    (Armv8.2-A dot product extension, `+neon,+dotprod`) or `isa=neon`
    (Armv8.0 NEON). Two strategies:

    `tables` (the paper's kernel), for int8 mode, on both ISAs: per call,
    each group of 4 int8 activations gets its 16 canonical partial sums as
    a low-byte and a high-byte 16-entry table (one q register each). The
    weights are constants regrouped at compile time, or arguments in the
    `tables` layout (32 rows interleaved, 1.25 bits per weight). Per 16 K
    elements, 32 rows and group, `tbl` (`sherry_arm.neon.tbl1`) looks up
    both bytes of 16 rows' sums by their slot nibbles, the sign bit applies
    by complementing both bytes (~s = -s - 1; the kernel adds back each
    row's count of negative groups per segment), `zip1`/`zip2` form i16
    sums and `add` accumulates them per row, widened to i32 every 21 steps
    at most. Threads and `table-parts` as in `convert-sherry-to-x86`.
    `tile-block` is 1 by default: with more tiles per block, the
    accumulators and the 8 table registers of a step spill (`llc -O3`,
    2048 x 2048, stack accesses per step: none with 1 tile, 13 with 2, 75
    with 4).

    `decode`, for weights in any packed layout but `tables`, in int8 and
    exact mode: the micro-kernel of `convert-sherry-to-vector` with NEON
    chunk arithmetic.

    - decode, chunks of 128 weights where the scale segments hold them, else
      64: lane-major, as the x86 kernels. The slot nibbles come apart with
      `and`, `ushr` and `zip1`/`zip2`; each group's sign bit becomes 16 in
      its byte (a constant `tbl`, `cmtst`, `umin`); then per 16 weights one
      `tbl` with a two-register table (`sherry_arm.neon.tbl2`) looks up
      one lane's signed values, the first 16 entries for positive groups
      and the next 16 negated. Chunks of 32 (scale groups of 32) decode
      group-major by byte arithmetic on the 5-bit code.
    - accumulate, int8 mode: one `arm_neon.intr.sdot` per 16 weights and
      activation row into one q register (signed by signed: no offset,
      no activation sums); for `isa=neon`, `arm_neon.intr.smull` per 8
      weights summed in i16 lanes (`smlal`) and added pairwise into i32
      once per chunk (`sherry_arm.neon.saddlp`, `sadalp`).
    - panels, where N is static and at least 8 (`isa=neon-dotprod`) or 2
      (`isa=neon`): each block of 4 rows (2 for `neon`) is decoded once into
      a tensor of bytes, and blocks of 4 activation rows (2) multiply it
      without decoding again, with more accumulators in registers.
    - accumulate, exact mode (both ISAs): the weights converted to f32 and
      multiplied into 8 f32 lanes by FMA (`fmla`), as the portable
      kernel's exact mode sums in f32.
    - reduce: one `vector.reduction` (`addv`, `faddp`) per segment.

    `strategy=auto` takes `tables` where the weights are a constant or in
    the `tables` layout, the mode is int8, the scale segments hold whole
    steps of 16 and N is dynamic or below `tables-max-batch`, `decode`
    elsewhere. `isa=neon-dotprod` code needs the dot product extension:
    compile it with `--mattr=+neon,+dotprod` (or a CPU that has it);
    `isa=neon` code runs on any AArch64 CPU.
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
