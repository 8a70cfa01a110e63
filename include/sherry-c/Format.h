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

#include <stdbool.h>
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
  /// The codes in the order of the table kernels, grouped as sherry or
  /// stq1_0 group K (sherryPackedWeightsGetGrouping), separate f32 scales
  /// (docs/format.md, section 3.3).
  SherryLayoutTables = 2,
} SherryLayout;

/// The code order of the tables layout (values as in the `.sherry` file
/// header).
typedef enum SherryTableOrder {
  /// vpermb (AVX-512 VBMI): two groups' codes per table.
  SherryTableOrderPairs = 0,
  /// vpshufb and tbl (AVX2, AVX-512BW, NEON): 16-entry tables, the sign
  /// applied after the lookup; the counts of negative groups follow.
  SherryTableOrderLanes = 1,
  /// vpermw (AVX-512): whole codes in 16-bit words; K % 64 == 0.
  SherryTableOrderWords = 2,
} SherryTableOrder;

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
/// `layout` is sherry or stq1_0; from the tables layout as well.
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryPackedWeightsConvert(SherryPackedWeights packed, SherryLayout layout,
                           SherryPackedWeights *result,
                           MlirStringCallback errorCallback, void *userData);

/// The tables layout of `packed` (any layout), in `order` with tiles of 32
/// rows interleaved `tileBlock` at a time (1..64): its grouping kept, its
/// scales apart (stq1_0's f16 block scales exactly, as group 256). What a
/// compiled model whose weights are `#sherry.layout<tables, ...>` arguments
/// takes. Fails where K or the scale regions do not suit the order.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryPackedWeightsToTables(
    SherryPackedWeights packed, SherryTableOrder order, int64_t tileBlock,
    SherryPackedWeights *result, MlirStringCallback errorCallback,
    void *userData);

/// Builds table-order weights from raw sections: `grouping` (sherry or
/// stq1_0), `order` and `tileBlock` as sherryPackedWeightsToTables takes
/// them, f32 scales of `granularity`. The bytes are checked: sizes, the
/// counts of negative groups, the padding rows.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryPackedWeightsCreateTables(
    SherryLayout grouping, SherryTableOrder order, int64_t tileBlock,
    SherryGranularity granularity, int64_t groupSize, int64_t rows,
    int64_t cols, const uint8_t *data, int64_t dataSize, const float *scales,
    int64_t numScales, SherryPackedWeights *result,
    MlirStringCallback errorCallback, void *userData);

MLIR_CAPI_EXPORTED void sherryPackedWeightsDestroy(SherryPackedWeights packed);

MLIR_CAPI_EXPORTED SherryLayout
sherryPackedWeightsGetLayout(SherryPackedWeights packed);
/// Which K elements form a group: the layout itself, or for the tables
/// layout sherry or stq1_0.
MLIR_CAPI_EXPORTED SherryLayout
sherryPackedWeightsGetGrouping(SherryPackedWeights packed);
/// The tables layout's order (lanes for other layouts) and tile block (0
/// for other layouts).
MLIR_CAPI_EXPORTED SherryTableOrder
sherryPackedWeightsGetTableOrder(SherryPackedWeights packed);
MLIR_CAPI_EXPORTED int64_t
sherryPackedWeightsGetTileBlock(SherryPackedWeights packed);
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

/// The packed bytes (rows * bytes-per-row; the tables layout's codes and
/// counts), valid while `packed` lives.
MLIR_CAPI_EXPORTED const uint8_t *
sherryPackedWeightsGetData(SherryPackedWeights packed);
MLIR_CAPI_EXPORTED int64_t
sherryPackedWeightsGetDataSize(SherryPackedWeights packed);
/// Bytes per row: 5K/32 for sherry, 42K/256 for stq1_0, 0 for the tables
/// layout (whose bytes are tiles of 32 rows).
MLIR_CAPI_EXPORTED int64_t
sherryPackedWeightsGetRowBytes(SherryPackedWeights packed);

/// The scales as f32 values, valid while `packed` lives: 1, M or M * K/G of
/// them for sherry and tables; for stq1_0 the block scales decoded from the
/// bytes, M * K/256 of them (row-major [M, K/256]).
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

//===----------------------------------------------------------------------===//
// Mapped .sherry files: a compiled model's weight arguments
//===----------------------------------------------------------------------===//

/// A `.sherry` file mapped into memory, read-only: its packed bytes are read
/// where they lie in the file, not copied. Release with
/// sherryMappedWeightsClose; the descriptors filled from it stay valid until
/// then.
typedef struct SherryMappedWeights {
  void *ptr;
} SherryMappedWeights;

/// What a compiled function's weight argument takes: its `#sherry.layout`
/// and shape.
typedef struct SherryWeightsSpec {
  int64_t rows, cols;
  /// sherry, stq1_0 or tables.
  SherryLayout layout;
  /// For the tables layout: its grouping (sherry or stq1_0), order and tile
  /// block; ignored otherwise.
  SherryLayout grouping;
  SherryTableOrder order;
  int64_t tileBlock;
  SherryGranularity granularity;
  /// G for group granularity, 0 otherwise.
  int64_t groupSize;
} SherryWeightsSpec;

/// Maps `path` (docs/format.md, section 6.1) and verifies it as
/// sherryPackedWeightsLoad does: the header, the sizes, every group, the
/// tables layout's counts and padding, finite scales. The scales are kept in
/// aligned memory (a file's f32 values may sit at any offset).
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryMappedWeightsOpen(MlirStringRef path, SherryMappedWeights *result,
                        MlirStringCallback errorCallback, void *userData);
MLIR_CAPI_EXPORTED void sherryMappedWeightsClose(SherryMappedWeights weights);

MLIR_CAPI_EXPORTED int64_t
sherryMappedWeightsGetRows(SherryMappedWeights weights);
MLIR_CAPI_EXPORTED int64_t
sherryMappedWeightsGetCols(SherryMappedWeights weights);
MLIR_CAPI_EXPORTED SherryLayout
sherryMappedWeightsGetLayout(SherryMappedWeights weights);

/// Fails, naming both, where the file holds other weights than `spec` says
/// (shape, layout, grouping, order, tile block or scales): a function given
/// them would compute a wrong result or read past them.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryMappedWeightsExpect(
    SherryMappedWeights weights, const SherryWeightsSpec *spec,
    MlirStringCallback errorCallback, void *userData);

/// Fills `descriptor`, a ranked memref descriptor of `rank` (two pointers, an
/// int64 offset, `rank` int64 sizes, `rank` int64 strides: the
/// `sherry_memref_i8_<rank>d` a sherry-compile header declares), with the
/// packed bytes: rank 2, M x bytes per row, for sherry and stq1_0; rank 1,
/// the data bytes, for the tables layout. Fails on another rank.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryMappedWeightsGetData(
    SherryMappedWeights weights, intptr_t rank, void *descriptor,
    MlirStringCallback errorCallback, void *userData);

/// The same for the f32 scales: rank 1, [1] (tensor) or [M] (row); rank 2,
/// [M, K/G] (group; the tables layout of the stq1_0 grouping has
/// [M, K/256]). Fails for stq1_0, whose scales are inside its blocks.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryMappedWeightsGetScales(
    SherryMappedWeights weights, intptr_t rank, void *descriptor,
    MlirStringCallback errorCallback, void *userData);

//===----------------------------------------------------------------------===//
// GGUF files (llama.cpp's container, docs/format.md section 6.3)
//===----------------------------------------------------------------------===//

/// A GGUF file in memory: its metadata (every value type, in file order) and
/// its tensors (in file order, with their bytes). Owned by the caller;
/// release with sherryGgufDestroy. Loading then saving gives the same bytes
/// for files laid out as llama.cpp writes them.
typedef struct SherryGguf {
  void *ptr;
} SherryGguf;

/// The default ggml type id of STQ1_0 tensors (42: the id of the published
/// STQ1_0 models; STQ1_0 is not in upstream ggml). Every GGUF function
/// takes the id to use, so files that number it otherwise can be read.
MLIR_CAPI_EXPORTED uint32_t sherryGgufDefaultStq1Type(void);

/// Whether a ggml that postdates the STQ1_0 files gives `stq1Type` to a
/// type of its own (the default 42 is upstream's Q2_0 since July 2026): if
/// so, `callback` (which may be NULL) gets what that type is, as a phrase
/// that follows "type id N is", and the result is true.
MLIR_CAPI_EXPORTED bool
sherryGgufDescribeStq1TypeCollision(uint32_t stq1Type,
                                    MlirStringCallback callback,
                                    void *userData);

/// An empty GGUF (version 3, no metadata, no tensors) whose STQ1_0 tensors
/// get type id `stq1Type`. Fails when `stq1Type` is an upstream ggml type.
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryGgufCreate(uint32_t stq1Type, SherryGguf *result,
                 MlirStringCallback errorCallback, void *userData);

/// Reads and verifies a GGUF file (hardened against arbitrary bytes).
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryGgufLoad(MlirStringRef path, uint32_t stq1Type, SherryGguf *result,
               MlirStringCallback errorCallback, void *userData);

/// Writes the file; refuses (writing nothing) what a reader would refuse.
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryGgufSave(SherryGguf gguf, MlirStringRef path,
               MlirStringCallback errorCallback, void *userData);

MLIR_CAPI_EXPORTED void sherryGgufDestroy(SherryGguf gguf);

MLIR_CAPI_EXPORTED uint32_t sherryGgufGetVersion(SherryGguf gguf);
MLIR_CAPI_EXPORTED uint32_t sherryGgufGetStq1Type(SherryGguf gguf);
/// `general.alignment`, 32 when absent (0 when it is invalid).
MLIR_CAPI_EXPORTED uint64_t sherryGgufGetAlignment(SherryGguf gguf);

/// Metadata entries, by index in file order.
MLIR_CAPI_EXPORTED intptr_t sherryGgufGetNumMetadata(SherryGguf gguf);
/// The key of entry `index`, valid until the metadata changes.
MLIR_CAPI_EXPORTED MlirStringRef sherryGgufGetMetadataKey(SherryGguf gguf,
                                                          intptr_t index);
/// The index of `key`, or -1.
MLIR_CAPI_EXPORTED intptr_t sherryGgufFindMetadata(SherryGguf gguf,
                                                   MlirStringRef key);
/// Hands the value of entry `index` to `callback` once, as GGUF encodes it
/// after a key: a u32 value type (0 = u8, 1 = i8, 2 = u16, 3 = i16, 4 = u32,
/// 5 = i32, 6 = f32, 7 = bool, 8 = string, 9 = array, 10 = u64, 11 = i64,
/// 12 = f64), then the value (little endian; a string is a u64 length and
/// its bytes; an array a u32 element type, a u64 count and the elements).
MLIR_CAPI_EXPORTED void sherryGgufGetMetadataValue(SherryGguf gguf,
                                                   intptr_t index,
                                                   MlirStringCallback callback,
                                                   void *userData);
/// Sets `key` (in place, or appended) to a value in the encoding above;
/// fails when the bytes are not exactly one valid value.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryGgufSetMetadataValue(
    SherryGguf gguf, MlirStringRef key, const uint8_t *value, int64_t size,
    MlirStringCallback errorCallback, void *userData);
/// Removes `key`; false when absent.
MLIR_CAPI_EXPORTED bool sherryGgufRemoveMetadata(SherryGguf gguf,
                                                 MlirStringRef key);

/// Tensors, by index in file order.
MLIR_CAPI_EXPORTED intptr_t sherryGgufGetNumTensors(SherryGguf gguf);
/// The index of the tensor named `name`, or -1.
MLIR_CAPI_EXPORTED intptr_t sherryGgufFindTensor(SherryGguf gguf,
                                                 MlirStringRef name);
/// Name, ggml type id and ggml type name ("f32", "q8_0", "stq1_0", ...) of
/// a tensor; the strings are valid until the tensors change.
MLIR_CAPI_EXPORTED MlirStringRef sherryGgufGetTensorName(SherryGguf gguf,
                                                         intptr_t index);
MLIR_CAPI_EXPORTED uint32_t sherryGgufGetTensorType(SherryGguf gguf,
                                                    intptr_t index);
MLIR_CAPI_EXPORTED MlirStringRef sherryGgufGetTensorTypeName(SherryGguf gguf,
                                                             intptr_t index);
/// The dims as GGUF lists them: innermost (contiguous) first, so an M x K
/// matrix has dims {K, M}.
MLIR_CAPI_EXPORTED intptr_t sherryGgufGetTensorRank(SherryGguf gguf,
                                                    intptr_t index);
MLIR_CAPI_EXPORTED uint64_t sherryGgufGetTensorDim(SherryGguf gguf,
                                                   intptr_t index, intptr_t d);
/// The tensor's bytes, valid until the tensors change.
MLIR_CAPI_EXPORTED const uint8_t *sherryGgufGetTensorData(SherryGguf gguf,
                                                          intptr_t index);
MLIR_CAPI_EXPORTED int64_t sherryGgufGetTensorDataSize(SherryGguf gguf,
                                                       intptr_t index);

/// Bytes moved out of a GGUF file (sherryGgufTakeTensorData), owned by the
/// caller; release with sherryBytesDestroy.
typedef struct SherryBytes {
  void *ptr;
} SherryBytes;

/// Moves the tensor's bytes out of `gguf` without copying them: `*data` and
/// `*size` describe them until sherryBytesDestroy(*result). The tensor
/// stays, with no bytes (a file that still has it cannot be saved), until
/// it is removed. A loader that takes each tensor's bytes this way never
/// holds two copies of one. Fails on a bad index.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryGgufTakeTensorData(
    SherryGguf gguf, intptr_t index, SherryBytes *result, const uint8_t **data,
    int64_t *size, MlirStringCallback errorCallback, void *userData);
MLIR_CAPI_EXPORTED void sherryBytesDestroy(SherryBytes bytes);

/// The packed weights of an STQ1_0 tensor (layout stq1_0, M x K for dims
/// {K, M}). Fails on another type or a NaN/Inf block scale.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryGgufGetTensorPacked(
    SherryGguf gguf, intptr_t index, SherryPackedWeights *result,
    MlirStringCallback errorCallback, void *userData);
/// Writes the elements of an f32, f16 or bf16 tensor as f32 (exactly), as
/// many as the product of its dims.
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryGgufGetTensorFloats(SherryGguf gguf, intptr_t index, float *values,
                          MlirStringCallback errorCallback, void *userData);

/// Sets the tensor `name` (replaced in place, or appended) to STQ1_0
/// weights; fails unless `packed` is in the stq1_0 layout.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryGgufSetTensorPacked(
    SherryGguf gguf, MlirStringRef name, SherryPackedWeights packed,
    MlirStringCallback errorCallback, void *userData);
/// Sets the tensor `name` to raw bytes of any known ggml type (`type`), with
/// `rank` dims innermost first; `size` must be what the dims and type need.
/// f32 and f16 floats are raw bytes of type 0 and 1.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryGgufSetTensorData(
    SherryGguf gguf, MlirStringRef name, intptr_t rank, const uint64_t *dims,
    uint32_t type, const uint8_t *data, int64_t size,
    MlirStringCallback errorCallback, void *userData);
/// Removes the tensor `name`; false when absent.
MLIR_CAPI_EXPORTED bool sherryGgufRemoveTensor(SherryGguf gguf,
                                               MlirStringRef name);

#ifdef __cplusplus
}
#endif

#endif // SHERRY_C_FORMAT_H
