//===- Format.h - The Sherry 1.25-bit weight format -------------*- C++ -*-===//
//
// The single source of truth for the bits of the Sherry format
// (shared/spec/format.md, mirrored in docs/format.md): ternarization, the
// 5-bit group code, the two physical layouts and the reference matmul that
// every kernel of the compiler is tested against.
//
// Conventions: a weight matrix W is M x K row-major (M output features, K
// input features, as torch.nn.Linear stores it); activations x are N x K
// row-major; y = x * W'^T is N x M row-major.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_FORMAT_FORMAT_H
#define SHERRY_FORMAT_FORMAT_H

#include "sherry/Format/Result.h"

#include <array>
#include <optional>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sherry::format {

//===----------------------------------------------------------------------===//
// Group code
//===----------------------------------------------------------------------===//

/// The decoding codebook: code c (0..31) as one byte of four 2-bit lanes,
/// lane p at bits 2p..2p+1 holding t+1 (0 = -1, 1 = 0, 2 = +1).
extern const std::array<uint8_t, 32> kCodebook;

/// A ternary group of four lanes, each in {-1, 0, +1}.
using Group = std::array<int8_t, 4>;

/// Encodes a group with exactly one zero lane into its 5-bit code
/// (sign << 4 | z << 2 | b1 << 1 | b0). Fails on a lane outside {-1,0,1} or on
/// a group that does not have exactly one zero.
Result<uint8_t> encodeGroup(const Group &group);

/// Decodes a 5-bit code; fails when code > 31.
Result<Group> decodeGroup(uint8_t code);

//===----------------------------------------------------------------------===//
// Layouts and scales
//===----------------------------------------------------------------------===//

/// The physical layout of packed weights.
enum class Layout {
  /// Canonical: groups contiguous along K; per row K/8 slot bytes then K/32
  /// sign bytes; f32 scales in a separate array. K % 32 == 0.
  Sherry,
  /// llama.cpp STQ1_0: 42-byte blocks of 256 K elements (qs[32], sign[8],
  /// f16 d), groups strided by 16 inside 64-element chunks. K % 256 == 0.
  Stq1_0,
};

/// Where the scales live.
enum class Granularity {
  Tensor, ///< one scale for the whole matrix
  Row,    ///< one scale per output row (the paper's Eq. 5)
  Group,  ///< one scale per G consecutive K elements of a row
};

struct ScaleSpec {
  Granularity granularity = Granularity::Row;
  /// G for Granularity::Group (a positive multiple of 4 dividing K); ignored
  /// otherwise.
  int64_t groupSize = 0;

  static ScaleSpec tensor() { return {Granularity::Tensor, 0}; }
  static ScaleSpec row() { return {Granularity::Row, 0}; }
  static ScaleSpec group(int64_t g) { return {Granularity::Group, g}; }
  bool operator==(const ScaleSpec &o) const {
    return granularity == o.granularity &&
           (granularity != Granularity::Group || groupSize == o.groupSize);
  }
  bool operator!=(const ScaleSpec &o) const { return !(*this == o); }
};

std::string_view layoutName(Layout layout); // "sherry", "stq1_0"
Result<Layout> parseLayout(std::string_view name);
std::string_view granularityName(Granularity g); // "tensor", "row", "group"
Result<Granularity> parseGranularity(std::string_view name);
/// "tensor", "row" or "group:G".
std::string scaleSpecName(const ScaleSpec &spec);

/// The K elements that form group g (0-based, g < K/4) of a row, in lane
/// order, for a layout: Sherry {4g..4g+3}; Stq1_0, with b = g/64,
/// c = (g%64)/16, l = g%16: {256b + 64c + l + 16p | p = 0..3}.
std::array<int64_t, 4> groupElements(Layout layout, int64_t g);

/// Checks that a layout accepts a K (Sherry: K % 32 == 0, Stq1_0:
/// K % 256 == 0), that M, K are positive and that M * K fits in int64_t;
/// the message names the value.
Status checkShape(Layout layout, int64_t rows, int64_t cols);

/// Checks that a scale spec is valid for K (G > 0, G % 4 == 0, K % G == 0).
Status checkScaleSpec(const ScaleSpec &spec, int64_t cols);

/// Number of scales: 1, M, or M * (K / G).
int64_t numScales(const ScaleSpec &spec, int64_t rows, int64_t cols);

/// Index into the scale array of element (m, k).
int64_t scaleIndex(const ScaleSpec &spec, int64_t rows, int64_t cols, int64_t m,
                   int64_t k);

//===----------------------------------------------------------------------===//
// Ternary matrices
//===----------------------------------------------------------------------===//

/// Logical weights: ternary values plus scales, W'[m,k] = scale * T[m,k].
/// `layout` records which K elements form a group (the 3:4 constraint holds
/// per group of that layout); it does not say anything about bytes.
struct TernaryMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  Layout layout = Layout::Sherry;
  ScaleSpec scaleSpec;
  std::vector<int8_t> values; ///< rows * cols, each in {-1, 0, +1}
  std::vector<float> scales;  ///< numScales(scaleSpec, rows, cols)

  float scaleAt(int64_t m, int64_t k) const {
    return scales[scaleIndex(scaleSpec, rows, cols, m, k)];
  }
  int8_t at(int64_t m, int64_t k) const { return values[m * cols + k]; }

  /// Checks sizes, value range and the 3:4 constraint of every group.
  Status verify() const;
};

/// The exact L2 projection of float weights onto the format: in every group
/// (as `layout` groups K) the smallest |w| becomes 0 (ties: lowest lane), the
/// others sign(w) with sign(0) = +1; each scale is mean |w| over the kept
/// weights of its region (0 when they are all 0). Fails on a bad shape, a bad
/// scale spec or a NaN/Inf weight (the message names its position).
Result<TernaryMatrix> ternarize(const float *weights, int64_t rows,
                                int64_t cols, Layout layout,
                                const ScaleSpec &spec);

/// W' = scale * T as floats (rows * cols, row-major).
std::vector<float> dequantize(const TernaryMatrix &matrix);

/// Squared L2 distance between `weights` and the dequantized matrix.
double projectionError2(const float *weights, const TernaryMatrix &matrix);

//===----------------------------------------------------------------------===//
// The tables layout: codes in the order of the activation-table kernels
//===----------------------------------------------------------------------===//

/// Rows per tile of the interleaved layout.
constexpr int64_t kTableTileRows = 32;
/// Bytes per tile and step of 16 K elements (4 groups): 64 nibble bytes and
/// two 8-byte sign masks.
constexpr int64_t kTableStepBytes = 80;

/// How a tile's 64 nibble bytes per step are ordered, for the table
/// lookup the kernel has.
enum class TableOrder {
  /// For a 64-byte lookup of 64-entry tables (vpermb): two groups' 32 codes
  /// per table, both of a row's groups in adjacent bytes.
  GroupPairs,
  /// For 16-byte lookups of 16-entry tables (vpshufb per 128-bit lane,
  /// AArch64 tbl): 16 bytes per group, the sign applied after the lookup.
  Lanes,
  /// For 16-bit lookups of 32-entry tables (vpermw): a row's whole 5-bit
  /// codes in 16-bit words, three to a word, the sixteenth group of every
  /// 64 K elements spread over the words' top bits. K must be a multiple
  /// of 64.
  WordFields,
};

/// How table-order weights lay out their codes; together with the grouping
/// (PackedWeights::layout) and the scale spec it fixes every byte.
struct TableLayout {
  TableOrder order = TableOrder::Lanes;
  /// Tiles of 32 rows whose steps interleave (interleaveForTables).
  int64_t tileBlock = 4;
  bool operator==(const TableLayout &o) const {
    return order == o.order && tileBlock == o.tileBlock;
  }
  bool operator!=(const TableLayout &o) const { return !(*this == o); }
};

/// The most tiles a table layout's block may interleave.
constexpr int64_t kMaxTableTileBlock = 64;

std::string_view tableOrderName(TableOrder order); // "pairs", "lanes", "words"
Result<TableOrder> parseTableOrder(std::string_view name);

/// K elements per scale region: the group size, or K.
int64_t scaleRegionLength(const ScaleSpec &spec, int64_t cols);

/// Bytes of each count of negative groups of the lanes order: 1 where a
/// scale region has at most 255 groups, else 2 (little endian).
int64_t tableCountBytes(int64_t segment);

/// The data bytes of table-order weights: the codes, ceil(M / 32) * K / 16
/// * 80 bytes, then in the lanes order the counts of negative groups,
/// ceil(M / 32) * (K / segment) * 32 of tableCountBytes(segment) each.
int64_t tableDataBytes(int64_t rows, int64_t cols, const ScaleSpec &spec,
                       const TableLayout &layout);

/// Checks that weights of this shape, grouping and scales can take the
/// table layout: a tile block in 1..kMaxTableTileBlock, scale regions of a
/// multiple of 16 elements (of 64, and K too, for the words order).
Status checkTableLayout(const TableLayout &layout, int64_t cols,
                        const ScaleSpec &spec);

//===----------------------------------------------------------------------===//
// Packed weights
//===----------------------------------------------------------------------===//

/// Weights in one of the physical layouts.
struct PackedWeights {
  /// The byte layout (sherry, stq1_0), or, with `tables`, which K elements
  /// form a group.
  Layout layout = Layout::Sherry;
  /// Set: the `tables` layout. The codes, grouped as `layout` groups K, are
  /// in the table kernels' order (interleaveForTables, then the counts of
  /// negative groups: tableDataBytes), and the scales are apart, f32, of
  /// any spec.
  std::optional<TableLayout> tables;
  int64_t rows = 0;
  int64_t cols = 0;
  /// Sherry: any spec, scales in `scales` (f32). Stq1_0: always
  /// ScaleSpec::group(256), scales inside the blocks and `scales` empty.
  ScaleSpec scaleSpec;
  std::vector<uint8_t> data;
  std::vector<float> scales;

  /// Bytes of `data` per row: Sherry K/8 + K/32; Stq1_0 42 * K/256. Not
  /// for the tables layout, which has no rows of bytes.
  int64_t rowBytes() const;
  /// Bytes of `data`, any layout.
  int64_t dataBytes() const;
  /// "sherry", "stq1_0", or "tables" with its grouping, order and block.
  std::string layoutDescription() const;
  /// Bits per weight counting data and scales.
  double bitsPerWeight() const;
  /// Checks the shape, the scale spec and the sizes of `data` and `scales`.
  Status verify() const;
};

/// Packs ternary weights. The matrix's layout must be `layout` (its groups
/// are what the codes encode). Stq1_0 needs scales constant over each
/// 256-element block (tensor, row, or group G with G % 256 == 0) and rounds
/// them to f16; a scale beyond the f16 range is an error.
Result<PackedWeights> pack(const TernaryMatrix &matrix, Layout layout);

/// Unpacks into ternary values and scales (Stq1_0: ScaleSpec::group(256),
/// f16 scales widened to f32). Fails when `packed.verify()` fails, and for
/// the tables layout where the counts of negative groups disagree with the
/// codes or a padding row's code is not 0: bytes that no conversion wrote.
Result<TernaryMatrix> unpack(const PackedWeights &packed);

/// Converts between layouts through the ternary values. Fails with a clear
/// message where the target grouping does not hold exactly one zero in every
/// group (the two layouts group K differently) or the scales do not fit.
/// To stq1_0 the scales are taken by value, so they need only agree inside
/// each 256-element block (they are rounded to f16); to sherry they become
/// ScaleSpec::group(256) f32 scales. The same layout gives a copy. From
/// the tables layout, target is sherry or stq1_0 bytes.
Result<PackedWeights> convert(const PackedWeights &packed, Layout target);

/// The tables layout of `packed` (any layout): its grouping kept, its codes
/// in `layout`'s order, its scales apart (stq1_0's f16 block scales widen
/// exactly to ScaleSpec::group(256) f32). Fails where checkTableLayout does.
Result<PackedWeights> toTables(const PackedWeights &packed,
                               const TableLayout &layout);

//===----------------------------------------------------------------------===//
// The table order of the codes (the `tables` layout, docs/format.md §3.3)
//===----------------------------------------------------------------------===//

/// The codes of `packed` regrouped for kernels that look up, for 32 rows at
/// once, per-group tables of activation sums: rows in tiles of 32 (the last
/// tile padded with code 0), and per tile, for each step s of 4 groups
/// (groups in layout order: g of a row is the g-th group of `packed`'s
/// layout, elements groupElements(layout, g)), 80 bytes. In
/// TableOrder::GroupPairs:
///   - 64 bytes: byte b holds row r = b / 2 of the tile; its low nibble is
///     the slot of group 4s + b % 2, its high nibble that of group
///     4s + 2 + b % 2;
///   - 8 bytes, a little-endian 64-bit mask: bit b is the sign bit of
///     (row b / 2, group 4s + b % 2);
///   - 8 bytes: bit b is the sign bit of (row b / 2, group 4s + 2 + b % 2).
/// In TableOrder::Lanes:
///   - 64 bytes: byte 16i + j holds group 4s + i; its low nibble is the
///     slot of row j, its high nibble that of row 16 + j;
///   - 8 bytes: bit 16i + j is the sign bit of (row j, group 4s + i);
///   - 8 bytes: bit 16i + j is the sign bit of (row 16 + j, group 4s + i).
/// In TableOrder::WordFields, steps go in fours (64 K elements, groups
/// 16u..16u+15 for u = s / 4), 320 bytes per four: 5 words v = 0..4 for each
/// of the 32 rows, little-endian, word v of row r at byte 64v + 2r. Bits
/// [5j, 5j + 5) of word v hold the whole code (slot | sign << 4) of group
/// 16u + 3v + j (j = 0, 1, 2); bit 15 of word v holds bit 4 - v of the code
/// of group 16u + 15.
/// ceil(rows / 32) * (K / 16) * 80 bytes in all: 1.25 bits per weight, as
/// the canonical layouts. Group membership is kept, so the same activation
/// sums apply.
///
/// With `tileBlock` > 1, for kernels that compute that many tiles at once,
/// the tiles of each whole block interleave step by step (a step being 80
/// bytes, or 320 in TableOrder::WordFields): the block's first step of
/// each tile in turn, then its second step of each, and so on, so that the
/// block reads one stream. Tile t of block b starts its step s at byte
/// (b * tileBlock) * tileBytes + s * tileBlock * stepBytes + (t % tileBlock)
/// * stepBytes. The tiles after the last whole block keep the order above.
Result<std::vector<uint8_t>>
interleaveForTables(const PackedWeights &packed,
                    TableOrder order = TableOrder::GroupPairs,
                    int64_t tileBlock = 1);

/// For kernels that negate a looked-up 16-bit sum bytewise (~s = -s - 1):
/// the number of groups with the sign bit set, per tile of 32 rows (padding
/// rows count 0), per `segment` K elements (a multiple of 16 dividing K)
/// and per row of the tile, in that order: ceil(rows / 32) * (K / segment)
/// * 32 counts, each at most segment / 4.
Result<std::vector<int32_t>> countNegativeGroups(const PackedWeights &packed,
                                                 int64_t segment);

//===----------------------------------------------------------------------===//
// Reference matmul: the oracle for every kernel
//===----------------------------------------------------------------------===//

/// Exact mode: y[n,m] = sum_k x[n,k] * W'[m,k], accumulated in double and
/// rounded to f32 once. Kernels match it within a float tolerance.
Result<std::vector<float>> matmulExact(const float *x, int64_t n,
                                       const TernaryMatrix &w);

/// Int8 activations with a symmetric absmax scale per block of `blockSize`
/// consecutive K elements of each row (blockSize == K: per row).
struct QuantizedActivations {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t blockSize = 0;
  std::vector<int8_t> values; ///< rows * cols
  std::vector<float> scales;  ///< rows * (cols / blockSize)
};

/// absmax = max |x| of the block; scale = absmax / 127; q = x * (127 /
/// absmax) rounded to nearest, ties to even (as vcvtps2dq / fcvtns do),
/// clamped to [-127, 127]. An all-zero block gets scale 0 and q = 0. Fails on
/// NaN/Inf or a blockSize that does not divide K (0 means per row).
Result<QuantizedActivations> quantizeActivations(const float *x, int64_t rows,
                                                 int64_t cols,
                                                 int64_t blockSize = 0);

/// Fast mode, bit-exact definition: K is cut into segments at every boundary
/// of a weight scale region and of an activation block. For each segment s,
/// isum_s = sum q[n,k] * T[m,k] in int32, and in increasing k order
/// acc += (float)isum_s * alpha_s * xscale_s (f32, left to right); y = acc.
/// With one segment (per-row scales, per-row activations) that is
/// y = (float)isum * alpha * xscale.
Result<std::vector<float>> matmulInt8(const QuantizedActivations &x,
                                      const TernaryMatrix &w);

/// quantizeActivations + matmulInt8.
Result<std::vector<float>> matmulInt8(const float *x, int64_t n,
                                      const TernaryMatrix &w,
                                      int64_t actBlockSize = 0);

} // namespace sherry::format

#endif // SHERRY_FORMAT_FORMAT_H
