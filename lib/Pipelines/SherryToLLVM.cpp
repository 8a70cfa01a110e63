//===- SherryToLLVM.cpp - The --sherry-to-llvm pipeline -------------------===//

#include "sherry/Pipelines/Pipelines.h"

#include "sherry/Conversion/Passes.h"
#include "sherry/Dialect/Sherry/Transforms/Passes.h"

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

std::string mlir::sherry::resolveSherryTarget(const std::string &target) {
  if (target != "host")
    return target;
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  auto has = [&](StringRef name) { return features.lookup(name); };
  if (has("avx512f") && has("avx512bw") && has("avx512vbmi") &&
      has("avx512vnni"))
    return "avx512-vnni";
  if (has("avx512f") && has("avx512bw"))
    return "avx512-bw";
  if (has("avx2"))
    return "avx2";
  if (has("neon") && has("dotprod"))
    return "neon-dotprod";
  if (has("neon"))
    return "neon";
  return "portable";
}

/// The smaller sets get a CPU that has no more than them, so that generic
/// vector code cannot use AVX-512, VBMI, VNNI, GFNI or dotprod where the
/// target lacks them.
std::optional<sherry::SherryTargetAttributes>
mlir::sherry::getSherryTargetAttributes(StringRef target) {
  if (target == "avx512-vnni")
    return SherryTargetAttributes{
        "", "+avx512f,+avx512bw,+avx512vbmi,+avx512vnni", true};
  if (target == "avx512-bw")
    return SherryTargetAttributes{"skylake-avx512", "+avx512f,+avx512bw", true};
  if (target == "avx2")
    return SherryTargetAttributes{"haswell", "+avx2", true};
  if (target == "neon-dotprod")
    return SherryTargetAttributes{"", "+neon,+dotprod", false};
  if (target == "neon")
    return SherryTargetAttributes{"generic", "+neon,-dotprod", false};
  return std::nullopt;
}

namespace {

bool isX86Target(StringRef target) {
  std::optional<sherry::SherryTargetAttributes> attributes =
      sherry::getSherryTargetAttributes(target);
  return attributes && attributes->x86;
}

bool isNeonTarget(StringRef target) {
  return target == "neon-dotprod" || target == "neon";
}

/// Targets with an activation-table kernel: every one but portable (vpermb
/// with VBMI, vpshufb without, tbl on AArch64).
bool hasTableKernel(StringRef target) {
  return isX86Target(target) || isNeonTarget(target);
}

} // namespace

LogicalResult
mlir::sherry::verifySherryToLLVMOptions(const SherryToLLVMOptions &options,
                                        std::string &message) {
  if (options.target != "portable" && options.target != "host" &&
      options.target != "module" &&
      !getSherryTargetAttributes(options.target)) {
    message = "unknown target '" + options.target +
              "'; expected 'portable', 'avx512-vnni', 'avx512-bw', 'avx2', "
              "'neon-dotprod', 'neon', 'host' or 'module'";
    return failure();
  }
  // host may resolve to a target without tables, where strategy=tables
  // leaves every matmul to the portable kernel (docs/targets.md); a named
  // target without them is a mistake.
  if (options.strategy == "tables" && options.target != "host" &&
      options.target != "module" && !hasTableKernel(options.target)) {
    message = "strategy=tables needs a target with a table kernel (all "
              "but portable), got target=" +
              options.target;
    return failure();
  }
  if (options.target != "portable" && options.kernel == "linalg") {
    message = "kernel=linalg is the portable reference; it takes no target";
    return failure();
  }
  if (options.kernel != "vector" && options.kernel != "linalg") {
    message = "unknown kernel '" + options.kernel +
              "'; expected 'vector' or 'linalg'";
    return failure();
  }
  if (options.rowTile < 0 || options.batchTile < 0) {
    message = "tile sizes must not be negative, got row-tile=" +
              std::to_string(options.rowTile) +
              " batch-tile=" + std::to_string(options.batchTile);
    return failure();
  }
  if (options.strategy != "auto" && options.strategy != "tables" &&
      options.strategy != "decode") {
    message = "unknown strategy '" + options.strategy +
              "'; expected 'auto', 'tables' or 'decode'";
    return failure();
  }
  if (options.tableLookup != "auto" && options.tableLookup != "words" &&
      options.tableLookup != "bytes") {
    message = "unknown table-lookup '" + options.tableLookup +
              "'; expected 'auto', 'words' or 'bytes'";
    return failure();
  }
  if (options.tableLookup != "auto" && options.target != "host" &&
      options.target != "module" && !isX86Target(options.target)) {
    message = "table-lookup chooses between x86 table lookups, got "
              "target=" +
              options.target;
    return failure();
  }
  if (options.tableLookup == "words" && options.target == "avx2") {
    message = "table-lookup=words needs AVX-512 (vpermw), got target=avx2";
    return failure();
  }
  if (options.tableBuild != "auto" && options.tableBuild != "call" &&
      options.tableBuild != "step") {
    message = "unknown table-build '" + options.tableBuild +
              "'; expected 'auto', 'call' or 'step'";
    return failure();
  }
  if (options.tableBuild == "step" &&
      (options.tableLookup == "bytes" ||
       (options.target != "host" && options.target != "module" &&
        options.target != "avx512-vnni" && options.target != "avx512-bw"))) {
    message = "table-build=step builds word tables (vpermw): it needs an "
              "AVX-512 target and table-lookup 'auto' or 'words', got "
              "target=" +
              options.target + " table-lookup=" + options.tableLookup;
    return failure();
  }
  // Sizes whose 0 means `zero`.
  auto negative = [&](StringRef name, int64_t value, StringRef zero) {
    if (value >= 0)
      return false;
    message = (name + " must not be negative (0: " + zero + "), got " +
               std::to_string(value))
                  .str();
    return true;
  };
  if (negative("table-part-weights", options.tablePartWeights, "any size") ||
      negative("table-bytes", options.tableBytes, "every row at once") ||
      negative("tile-block", options.tileBlock, "the kernel's default"))
    return failure();
  if (options.rowBlock < 0 || options.batchBlock < 0) {
    message = "row-block and batch-block must not be negative (0: the "
              "kernel's default), got row-block=" +
              std::to_string(options.rowBlock) +
              " batch-block=" + std::to_string(options.batchBlock);
    return failure();
  }
  if (options.threads < 0) {
    message = "threads must be 0 (the OpenMP default) or positive, got " +
              std::to_string(options.threads);
    return failure();
  }
  return success();
}

void mlir::sherry::buildSherryToLLVMPipeline(
    OpPassManager &pm, const SherryToLLVMOptions &options) {
  // Only the module knows its target: resolved and built when it runs.
  if (options.target == "module") {
    pm.addPass(createSherryToLLVMForModuleTargetPass(options));
    return;
  }
  bool openmp = options.threads != 1;
  if (options.foldConstants)
    pm.addPass(createCanonicalizerPass());
  std::string target = resolveSherryTarget(options.target);
  bool x86 = isX86Target(target);
  bool tables = hasTableKernel(target) && options.strategy != "decode";
  // The table kernel marks its loops for sherry-forall-work-stealing only
  // where the pass will run: unmarked, each block builds its own tables.
  bool workStealing = options.threads > 1 && options.workStealing;
  // Before the decode kernels: the fused matmul is what they see. The
  // table kernel lowers siblings as one loop nest of its own, which copies
  // no operand or result (table-siblings), so they fuse after it.
  if (options.fuseSiblings && !tables)
    pm.addPass(createSherryFuseSiblingMatmuls());
  // The options convert-sherry-to-x86 and convert-sherry-to-neon share.
  auto kernelOptions = [&](auto kernel, StringRef strategy) {
    kernel.isa = target;
    kernel.strategy = strategy.str();
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
  auto x86Options = [&](StringRef strategy) {
    ConvertSherryToX86Options kernel =
        kernelOptions(ConvertSherryToX86Options(), strategy);
    kernel.tableLookup = options.tableLookup;
    kernel.tableBuild = options.tableBuild;
    return kernel;
  };
  auto neonOptions = [&](StringRef strategy) {
    return kernelOptions(ConvertSherryToNeonOptions(), strategy);
  };
  // The table kernel needs its weights constant, which tiles would slice:
  // it runs first and brings its own scf.forall over tiles of rows.
  if (tables && x86)
    pm.addPass(createConvertSherryToX86(x86Options("tables")));
  if (tables && isNeonTarget(target))
    pm.addPass(createConvertSherryToNeon(neonOptions("tables")));
  if (options.fuseSiblings && tables)
    pm.addPass(createSherryFuseSiblingMatmuls());
  // Threads come from the tiles, so threading needs some.
  int64_t rowTile = options.rowTile;
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
  if (x86 && options.strategy != "tables")
    pm.addPass(createConvertSherryToX86(x86Options("decode")));
  // AArch64 kernels for int8 mode; exact mode falls through.
  if (isNeonTarget(target) && options.strategy != "tables")
    pm.addPass(createConvertSherryToNeon(neonOptions("decode")));
  if (options.kernel == "vector") {
    ConvertSherryToVectorOptions vector;
    if (options.rowBlock > 0)
      vector.rowBlock = options.rowBlock;
    if (options.batchBlock > 0)
      vector.batchBlock = options.batchBlock;
    pm.addPass(createConvertSherryToVector(vector));
    // Activation quantization and reordering do not depend on the tile:
    // out of the tile loop they run once per call.
    pm.addPass(createLoopInvariantCodeMotionPass());
  }
  pm.addPass(createConvertSherryToLinalg());

  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // On buffers the table kernel's loops of different matmuls can share one
  // function; before deallocation, whose canonicalizations would fold the
  // loops' pass-through buffers away.
  if (tables && options.outlineKernelLoops) {
    SherryOutlineKernelLoopsOptions outline;
    outline.key = target;
    if (std::optional<SherryTargetAttributes> attributes =
            getSherryTargetAttributes(target))
      outline.key +=
          " " + attributes->cpu.str() + " " + attributes->features.str();
    pm.addPass(createSherryOutlineKernelLoops(outline));
  }
  // Before deallocation, which frees each part's tables after its loop.
  if (tables && workStealing)
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
  pm.addPass(createConvertSherryX86ToLLVM());
  pm.addPass(createConvertSherryArmToLLVM());
  pm.addPass(createConvertVectorToLLVMPass());
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

void mlir::sherry::registerSherryPipelines() {
  registerPassPipeline(
      "sherry-to-llvm",
      "Lower a module with sherry ops all the way to the llvm dialect "
      "(portable path)",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        SherryToLLVMOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        std::string message;
        if (failed(verifySherryToLLVMOptions(options, message)))
          return errorHandler("sherry-to-llvm: " + message);
        buildSherryToLLVMPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> handler) {
        handler(SherryToLLVMOptions());
      });
}
