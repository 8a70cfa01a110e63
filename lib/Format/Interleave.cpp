//===- Interleave.cpp - Rows interleaved for activation tables ------------===//

#include "sherry/Format/Format.h"

namespace sherry::format {

namespace {

/// The code of every (row, group) of `packed`, row-major, groups in layout
/// order, through the codebook's own encoder.
Result<std::vector<uint8_t>> groupCodes(const PackedWeights &packed) {
  Result<TernaryMatrix> t = unpack(packed);
  if (!t.ok())
    return t.getStatus();
  int64_t rows = t->rows, groups = t->cols / 4;
  std::vector<uint8_t> codes(rows * groups);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t g = 0; g < groups; ++g) {
      Group grp;
      std::array<int64_t, 4> ks = groupElements(packed.layout, g);
      for (int q = 0; q < 4; ++q)
        grp[q] = t->at(m, ks[q]);
      Result<uint8_t> code = encodeGroup(grp);
      if (!code.ok())
        return code.getStatus();
      codes[m * groups + g] = *code;
    }
  return codes;
}

} // namespace

Result<std::vector<uint8_t>> interleaveForTables(const PackedWeights &packed,
                                                 TableOrder order,
                                                 int64_t tileBlock) {
  if (tileBlock < 1)
    return Status::error("interleaveForTables: tileBlock must be positive, "
                         "got " +
                         std::to_string(tileBlock));
  Result<std::vector<uint8_t>> codes = groupCodes(packed);
  if (!codes.ok())
    return codes.getStatus();
  int64_t rows = packed.rows, groups = packed.cols / 4,
          steps = packed.cols / 16;
  int64_t tiles = (rows + kTableTileRows - 1) / kTableTileRows;
  std::vector<uint8_t> out(tiles * steps * kTableStepBytes, 0);
  // Where step s of `tile` goes, steps being `stepBytes` long: tiles of
  // whole blocks interleave step by step, the rest stay in order.
  int64_t tileBytes = steps * kTableStepBytes;
  int64_t blocked = tiles - tiles % tileBlock;
  auto stepAt = [&](int64_t tile, int64_t s, int64_t stepBytes) {
    int64_t first = tile < blocked ? tile - tile % tileBlock : tile;
    int64_t width = tile < blocked ? tileBlock : 1;
    return out.data() + first * tileBytes +
           (s * width + tile - first) * stepBytes;
  };
  // Padding rows keep code 0.
  auto codeOf = [&](int64_t tile, int64_t r, int64_t g) -> uint8_t {
    int64_t m = tile * kTableTileRows + r;
    return m < rows ? (*codes)[m * groups + g] : 0;
  };
  if (order == TableOrder::WordFields) {
    if (packed.cols % 64 != 0)
      return Status::error("interleaveForTables: word fields need K to be a "
                           "multiple of 64, got K = " +
                           std::to_string(packed.cols));
    for (int64_t tile = 0; tile < tiles; ++tile)
      for (int64_t u = 0; u < steps / 4; ++u) {
        uint8_t *four = stepAt(tile, u, 4 * kTableStepBytes);
        for (int64_t r = 0; r < kTableTileRows; ++r) {
          uint8_t last = codeOf(tile, r, 16 * u + 15);
          for (int64_t v = 0; v < 5; ++v) {
            uint32_t word = ((last >> (4 - v)) & 1u) << 15;
            for (int64_t j = 0; j < 3; ++j)
              word |= uint32_t(codeOf(tile, r, 16 * u + 3 * v + j)) << (5 * j);
            four[64 * v + 2 * r] = uint8_t(word);
            four[64 * v + 2 * r + 1] = uint8_t(word >> 8);
          }
        }
      }
    return out;
  }
  for (int64_t tile = 0; tile < tiles; ++tile)
    for (int64_t s = 0; s < steps; ++s) {
      uint8_t *step = stepAt(tile, s, kTableStepBytes);
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
        uint8_t low = codeOf(tile, lowRow, lowGroup);
        uint8_t high = codeOf(tile, highRow, highGroup);
        step[b] = uint8_t((low & 0xF) | ((high & 0xF) << 4));
        step[64 + b / 8] |= uint8_t((low >> 4) << (b % 8));
        step[72 + b / 8] |= uint8_t((high >> 4) << (b % 8));
      }
    }
  return out;
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
  int64_t rows = packed.rows, groups = packed.cols / 4;
  int64_t segments = packed.cols / segment, perSegment = segment / 4;
  int64_t tiles = (rows + kTableTileRows - 1) / kTableTileRows;
  std::vector<int32_t> counts(tiles * segments * kTableTileRows, 0);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t g = 0; g < groups; ++g)
      if ((*codes)[m * groups + g] >> 4)
        ++counts[((m / kTableTileRows) * segments + g / perSegment) *
                     kTableTileRows +
                 m % kTableTileRows];
  return counts;
}

} // namespace sherry::format
