//===- Regroup.h - K-order changes between packed layouts -------*- C++ -*-===//
//
// The stq1_0 layout orders the elements of each 64 lane by lane (element
// 16p + l is lane p of group l); the sherry layout, the micro-kernels and
// the table kernels read groups of four adjacent elements. The regrouping
// is shared by the linalg lowering and every kernel.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_CONVERSION_KERNELCOMMON_REGROUP_H
#define SHERRY_CONVERSION_KERNELCOMMON_REGROUP_H

#include "mlir/IR/Builders.h"

namespace mlir::sherry {

/// Reorders the K dimension of an N x K tensor (K a multiple of 64) between
/// the `stq1_0` layout's element order and its group order: inside each 64
/// elements, element 16p + l is lane p of group l. With `toGroupMajor`,
/// element 16p + l moves to 4l + p, so that group g holds 4g .. 4g + 3 as
/// in the `sherry` layout; without, back.
Value regroupStq1_0(OpBuilder &b, Location loc, Value x, bool toGroupMajor);

} // namespace mlir::sherry

#endif // SHERRY_CONVERSION_KERNELCOMMON_REGROUP_H
