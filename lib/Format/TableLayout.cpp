//===- TableLayout.cpp - Codes in the order of the table kernels ----------===//
//
// The tables layout: the 5-bit codes of 32-row tiles, step by step, in the
// order the activation-table kernels read them (interleaveForTables), then,
// for the lanes order, each row's count of negative groups per scale region
// (what a kernel that complements negative sums adds back). Written here,
// read back here, and by the kernels (docs/format.md, section 3.3).
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <string>

namespace sherry::format {

namespace {

/// The code of every (row, group) of `matrix`, row-major, groups in the
/// matrix's layout order, through the codebook's own encoder.
Result<std::vector<uint8_t>> matrixCodes(const TernaryMatrix &t) {
  int64_t rows = t.rows, groups = t.cols / 4;
  std::vector<uint8_t> codes(rows * groups);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t g = 0; g < groups; ++g) {
      Group grp;
      std::array<int64_t, 4> ks = groupElements(t.layout, g);
      for (int q = 0; q < 4; ++q)
        grp[q] = t.at(m, ks[q]);
      Result<uint8_t> code = encodeGroup(grp);
      if (!code.ok())
        return code.getStatus();
      codes[m * groups + g] = *code;
    }
  return codes;
}

Result<std::vector<uint8_t>> groupCodes(const PackedWeights &packed) {
  Result<TernaryMatrix> t = unpack(packed);
  if (!t.ok())
    return t.getStatus();
  return matrixCodes(*t);
}

/// Where each (row, group) code of a rows x cols matrix sits in the table
/// order: `visit(slot, signByte, signBit, row, group)` for every position of
/// the lanes and pairs orders (`slot` a nibble: byte pointer and shift), and
/// the word fields of the words order through `visitWords`. Tiles of whole
/// blocks interleave step by step.
class TablePositions {
public:
  TablePositions(int64_t rows, int64_t cols, const TableLayout &layout)
      : rows(rows), steps(cols / 16), order(layout.order),
        block(layout.tileBlock),
        tiles((rows + kTableTileRows - 1) / kTableTileRows),
        tileBytes(steps * kTableStepBytes),
        blocked(tiles - tiles % layout.tileBlock) {}

  int64_t numTiles() const { return tiles; }
  int64_t codeBytes() const { return tiles * tileBytes; }

  /// The offset of step s (`stepBytes` long) of `tile`.
  int64_t stepAt(int64_t tile, int64_t s, int64_t stepBytes) const {
    int64_t first = tile < blocked ? tile - tile % block : tile;
    int64_t width = tile < blocked ? block : 1;
    return first * tileBytes + (s * width + tile - first) * stepBytes;
  }

  /// For the lanes and pairs orders: calls `fn(byte, shift, signByte,
  /// signBit, tileRow, group)` for each nibble of each step of `tile`.
  template <typename Fn> void forEachNibble(int64_t tile, Fn fn) const {
    for (int64_t s = 0; s < steps; ++s) {
      int64_t step = stepAt(tile, s, kTableStepBytes);
      for (int64_t b = 0; b < 2 * kTableTileRows; ++b) {
        // The (row, group) of the low and of the high nibble of byte b.
        int64_t lowRow, highRow, lowGroup, highGroup;
        if (order == TableOrder::GroupPairs) {
          lowRow = highRow = b / 2;
          lowGroup = 4 * s + b % 2;
          highGroup = lowGroup + 2;
        } else {
          lowRow = b % 16;
          highRow = lowRow + 16;
          lowGroup = highGroup = 4 * s + b / 16;
        }
        fn(step + b, 0, step + 64 + b / 8, b % 8, lowRow, lowGroup);
        fn(step + b, 4, step + 72 + b / 8, b % 8, highRow, highGroup);
      }
    }
  }

  /// For the words order: calls `fn(wordByte, tileRow, firstGroup)` for
  /// each of the five 16-bit words of each row of each four steps of
  /// `tile` (see interleaveForTables), with v its index in the four.
  template <typename Fn> void forEachWord(int64_t tile, Fn fn) const {
    for (int64_t u = 0; u < steps / 4; ++u) {
      int64_t four = stepAt(tile, u, 4 * kTableStepBytes);
      for (int64_t r = 0; r < kTableTileRows; ++r)
        for (int64_t v = 0; v < 5; ++v)
          fn(four + 64 * v + 2 * r, r, 16 * u, v);
    }
  }

  int64_t rowOf(int64_t tile, int64_t tileRow) const {
    return tile * kTableTileRows + tileRow;
  }
  bool isRow(int64_t m) const { return m < rows; }

private:
  int64_t rows, steps;
  TableOrder order;
  int64_t block, tiles, tileBytes, blocked;
};

/// Writes `codes` (rows x cols / 4, row-major) in the table order.
std::vector<uint8_t> writeCodes(const std::vector<uint8_t> &codes,
                                int64_t rows, int64_t cols,
                                const TableLayout &layout) {
  TablePositions at(rows, cols, layout);
  int64_t groups = cols / 4;
  std::vector<uint8_t> out(at.codeBytes(), 0);
  // Padding rows keep code 0.
  auto codeOf = [&](int64_t tile, int64_t r, int64_t g) -> uint8_t {
    int64_t m = at.rowOf(tile, r);
    return at.isRow(m) ? codes[m * groups + g] : 0;
  };
  for (int64_t tile = 0; tile < at.numTiles(); ++tile) {
    if (layout.order == TableOrder::WordFields) {
      at.forEachWord(tile, [&](int64_t byte, int64_t r, int64_t g0,
                               int64_t v) {
        uint32_t word = ((codeOf(tile, r, g0 + 15) >> (4 - v)) & 1u) << 15;
        for (int64_t j = 0; j < 3; ++j)
          word |= uint32_t(codeOf(tile, r, g0 + 3 * v + j)) << (5 * j);
        out[byte] = uint8_t(word);
        out[byte + 1] = uint8_t(word >> 8);
      });
      continue;
    }
    at.forEachNibble(tile, [&](int64_t byte, int shift, int64_t signByte,
                               int signBit, int64_t r, int64_t g) {
      uint8_t code = codeOf(tile, r, g);
      out[byte] |= uint8_t((code & 0xF) << shift);
      out[signByte] |= uint8_t((code >> 4) << signBit);
    });
  }
  return out;
}

/// The codes of every (row, group), padding rows included (rows rounded up
/// to whole tiles), read from `data` in the table order.
std::vector<uint8_t> readCodes(const uint8_t *data, int64_t rows,
                               int64_t cols, const TableLayout &layout) {
  TablePositions at(rows, cols, layout);
  int64_t groups = cols / 4;
  std::vector<uint8_t> codes(at.numTiles() * kTableTileRows * groups, 0);
  for (int64_t tile = 0; tile < at.numTiles(); ++tile) {
    uint8_t *tileCodes = codes.data() + tile * kTableTileRows * groups;
    if (layout.order == TableOrder::WordFields) {
      at.forEachWord(tile, [&](int64_t byte, int64_t r, int64_t g0,
                               int64_t v) {
        uint32_t word = uint32_t(data[byte]) | uint32_t(data[byte + 1]) << 8;
        for (int64_t j = 0; j < 3; ++j)
          tileCodes[r * groups + g0 + 3 * v + j] = (word >> (5 * j)) & 0x1F;
        tileCodes[r * groups + g0 + 15] |= ((word >> 15) & 1u) << (4 - v);
      });
      continue;
    }
    at.forEachNibble(tile, [&](int64_t byte, int shift, int64_t signByte,
                               int signBit, int64_t r, int64_t g) {
      uint8_t slot = (data[byte] >> shift) & 0xF;
      uint8_t sign = (data[signByte] >> signBit) & 1;
      tileCodes[r * groups + g] = uint8_t(sign << 4 | slot);
    });
  }
  return codes;
}

/// Per tile, region and row of the tile, the groups whose sign bit is set,
/// of `codes` (whole tiles of rows x cols / 4).
std::vector<int32_t> negativeCounts(const std::vector<uint8_t> &codes,
                                    int64_t tiles, int64_t cols,
                                    int64_t segment) {
  int64_t groups = cols / 4, segments = cols / segment,
          perSegment = segment / 4;
  std::vector<int32_t> counts(tiles * segments * kTableTileRows, 0);
  for (int64_t m = 0; m < tiles * kTableTileRows; ++m)
    for (int64_t g = 0; g < groups; ++g)
      if (codes[m * groups + g] >> 4)
        ++counts[((m / kTableTileRows) * segments + g / perSegment) *
                     kTableTileRows +
                 m % kTableTileRows];
  return counts;
}

} // namespace

std::string_view tableOrderName(TableOrder order) {
  switch (order) {
  case TableOrder::GroupPairs:
    return "pairs";
  case TableOrder::Lanes:
    return "lanes";
  case TableOrder::WordFields:
    return "words";
  }
  return "?";
}

Result<TableOrder> parseTableOrder(std::string_view name) {
  if (name == "pairs")
    return TableOrder::GroupPairs;
  if (name == "lanes")
    return TableOrder::Lanes;
  if (name == "words")
    return TableOrder::WordFields;
  return Result<TableOrder>::error("unknown table order '" +
                                   std::string(name) +
                                   "'; expected 'pairs', 'lanes' or 'words'");
}

int64_t scaleRegionLength(const ScaleSpec &spec, int64_t cols) {
  return spec.granularity == Granularity::Group ? spec.groupSize : cols;
}

int64_t tableCountBytes(int64_t segment) { return segment / 4 <= 255 ? 1 : 2; }

int64_t tableDataBytes(int64_t rows, int64_t cols, const ScaleSpec &spec,
                       const TableLayout &layout) {
  int64_t tiles = (rows + kTableTileRows - 1) / kTableTileRows;
  int64_t bytes = tiles * (cols / 16) * kTableStepBytes;
  if (layout.order == TableOrder::Lanes) {
    int64_t segment = scaleRegionLength(spec, cols);
    bytes += tiles * (cols / segment) * kTableTileRows *
             tableCountBytes(segment);
  }
  return bytes;
}

Status checkTableLayout(const TableLayout &layout, int64_t cols,
                        const ScaleSpec &spec) {
  if (layout.tileBlock < 1 || layout.tileBlock > kMaxTableTileBlock)
    return Status::error("the tables layout's tile block is " +
                         std::to_string(layout.tileBlock) +
                         "; it must be in 1.." +
                         std::to_string(kMaxTableTileBlock));
  int64_t segment = scaleRegionLength(spec, cols);
  int64_t multiple = layout.order == TableOrder::WordFields ? 64 : 16;
  if (cols % multiple != 0 || segment % multiple != 0)
    return Status::error(
        "the tables layout (" + std::string(tableOrderName(layout.order)) +
        " order) reads " + std::to_string(multiple) +
        " K elements at a time, so K and the scale regions must be "
        "multiples of " +
        std::to_string(multiple) + "; got K = " + std::to_string(cols) +
        " and " + scaleSpecName(spec) + " scales");
  return Status::success();
}

Result<std::vector<uint8_t>> interleaveForTables(const PackedWeights &packed,
                                                 TableOrder order,
                                                 int64_t tileBlock) {
  if (tileBlock < 1)
    return Status::error("interleaveForTables: tileBlock must be positive, "
                         "got " +
                         std::to_string(tileBlock));
  if (order == TableOrder::WordFields && packed.cols % 64 != 0)
    return Status::error("interleaveForTables: word fields need K to be a "
                         "multiple of 64, got K = " +
                         std::to_string(packed.cols));
  Result<std::vector<uint8_t>> codes = groupCodes(packed);
  if (!codes.ok())
    return codes.getStatus();
  return writeCodes(*codes, packed.rows, packed.cols, {order, tileBlock});
}

Result<std::vector<int32_t>> countNegativeGroups(const PackedWeights &packed,
                                                 int64_t segment) {
  if (segment <= 0 || segment % 16 != 0 || packed.cols % segment != 0)
    return Status::error(
        "countNegativeGroups: segment " + std::to_string(segment) +
        " is not a multiple of 16 dividing K = " + std::to_string(packed.cols));
  Result<std::vector<uint8_t>> codes = groupCodes(packed);
  if (!codes.ok())
    return codes.getStatus();
  // Padding rows (code 0) count nothing.
  int64_t tiles = (packed.rows + kTableTileRows - 1) / kTableTileRows;
  codes->resize(tiles * kTableTileRows * (packed.cols / 4), 0);
  return negativeCounts(*codes, tiles, packed.cols, segment);
}

Result<PackedWeights> toTables(const PackedWeights &packed,
                               const TableLayout &layout) {
  Result<TernaryMatrix> t = unpack(packed);
  if (!t.ok())
    return t.getStatus();
  if (Status s = checkTableLayout(layout, t->cols, t->scaleSpec); !s.ok())
    return s;
  Result<std::vector<uint8_t>> codes = matrixCodes(*t);
  if (!codes.ok())
    return codes.getStatus();
  PackedWeights out;
  out.layout = t->layout;
  out.tables = layout;
  out.rows = t->rows;
  out.cols = t->cols;
  out.scaleSpec = t->scaleSpec;
  out.scales = std::move(t->scales);
  out.data = writeCodes(*codes, out.rows, out.cols, layout);
  if (layout.order == TableOrder::Lanes) {
    int64_t tiles = (out.rows + kTableTileRows - 1) / kTableTileRows;
    int64_t segment = scaleRegionLength(out.scaleSpec, out.cols);
    codes->resize(tiles * kTableTileRows * (out.cols / 4), 0);
    int64_t width = tableCountBytes(segment);
    for (int32_t count : negativeCounts(*codes, tiles, out.cols, segment))
      for (int64_t i = 0; i < width; ++i)
        out.data.push_back(uint8_t(count >> (8 * i)));
  }
  return out;
}

Result<TernaryMatrix> detail::unpackTables(const PackedWeights &packed) {
  const TableLayout &layout = *packed.tables;
  std::vector<uint8_t> codes =
      readCodes(packed.data.data(), packed.rows, packed.cols, layout);
  int64_t groups = packed.cols / 4;
  int64_t tiles = (packed.rows + kTableTileRows - 1) / kTableTileRows;
  for (int64_t m = packed.rows; m < tiles * kTableTileRows; ++m)
    for (int64_t g = 0; g < groups; ++g)
      if (codes[m * groups + g] != 0)
        return Status::error(
            "tables layout: padding row " + std::to_string(m) +
            " (past M = " + std::to_string(packed.rows) + ") has code " +
            std::to_string(codes[m * groups + g]) + " in group " +
            std::to_string(g) + ", not 0");
  if (layout.order == TableOrder::Lanes) {
    int64_t segment = scaleRegionLength(packed.scaleSpec, packed.cols);
    int64_t width = tableCountBytes(segment);
    std::vector<int32_t> want =
        negativeCounts(codes, tiles, packed.cols, segment);
    const uint8_t *stored =
        packed.data.data() + tiles * (packed.cols / 16) * kTableStepBytes;
    int64_t segments = packed.cols / segment;
    for (size_t i = 0; i < want.size(); ++i) {
      int32_t count = 0;
      for (int64_t b = 0; b < width; ++b)
        count |= int32_t(stored[i * width + b]) << (8 * b);
      if (count != want[i]) {
        int64_t r = i % kTableTileRows, seg = (i / kTableTileRows) % segments,
                tile = i / kTableTileRows / segments;
        return Status::error(
            "tables layout: the count of negative groups of row " +
            std::to_string(tile * kTableTileRows + r) + ", scale region " +
            std::to_string(seg) + " is " + std::to_string(count) +
            ", but its codes have " + std::to_string(want[i]));
      }
    }
  }
  TernaryMatrix t;
  t.rows = packed.rows;
  t.cols = packed.cols;
  t.layout = packed.layout;
  t.scaleSpec = packed.scaleSpec;
  t.scales = packed.scales;
  t.values.assign(t.rows * t.cols, 0);
  for (int64_t m = 0; m < t.rows; ++m)
    for (int64_t g = 0; g < groups; ++g) {
      // Any 5-bit value is a valid code, so decoding cannot fail here.
      Group grp = *decodeGroup(codes[m * groups + g]);
      std::array<int64_t, 4> ks = groupElements(t.layout, g);
      for (int q = 0; q < 4; ++q)
        t.values[m * t.cols + ks[q]] = grp[q];
    }
  return t;
}

} // namespace sherry::format
