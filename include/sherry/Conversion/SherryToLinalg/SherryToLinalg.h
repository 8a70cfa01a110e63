//===- SherryToLinalg.h - sherry decoding to linalg -------------*- C++ -*-===//

#ifndef SHERRY_CONVERSION_SHERRYTOLINALG_SHERRYTOLINALG_H
#define SHERRY_CONVERSION_SHERRYTOLINALG_SHERRYTOLINALG_H

namespace mlir {
class RewritePatternSet;

namespace sherry {
/// Patterns that lower sherry.unpack and sherry.dequantize to linalg.generic
/// decoding on tensors.
void populateSherryToLinalgPatterns(RewritePatternSet &patterns);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_CONVERSION_SHERRYTOLINALG_SHERRYTOLINALG_H
