//===- SherryToLinalg.h - sherry decoding to linalg -------------*- C++ -*-===//

#ifndef SHERRY_CONVERSION_SHERRYTOLINALG_SHERRYTOLINALG_H
#define SHERRY_CONVERSION_SHERRYTOLINALG_SHERRYTOLINALG_H

#include "mlir/IR/Builders.h"

namespace mlir {
class RewritePatternSet;

namespace sherry {
/// Patterns that lower the sherry ops on tensors to linalg: unpack,
/// dequantize, quantize_activations, matmul, ternarize and pack.
void populateSherryToLinalgPatterns(RewritePatternSet &patterns);

/// Reorders the K dimension of an N x K tensor (K a multiple of 64) between
/// the `stq1_0` layout's element order and its group order: inside each 64
/// elements, element 16p + l is lane p of group l. With `toGroupMajor`,
/// element 16p + l moves to 4l + p, so that group g holds 4g .. 4g + 3 as
/// in the `sherry` layout; without, back.
Value regroupStq1_0(OpBuilder &b, Location loc, Value x, bool toGroupMajor);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_CONVERSION_SHERRYTOLINALG_SHERRYTOLINALG_H
