//===- SherryToX86.h - sherry.matmul to x86 SIMD kernels --------*- C++ -*-===//

#ifndef SHERRY_CONVERSION_SHERRYTOX86_SHERRYTOX86_H
#define SHERRY_CONVERSION_SHERRYTOX86_SHERRYTOX86_H

#include <cstdint>

namespace mlir {
class RewritePatternSet;

namespace sherry {
/// Patterns that lower int8-mode sherry.matmul on tensors to the micro-kernel
/// with AVX-512 (BW, VBMI, VNNI) chunk arithmetic: codes decode through a
/// 128-byte table with one vpermt2b, products accumulate with vpdpbusd.
void populateSherryToX86Patterns(RewritePatternSet &patterns, int64_t rowBlock,
                                 int64_t batchBlock);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_CONVERSION_SHERRYTOX86_SHERRYTOX86_H
