//===- SherryToVector.h - sherry.matmul to a vector kernel ------*- C++ -*-===//

#ifndef SHERRY_CONVERSION_SHERRYTOVECTOR_SHERRYTOVECTOR_H
#define SHERRY_CONVERSION_SHERRYTOVECTOR_SHERRYTOVECTOR_H

#include <cstdint>

namespace mlir {
class RewritePatternSet;

namespace sherry {
/// Patterns that lower sherry.matmul on tensors to loops around a vector
/// micro-kernel decoding packed chunks in registers, in blocks of `rowBlock`
/// output rows by `batchBlock` activation rows.
void populateSherryToVectorPatterns(RewritePatternSet &patterns,
                                    int64_t rowBlock, int64_t batchBlock);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_CONVERSION_SHERRYTOVECTOR_SHERRYTOVECTOR_H
