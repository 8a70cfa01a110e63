//===- SherryToLLVM.cpp - The --sherry-to-llvm pipeline -------------------===//

#include "sherry/Pipelines/Pipelines.h"

#include "sherry/Conversion/Passes.h"
#include "sherry/Dialect/Sherry/Transforms/Passes.h"
#include "sherry/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::sherry;

/// Targets with an activation-table kernel: every one but portable (vpermb
/// with VBMI, vpshufb without, tbl on AArch64).
static bool hasTableKernel(SherryTarget target) {
  return isX86Target(target) || isNeonTarget(target);
}

void mlir::sherry::buildSherryToLLVMPipeline(
    OpPassManager &pm, const SherryToLLVMOptions &options) {
  // Only the module knows its target: resolved and built when it runs.
  if (options.target == SherryTarget::Module) {
    pm.addPass(createSherryToLLVMForModuleTargetPass(options));
    return;
  }
  bool openmp = options.threads != 1;
  if (options.foldConstants)
    pm.addPass(createCanonicalizerPass());
  if (options.runtimeChecks) {
    SherryInsertRuntimeChecksOptions checks;
    checks.handler = options.runtimeErrorHandler;
    pm.addPass(createSherryInsertRuntimeChecks(checks));
  }
  SherryTarget target = resolveSherryTarget(options.target);
  bool x86 = isX86Target(target);
  // A matmul marked sherry.kernel gets that kernel whatever the options
  // say: the instances for kernels the options do not choose lower only
  // the marked ones.
  bool tableKernel = hasTableKernel(target);
  bool tables = tableKernel && options.strategy != KernelStrategy::Decode;
  // The table kernel marks its loops for sherry-forall-work-stealing only
  // where the pass will run: unmarked, each block builds its own tables.
  bool workStealing = options.threads > 1 && options.workStealing;
  // Before the decode kernels: the fused matmul is what they see. The
  // table kernel lowers siblings as one loop nest of its own, which copies
  // no operand or result (table-siblings), so they fuse after it.
  if (options.fuseSiblings && !tables)
    pm.addPass(createSherryFuseSiblingMatmuls());
  // The options convert-sherry-to-x86 and convert-sherry-to-neon share.
  auto kernelOptions = [&](auto kernel, KernelStrategy strategy) {
    kernel.strategy = strategy;
    kernel.onlyMarked = strategy == KernelStrategy::Tables
                            ? !tables
                            : options.strategy == KernelStrategy::Tables;
    if (options.tileBlock > 0)
      kernel.tileBlock = options.tileBlock;
    // A copy of the tables per thread: built by the core that reads them.
    if (options.threads > 1)
      kernel.tableParts = options.threads;
    kernel.tablePartWeights = options.tablePartWeights;
    kernel.tableBytes = options.tableBytes;
    kernel.tableSiblings = options.fuseSiblings;
    kernel.tableWorkStealing = workStealing;
    // auto: the table kernel is faster at every N measured or modelled, up
    // to 128, on every target (docs/targets.md): no batch limit.
    if (options.rowBlock > 0)
      kernel.rowBlock = options.rowBlock;
    if (options.batchBlock > 0)
      kernel.batchBlock = options.batchBlock;
    return kernel;
  };
  auto x86Options = [&](KernelStrategy strategy) {
    ConvertSherryToX86Options kernel =
        kernelOptions(ConvertSherryToX86Options(), strategy);
    kernel.isa = target == SherryTarget::Avx2       ? X86Isa::Avx2
                 : target == SherryTarget::Avx512Bw ? X86Isa::Avx512Bw
                                                    : X86Isa::Avx512Vnni;
    kernel.tableLookup = options.tableLookup;
    kernel.tableBuild = options.tableBuild;
    return kernel;
  };
  auto neonOptions = [&](KernelStrategy strategy) {
    ConvertSherryToNeonOptions kernel =
        kernelOptions(ConvertSherryToNeonOptions(), strategy);
    kernel.isa = target == SherryTarget::Neon ? NeonIsa::Neon
                                              : NeonIsa::NeonDotprod;
    return kernel;
  };
  // The table kernel needs its weights constant, which tiles would slice:
  // it runs first and brings its own scf.forall over tiles of rows.
  if (tableKernel && x86)
    pm.addPass(createConvertSherryToX86(x86Options(KernelStrategy::Tables)));
  if (tableKernel && isNeonTarget(target))
    pm.addPass(createConvertSherryToNeon(neonOptions(KernelStrategy::Tables)));
  if (options.fuseSiblings && tables)
    pm.addPass(createSherryFuseSiblingMatmuls());
  // Threads come from the tiles, so threading needs some.
  unsigned rowTile = options.rowTile;
  if (openmp && rowTile == 0 && options.batchTile == 0)
    rowTile = 32;
  if (rowTile > 0 || options.batchTile > 0) {
    SherryTileOptions tile;
    tile.rowTile = rowTile;
    tile.batchTile = options.batchTile;
    pm.addPass(createSherryTile(tile));
  }
  // What the x86 kernels do not take (exact mode, chunks of 32) falls
  // through to the portable one.
  if (x86)
    pm.addPass(createConvertSherryToX86(x86Options(KernelStrategy::Decode)));
  // AArch64 kernels for both modes; chunks the NEON arithmetic does not
  // take fall through.
  if (isNeonTarget(target))
    pm.addPass(createConvertSherryToNeon(neonOptions(KernelStrategy::Decode)));
  {
    ConvertSherryToVectorOptions vector;
    vector.onlyMarked = options.kernel != KernelKind::Vector;
    if (options.rowBlock > 0)
      vector.rowBlock = options.rowBlock;
    if (options.batchBlock > 0)
      vector.batchBlock = options.batchBlock;
    pm.addPass(createConvertSherryToVector(vector));
    // Activation quantization and reordering do not depend on the tile:
    // out of the tile loop they run once per call.
    if (options.kernel == KernelKind::Vector)
      pm.addPass(createLoopInvariantCodeMotionPass());
  }
  pm.addPass(createConvertSherryToLinalg());
  if (options.vectorizeLinalg) {
    SherryVectorizeLinalgOptions vectorize;
    vectorize.vectorWidth = options.linalgVectorWidth;
    // Big dense ops (a model's lm_head) use the kernels' threads too.
    vectorize.parallelParts = options.threads;
    pm.addNestedPass<func::FuncOp>(createSherryVectorizeLinalg(vectorize));
  }

  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // On buffers the table kernel's loops of different matmuls can share one
  // function; before deallocation, whose canonicalizations would fold the
  // loops' pass-through buffers away.
  if (tableKernel && options.outlineKernelLoops) {
    SherryOutlineKernelLoopsOptions outline;
    outline.key = stringifyOption(target);
    if (std::optional<SherryTargetAttributes> attributes =
            getSherryTargetAttributes(target))
      outline.key +=
          " " + attributes->cpu.str() + " " + attributes->features.str();
    pm.addPass(createSherryOutlineKernelLoops(outline));
  }
  // Before deallocation, which frees each part's tables after its loop.
  if (tableKernel && workStealing)
    pm.addPass(createSherryForallWorkStealing());
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());

  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  if (openmp) {
    pm.addPass(createForallToParallelLoopPass());
    ConvertSCFToOpenMPPassOptions omp;
    omp.numThreads = options.threads;
    pm.addPass(createConvertSCFToOpenMPPass(omp));
    // The region's join is the loop's barrier.
    pm.addPass(createSherryOpenMPNowait());
  } else {
    pm.addPass(createForallToForLoopPass());
  }
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // scf-to-openmp wraps each parallel body in a memref.alloca_scope, which
  // must become LLVM before its region is split into blocks.
  if (openmp)
    pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions toLLVM;
  // The vectorized linalg reductions' final sums, already reassociated.
  toLLVM.reassociateFPReductions = options.vectorizeLinalg;
  pm.addPass(createConvertVectorToLLVMPass(toLLVM));
  // The sherry_x86 and sherry_arm ops too (their dialects' interface).
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  if (std::optional<SherryTargetAttributes> attributes =
          getSherryTargetAttributes(target)) {
    SherrySetTargetAttributesOptions pin;
    pin.cpu = attributes->cpu.str();
    pin.features = attributes->features.str();
    pm.addPass(createSherrySetTargetAttributes(pin));
  }
}

// registerPassPipeline rather than PassPipelineRegistration<Options>: the
// latter's builder cannot fail, and the options must be verified together
// (parseSherryToLLVMOptions) with an error that reaches the caller, as the C
// API, sherry-compile and the fuzzer get it.
void mlir::sherry::registerSherryPipelines() {
  registerPassPipeline(
      "sherry-to-llvm",
      "Lower a module with sherry ops all the way to the llvm dialect",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        std::string message;
        std::unique_ptr<SherryToLLVMOptions> options =
            parseSherryToLLVMOptions(text, message);
        if (!options)
          return errorHandler(message);
        buildSherryToLLVMPipeline(pm, *options);
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> handler) {
        handler(SherryToLLVMOptions());
      });
}
