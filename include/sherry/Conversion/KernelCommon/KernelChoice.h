//===- KernelChoice.h - Which matmuls a kernel pass lowers ------*- C++ -*-===//
//
// A `sherry.matmul` may carry `sherry.kernel` (#sherry.kernel<...>, set by
// hand or by transform.sherry.set_kernel): then only the pass instance
// that emits that kernel lowers it. Unmarked ops follow the pass options.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_CONVERSION_KERNELCOMMON_KERNELCHOICE_H
#define SHERRY_CONVERSION_KERNELCOMMON_KERNELCHOICE_H

#include "sherry/Conversion/KernelOptions.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Rewrite/FrozenRewritePatternSet.h"

namespace mlir::sherry {

/// The matmuls a set of kernel patterns may lower: those marked with one
/// of `marked`, and, with `unmarked`, those not marked at all.
struct KernelSelection {
  SmallVector<MatmulKernel, 3> marked;
  bool unmarked = true;

  bool accepts(MatmulOp op) const;
};

/// Applies `patterns` greedily under `root` to every operation but the
/// sherry.matmul ops that `selection` does not accept (and to the
/// operations the rewrites create).
LogicalResult applyKernelPatterns(Operation *root,
                                  const FrozenRewritePatternSet &patterns,
                                  KernelSelection selection);

/// What convert-sherry-to-x86 and convert-sherry-to-neon run: unless
/// `strategy` is Decode, `tables` on the matmuls the table kernel may take;
/// then, unless it is Tables, `decode` on those the decode kernel may take
/// (which include what the table kernel left). With `onlyMarked`, only
/// matmuls marked for the kernel are taken.
LogicalResult applyTableAndDecodePatterns(Operation *root,
                                          KernelStrategy strategy,
                                          bool onlyMarked,
                                          RewritePatternSet &&tables,
                                          RewritePatternSet &&decode);

} // namespace mlir::sherry

#endif // SHERRY_CONVERSION_KERNELCOMMON_KERNELCHOICE_H
