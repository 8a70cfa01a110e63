/*===- Format.h - C API: the Sherry weight format -----------------*- C -*-===*\
|*                                                                            *|
|* Ternarize, pack, unpack, dequantize, convert, save and load Sherry         *|
|* weights over plain C buffers. Every bit comes from the C++ format library  *|
|* (sherry/Format/Format.h, docs/format.md); this layer only moves buffers.  *|
|*                                                                            *|
|* Errors: a fallible function returns an MlirLogicalResult and, on failure, *|
|* calls `errorCallback(message, userData)` once with the whole message      *|
|* (the callback may be NULL). Nothing here aborts on bad input.              *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef SHERRY_C_FORMAT_H
#define SHERRY_C_FORMAT_H

#include "mlir-c/Support.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The physical layout (values as in the `.sherry` file header).
typedef enum SherryLayout {
  /// Groups contiguous along K, K/8 slot bytes then K/32 sign bytes per row,
  /// separate scales; K % 32 == 0.
  SherryLayoutSherry = 0,
  /// llama.cpp STQ1_0: 42-byte blocks of 256 K elements with an f16 scale
  /// inside; K % 256 == 0.
  SherryLayoutStq1_0 = 1,
} SherryLayout;

/// Where the scales live (values as in the `.sherry` file header).
typedef enum SherryGranularity {
  SherryGranularityTensor = 0,
  SherryGranularityRow = 1,
  SherryGranularityGroup = 2,
} SherryGranularity;

/// The element type of the separate scales of the `sherry` layout. f16
/// rounds each scale to half precision (nearest even), as
/// `#sherry.layout<..., scale_type = f16>` does. `stq1_0` always keeps f16
/// scales inside its blocks.
typedef enum SherryScaleType {
  SherryScaleTypeF32 = 0,
  SherryScaleTypeF16 = 1,
} SherryScaleType;

/// Packed weights: the bytes of one layout plus the scales. Owned by the
/// caller; release with sherryPackedWeightsDestroy.
typedef struct SherryPackedWeights {
  void *ptr;
} SherryPackedWeights;

/// Ternarizes `weights` (rows x cols f32, row-major, M x K as
/// torch.nn.Linear stores it) by the exact L2 projection of the format and
/// packs it in `layout`. `groupSize` is G for SherryGranularityGroup and
/// ignored otherwise. `stq1_0` accepts tensor, row, or group with G a
/// multiple of 256, and stores one f16 scale per 256-element block whatever
/// `scaleType` says. The same weights and options give the bytes
/// `sherry-pack pack` writes.
/// Fails on a bad shape (K not a multiple of 32 / 256), a bad group size or
/// a NaN/Inf weight (the message names its position).
MLIR_CAPI_EXPORTED MlirLogicalResult sherryQuantize(
    const float *weights, int64_t rows, int64_t cols, SherryLayout layout,
    SherryGranularity granularity, int64_t groupSize, SherryScaleType scaleType,
    SherryPackedWeights *result, MlirStringCallback errorCallback,
    void *userData);

/// Builds packed weights from raw sections (e.g. the data and scales of a
/// compiled model's arguments). `scales` holds `numScales` f32 values
/// (none for stq1_0). The bytes are checked: sizes, and that every group
/// decodes.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryPackedWeightsCreate(
    SherryLayout layout, SherryGranularity granularity, int64_t groupSize,
    int64_t rows, int64_t cols, const uint8_t *data, int64_t dataSize,
    const float *scales, int64_t numScales, SherryPackedWeights *result,
    MlirStringCallback errorCallback, void *userData);

/// Reads and fully verifies a `.sherry` file (docs/format.md, section 6.1).
/// Its scale type is f32 (the file stores f32 scales).
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryPackedWeightsLoad(MlirStringRef path, SherryPackedWeights *result,
                        MlirStringCallback errorCallback, void *userData);

/// Writes a `.sherry` file (f16 scales are written as their exact f32
/// values).
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryPackedWeightsSave(SherryPackedWeights packed, MlirStringRef path,
                        MlirStringCallback errorCallback, void *userData);

/// Converts to another layout through the ternary values (lossless; fails
/// where the layouts group K differently in a way the zeros do not allow).
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryPackedWeightsConvert(SherryPackedWeights packed, SherryLayout layout,
                           SherryPackedWeights *result,
                           MlirStringCallback errorCallback, void *userData);

MLIR_CAPI_EXPORTED void sherryPackedWeightsDestroy(SherryPackedWeights packed);

MLIR_CAPI_EXPORTED SherryLayout
sherryPackedWeightsGetLayout(SherryPackedWeights packed);
/// The granularity of the scales as stored: stq1_0 always reports group 256.
MLIR_CAPI_EXPORTED SherryGranularity
sherryPackedWeightsGetGranularity(SherryPackedWeights packed);
/// G for group granularity, 0 otherwise.
MLIR_CAPI_EXPORTED int64_t
sherryPackedWeightsGetGroupSize(SherryPackedWeights packed);
MLIR_CAPI_EXPORTED SherryScaleType
sherryPackedWeightsGetScaleType(SherryPackedWeights packed);
MLIR_CAPI_EXPORTED int64_t sherryPackedWeightsGetRows(SherryPackedWeights p);
MLIR_CAPI_EXPORTED int64_t sherryPackedWeightsGetCols(SherryPackedWeights p);

/// The packed bytes (rows * bytes-per-row), valid while `packed` lives.
MLIR_CAPI_EXPORTED const uint8_t *
sherryPackedWeightsGetData(SherryPackedWeights packed);
MLIR_CAPI_EXPORTED int64_t
sherryPackedWeightsGetDataSize(SherryPackedWeights packed);
/// Bytes per row: 5K/32 for sherry, 42K/256 for stq1_0.
MLIR_CAPI_EXPORTED int64_t
sherryPackedWeightsGetRowBytes(SherryPackedWeights packed);

/// The scales as f32 values, valid while `packed` lives: 1, M or M * K/G of
/// them for sherry; for stq1_0 the block scales decoded from the bytes,
/// M * K/256 of them (row-major [M, K/256]).
MLIR_CAPI_EXPORTED const float *
sherryPackedWeightsGetScales(SherryPackedWeights packed);
MLIR_CAPI_EXPORTED int64_t
sherryPackedWeightsGetNumScales(SherryPackedWeights packed);

/// Bits per weight counting the bytes and the scales (f32 scales count 32
/// bits, f16 scales 16; stq1_0 scales are inside the bytes).
MLIR_CAPI_EXPORTED double
sherryPackedWeightsGetBitsPerWeight(SherryPackedWeights packed);

/// ||W - W'|| / ||W|| (0 for W = 0) of what is stored, for weights made by
/// sherryQuantize; NaN for weights that were loaded or created from bytes.
/// The same number `sherry-pack pack` prints as relative-l2-error.
MLIR_CAPI_EXPORTED double
sherryPackedWeightsGetProjectionError(SherryPackedWeights packed);

/// Writes the ternary values (rows * cols int8 in {-1, 0, +1}, row-major).
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryPackedWeightsUnpack(SherryPackedWeights packed, int8_t *values,
                          MlirStringCallback errorCallback, void *userData);

/// Writes W'[m,k] = scale(m,k) * T[m,k] (rows * cols f32, row-major).
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryPackedWeightsDequantize(SherryPackedWeights packed, float *weights,
                              MlirStringCallback errorCallback, void *userData);

#ifdef __cplusplus
}
#endif

#endif // SHERRY_C_FORMAT_H
