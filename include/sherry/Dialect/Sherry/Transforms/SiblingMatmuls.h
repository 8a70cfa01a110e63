//===- SiblingMatmuls.h - sherry.matmul ops on shared activations -*- C++
//-*-===//
//
// Sibling matmuls read the same activations with constant weights, the same
// layout, mode and K (the q, k and v projections of a layer; gate and up).
// sherry-fuse-sibling-matmuls concatenates them into one matmul; the table
// kernel lowers them as one loop nest that writes each member's own result.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_DIALECT_SHERRY_TRANSFORMS_SIBLINGMATMULS_H
#define SHERRY_DIALECT_SHERRY_TRANSFORMS_SIBLINGMATMULS_H

#include "sherry/Dialect/Sherry/IR/SherryOps.h"

namespace mlir::sherry {

/// Which weights may have siblings: constants (what a concatenation along M
/// takes), or also weights of the tables layout, run-time ones included
/// (the table kernel's sibling loop reads each member's own weights).
enum class SiblingWeights { Constant, ConstantOrTables };

/// Whether `op` can have siblings: tensor form, static M and K, weights as
/// `weights` says, ranked scales, and no scale per tensor that a
/// concatenation along M could not keep.
bool isSiblingCandidate(MatmulOp op,
                        SiblingWeights weights = SiblingWeights::Constant);

/// The runs of sibling matmuls in `block`, members in block order: every
/// member of a run shares the first's activations, layout, mode, K, element
/// types and whether it has a bias, and no member's result is used before
/// the run's last member, so one op standing there can replace them all.
/// Runs of a single op included.
SmallVector<SmallVector<MatmulOp>>
collectSiblingMatmuls(Block &block,
                      SiblingWeights weights = SiblingWeights::Constant);

} // namespace mlir::sherry

#endif // SHERRY_DIALECT_SHERRY_TRANSFORMS_SIBLINGMATMULS_H
