//===- InitAllSherry.h - Register everything sherry-mlir offers -*- C++ -*-===//
//
// What an MLIR compiler that embeds the sherry passes calls: one function
// for the dialect and its interface models, one for the passes.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_INITALLSHERRY_H
#define SHERRY_INITALLSHERRY_H

namespace mlir {
class DialectRegistry;

namespace sherry {

/// Inserts the sherry dialect and attaches its external interface models
/// (one-shot bufferization and tiling of sherry.matmul).
void registerAllSherryDialects(DialectRegistry &registry);

/// Registers every sherry pass and pipeline with the global registry, so
/// that `--sherry-sparsify`, `--sherry-to-llvm` and friends parse on a
/// command line or in a pass pipeline string.
void registerAllSherryPasses();

} // namespace sherry
} // namespace mlir

#endif // SHERRY_INITALLSHERRY_H
