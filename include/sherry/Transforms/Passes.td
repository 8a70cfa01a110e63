//===- Passes.td - sherry-mlir's generic passes ------------*- tablegen -*-===//
//
// Passes over upstream IR (scf, omp, linalg, llvm) that the pipelines use
// around the sherry kernels; they read the attributes the sherry dialect
// declares but no sherry op.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_TRANSFORMS_PASSES_TD
#define SHERRY_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SherryOutlineKernelLoops : Pass<"sherry-outline-kernel-loops",
                                    "ModuleOp"> {
  let summary = "Outline the kernel loops marked `sherry.outline` into "
                "functions that every matmul with the same loop shares";
  let description = [{
    The table kernel marks the loop that computes one block of tiles for
    every activation row (`scf.for` with the unit attribute
    `sherry.outline`): the hot loop nest, about 12 KB of machine code per
    matmul at K = 2048. Inlined, every matmul of a model has its own copy,
    and a decode step that streams its weights from DRAM evicts that code
    between calls, so each matmul starts with its loop nest cold. This pass
    runs on buffers (after one-shot bufferization): each marked loop whose
    memref iter_args are only passed through becomes a call of a private
    function whose memref arguments have dynamic sizes and offset and, where
    there are inner ones, a dynamic outermost stride (the inner strides,
    which K decides, stay as they are, so a unit innermost stride keeps
    vector loads plain), with the loop's constants cloned in. Loops that differ only in their
    shapes, weights, scales or outputs then have equal bodies.

    A function is named from a hash of its body, its type and `key`
    (`__sherry_kernel_loop_<16 hex digits>`), and equal loops call one
    function. With `link-once` (the default) it has `linkonce_odr` linkage,
    so that objects compiled apart (one per layer, say) share one copy when
    linked, as C++ inline functions do; otherwise `internal`. `key` should
    name what the body does not show but its machine code depends on, such
    as the target: `--sherry-to-llvm` passes its target and the CPU and
    features it pins.

    Loops that cannot be outlined (tensor operands, iter_args that are not
    passed through unchanged, a body that does not verify on the generalized
    types) stay inline; the marker is removed from every loop.
  }];
  let options = [
    Option<"key", "key", "std::string", "\"\"",
           "Text folded into each function name's hash (the target)">,
    Option<"linkOnce", "link-once", "bool", "true",
           "linkonce_odr linkage, one copy across linked objects; false: "
           "internal">
  ];
  let dependentDialects = [
    "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect"
  ];
}

def SherryForallWorkStealing : Pass<"sherry-forall-work-stealing"> {
  let summary = "Split the iterations of marked scf.forall loops into parts "
                "that take each other's iterations when done";
  let description = [{
    A static split of a parallel loop waits at its end for the slowest
    thread, and on a shared machine threads rarely run at the same speed:
    another tenant on a core or a longer memory path slows one of them down.
    This pass rewrites each `scf.forall` on buffers (no shared outputs; run
    it after one-shot bufferization) marked with the integer attribute
    `sherry.work_stealing = P`, one-dimensional from 0 in steps of 1 to a
    static bound U, into an `scf.forall` over P parts. Part p owns the
    iterations [p * U / P, (p + 1) * U / P) and runs them in order; once its
    range is empty it takes iterations from the end of the next part's
    range, and so on around, until every range is empty. A range is one
    i64 (front and back, 32 bits each) in a 64-byte line of its own in a
    stack buffer of the enclosing allocation scope: the owner takes with an
    atomic add that stays in its cache, a thief with a compare-and-swap
    loop (`memref.generic_atomic_rmw`) on the back.

    Operations of the body marked with the unit attribute `sherry.per_part`
    run once per part, before its iterations, together with what of the
    body they use: the operations whose results they use and those that
    write the buffers they allocate. The table kernel marks its table
    build, which does not depend on the iteration and writes only the
    buffer it allocates. A marked operation stays in the iterations, with a
    warning, where what would move with it uses the iteration, writes a
    buffer it does not allocate, or reads a buffer that the rest of the
    body writes (buffers are followed through views and `scf.for`
    iter_args; an operation that does not declare its memory effects, such
    as a call, may read and write every memref it takes).

    The table kernel marks its loop over blocks with the number of threads
    (`convert-sherry-to-x86` / `convert-sherry-to-neon` option
    `table-work-stealing`, `--sherry-to-llvm` option `work-stealing`).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def SherryOpenMPNowait : Pass<"sherry-openmp-nowait"> {
  let summary = "Drop the barrier of an omp.wsloop that ends its parallel "
                "region";
  let description = [{
    `convert-scf-to-openmp` makes each `scf.parallel` an `omp.parallel`
    around one `omp.wsloop`, whose implicit barrier is followed at once by
    the region's own (the join): two synchronizations of every thread where
    one does. This pass marks `nowait` each `omp.wsloop` without reductions
    that is the last operation of its `omp.parallel` before the terminator,
    so that the join is the only barrier. With two threads on different
    core complexes a barrier costs about 0.5 us, and a decode step of
    LLaMA-3.2-1B has 64 parallel regions.
  }];
  let dependentDialects = ["::mlir::omp::OpenMPDialect"];
}

def SherryVectorizeLinalg
    : Pass<"sherry-vectorize-linalg", "::mlir::func::FuncOp"> {
  let summary = "Tile and vectorize the linalg ops on tensors that no kernel "
                "covers (norms, attention, dense matmuls)";
  let description = [{
    What a model needs besides its sparse matmuls (RMSNorm, RoPE, softmax,
    attention over a KV cache, a dense `lm_head`) reaches the pipeline as
    `linalg` ops, which `convert-linalg-to-loops` would make scalar loops:
    a reduction there is a chain of dependent scalar adds. This pass
    vectorizes each linalg op on tensors at the top level of a function
    (not those inside loops, which kernels emit) along its innermost loop:

    - innermost loop parallel: every other loop is tiled by 1 (reductions
      run in order) and the innermost by `vector-width`, and the tile is
      vectorized, masked where the extent is dynamic or not a multiple;
    - innermost loop a reduction: the other loops are tiled by 1, the
      reduction is split into `vector-width` partial sums carried in a
      vector across its loop (upstream partial-reduction tiling) and merged
      once at the end.

    Ops the vectorizer cannot take stay as they are. Then the partial sums'
    tensors are hoisted out of their loops into vector loop-carried values,
    masks and multi-reductions are lowered and unit dimensions dropped.
    Reductions are reassociated (their order of additions changes), which
    float results may show in their last bits.

    With `parallel-parts` N > 1, an op of static shape with at least
    `parallel-min-work` iterations (a dense `lm_head`, not a norm) is first
    split into N chunks of its largest parallel loop by an `scf.forall`,
    which the pipeline's OpenMP lowering runs on N threads; each chunk is
    then vectorized as above. Outputs do not change: each element is
    computed by one chunk, in the same order.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", "16",
           "Elements per vector along the innermost loop">,
    Option<"parallelParts", "parallel-parts", "unsigned", "1",
           "Chunks of the largest parallel loop of a big op, in an "
           "scf.forall (1: none)">,
    Option<"parallelMinWork", "parallel-min-work", "uint64_t", "4194304",
           "Iterations (the product of the loop extents) an op needs for "
           "parallel-parts to split it">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def SherrySetTargetAttributes : Pass<"sherry-set-target-attributes"> {
  let summary = "Pin the CPU and features LLVM generates each function for";
  let description = [{
    Sets `target_cpu` (when `cpu` is given) and `target_features` (when
    `features` is given) on every `llvm.func` with a body. LLVM reads them
    in place of the code generator's own CPU and features, so a kernel
    lowered for a smaller instruction set (AVX2 on an AVX-512 machine, NEON
    without the dot product) stays within it however it is compiled, and a
    kernel that needs features (VNNI, dotprod) gets them without `-mattr`.
    `--sherry-to-llvm` runs it last for every target except `portable`.

    ```mlir
    // --sherry-set-target-attributes="cpu=haswell features=+avx2"
    llvm.func @f() attributes {target_cpu = "haswell",
        target_features = #llvm.target_features<["+avx2"]>} { ... }
    ```
  }];
  let options = [
    Option<"cpu", "cpu", "std::string", "\"\"",
           "LLVM CPU name (e.g. haswell); empty: leave the compiler's">,
    Option<"features", "features", "std::string", "\"\"",
           "Comma-separated LLVM features, each +name or -name; empty: "
           "leave the compiler's">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // SHERRY_TRANSFORMS_PASSES_TD
