//===- SherryToNeon.h - sherry.matmul to AArch64 NEON kernels ---*- C++ -*-===//

#ifndef SHERRY_CONVERSION_SHERRYTONEON_SHERRYTONEON_H
#define SHERRY_CONVERSION_SHERRYTONEON_SHERRYTONEON_H

#include "mlir/Dialect/ArmNeon/ArmNeonDialect.h"

#include <cstdint>

namespace mlir {
class RewritePatternSet;

namespace sherry {
/// Patterns that lower sherry.matmul on tensors to the micro-kernel with
/// AArch64 NEON chunk arithmetic: codes decode into signed ternary bytes
/// (table lookups); in int8 mode, with `dotprod`, products accumulate with
/// sdot (arm_neon.intr.sdot), four bytes per i32 lane, else (Armv8.0) with
/// smull (arm_neon.intr.smull) and pairwise widening adds; in exact mode,
/// with f32 FMA. A block size of 0 takes the kernel's default.
void populateSherryToNeonPatterns(RewritePatternSet &patterns, bool dotprod,
                                  int64_t rowBlock, int64_t batchBlock);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_CONVERSION_SHERRYTONEON_SHERRYTONEON_H
