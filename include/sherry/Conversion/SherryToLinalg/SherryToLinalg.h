//===- SherryToLinalg.h - sherry decoding to linalg -------------*- C++ -*-===//

#ifndef SHERRY_CONVERSION_SHERRYTOLINALG_SHERRYTOLINALG_H
#define SHERRY_CONVERSION_SHERRYTOLINALG_SHERRYTOLINALG_H

#include "mlir/IR/Builders.h"

#include <optional>
#include <string>

namespace mlir {
class RewritePatternSet;

namespace sherry {
/// Patterns that lower the sherry ops on tensors to linalg: unpack,
/// dequantize, quantize_activations, matmul, ternarize and pack.
void populateSherryToLinalgPatterns(RewritePatternSet &patterns);

/// Why those patterns cannot lower the sherry op `op` (memref operands, a
/// dynamic size they need), or nothing where they can.
std::optional<std::string> whyNotLowerableToLinalg(Operation *op);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_CONVERSION_SHERRYTOLINALG_SHERRYTOLINALG_H
