//===- ShuffleKernel.h - sherry.matmul on AVX2 and AVX-512BW ----*- C++ -*-===//
//
// The decode micro-kernel for x86 CPUs without VBMI and VNNI, built on
// vpshufb (ShuffleKernel.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_LIB_CONVERSION_SHERRYTOX86_SHUFFLEKERNEL_H
#define SHERRY_LIB_CONVERSION_SHERRYTOX86_SHUFFLEKERNEL_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::sherry {

/// Adds the rewrite of int8 sherry.matmul (64-element chunks) into the
/// vpshufb micro-kernel: AVX-512BW with `avx512`, else AVX2.
void populateByteShuffleKernelPatterns(RewritePatternSet &patterns, bool avx512,
                                       int64_t rowBlock, int64_t batchBlock);

} // namespace mlir::sherry

#endif // SHERRY_LIB_CONVERSION_SHERRYTOX86_SHUFFLEKERNEL_H
