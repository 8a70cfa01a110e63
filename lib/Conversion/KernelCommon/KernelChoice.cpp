//===- KernelChoice.cpp - Which matmuls a kernel pass lowers --------------===//

#include "sherry/Conversion/KernelCommon/KernelChoice.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace mlir::sherry;

bool KernelSelection::accepts(MatmulOp op) const {
  if (std::optional<MatmulKernel> chosen = op.getChosenKernel())
    return llvm::is_contained(marked, *chosen);
  return unmarked;
}

LogicalResult
mlir::sherry::applyKernelPatterns(Operation *root,
                                  const FrozenRewritePatternSet &patterns,
                                  KernelSelection selection) {
  bool anyTaken = false, anyLeftOut = false;
  root->walk([&](MatmulOp op) {
    bool taken = selection.accepts(op);
    anyTaken |= taken;
    anyLeftOut |= !taken;
  });
  // An instance for marked matmuls only, with none marked for it: the
  // pipeline adds such instances whatever the module holds.
  if (!anyTaken && !selection.unmarked)
    return success();
  // Where every matmul is taken (or there is none), the usual driver: what
  // it makes is what the passes made before kernels could be chosen per op.
  if (!anyLeftOut)
    return applyPatternsGreedily(root, patterns);
  // Matmuls for other kernels only: nothing for these patterns.
  if (!anyTaken)
    return success();
  SmallVector<Operation *> ops;
  root->walk([&](Operation *op) {
    auto matmul = dyn_cast<MatmulOp>(op);
    if (op != root && !(matmul && !selection.accepts(matmul)))
      ops.push_back(op);
  });
  // Only the listed operations and what the rewrites make: a matmul left
  // out is never put on the worklist.
  GreedyRewriteConfig config;
  config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
  return applyOpPatternsGreedily(ops, patterns, config);
}

LogicalResult mlir::sherry::applyTableAndDecodePatterns(
    Operation *root, KernelStrategy strategy, bool onlyMarked,
    RewritePatternSet &&tables, RewritePatternSet &&decode) {
  if (strategy != KernelStrategy::Decode &&
      failed(applyKernelPatterns(
          root, std::move(tables),
          KernelSelection{{MatmulKernel::Tables}, !onlyMarked})))
    return failure();
  if (strategy != KernelStrategy::Tables &&
      failed(applyKernelPatterns(
          root, std::move(decode),
          KernelSelection{{MatmulKernel::Decode}, !onlyMarked})))
    return failure();
  return success();
}
