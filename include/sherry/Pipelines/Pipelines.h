//===- Pipelines.h - Named sherry pass pipelines ----------------*- C++ -*-===//

#ifndef SHERRY_PIPELINES_PIPELINES_H
#define SHERRY_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;

namespace sherry {

/// Options of `--sherry-to-llvm`.
struct SherryToLLVMOptions : public PassPipelineOptions<SherryToLLVMOptions> {
  PassOptions::Option<bool> foldConstants{
      *this, "fold-constants",
      llvm::cl::desc("Fold sherry ops on constants through the format "
                     "library first (packs constant weights at compile time)"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> rowTile{
      *this, "row-tile",
      llvm::cl::desc("Tile sherry.matmul over this many output features "
                     "with scf.forall (the unit of threading); 0 = no tiling"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> batchTile{
      *this, "batch-tile",
      llvm::cl::desc("Tile sherry.matmul over this many activation rows; "
                     "0 = no tiling"),
      llvm::cl::init(0)};
};

/// The whole way from a module of func + linalg + tensor + sherry ops to the
/// llvm dialect, on the portable path: optional scf.forall tiling of
/// sherry.matmul (its tiles run in order for now), sherry ops to linalg,
/// one-shot bufferization (function boundaries included, identity layouts),
/// buffer deallocation, loops, and upstream conversions to LLVM. The result
/// translates with `mlir-translate --mlir-to-llvmir` and runs with
/// mlir-runner.
void buildSherryToLLVMPipeline(OpPassManager &pm,
                               const SherryToLLVMOptions &options);

/// Registers `--sherry-to-llvm`.
void registerSherryPipelines();

} // namespace sherry
} // namespace mlir

#endif // SHERRY_PIPELINES_PIPELINES_H
