//===- Lowerings.h - The linalg lowerings, by what they lower ---*- C++ -*-===//
//
// Private to SherryToLinalg: each file's patterns.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_CONVERSION_SHERRYTOLINALG_LOWERINGS_H
#define LIB_CONVERSION_SHERRYTOLINALG_LOWERINGS_H

namespace mlir {
class RewritePatternSet;

namespace sherry::linalg_lowering {

/// sherry.unpack and sherry.dequantize (WeightDecoding.cpp).
void populateWeightDecodingPatterns(RewritePatternSet &patterns);

/// sherry.quantize_activations and sherry.matmul (MatmulLowering.cpp).
void populateMatmulLoweringPatterns(RewritePatternSet &patterns);

/// sherry.ternarize, sherry.pack and sherry.repack (WeightEncoding.cpp).
void populateWeightEncodingPatterns(RewritePatternSet &patterns);

} // namespace sherry::linalg_lowering
} // namespace mlir

#endif // LIB_CONVERSION_SHERRYTOLINALG_LOWERINGS_H
