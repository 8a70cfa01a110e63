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

using namespace mlir;

void mlir::sherry::buildSherryToLLVMPipeline(
    OpPassManager &pm, const SherryToLLVMOptions &options) {
  if (options.foldConstants)
    pm.addPass(createCanonicalizerPass());
  if (options.rowTile > 0 || options.batchTile > 0) {
    SherryTileOptions tile;
    tile.rowTile = options.rowTile;
    tile.batchTile = options.batchTile;
    pm.addPass(createSherryTile(tile));
  }
  pm.addPass(createConvertSherryToLinalg());

  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());

  // Tiles run one after another until the threaded lowering lands.
  pm.addPass(createForallToForLoopPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::sherry::registerSherryPipelines() {
  PassPipelineRegistration<SherryToLLVMOptions>(
      "sherry-to-llvm",
      "Lower a module with sherry ops all the way to the llvm dialect "
      "(portable path)",
      buildSherryToLLVMPipeline);
}
