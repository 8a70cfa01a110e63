//===- Interleave.cpp - Rows interleaved for activation tables ------------===//

#include "sherry/Format/Format.h"

namespace sherry::format {

Result<std::vector<uint8_t>> interleaveForTables(const PackedWeights &packed) {
  Result<TernaryMatrix> t = unpack(packed);
  if (!t.ok())
    return t.getStatus();
  int64_t rows = t->rows, k = t->cols, groups = k / 4, steps = k / 16;
  // The code of every (row, group), through the codebook's own encoder.
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

  int64_t tiles = (rows + kTableTileRows - 1) / kTableTileRows;
  std::vector<uint8_t> out(tiles * steps * kTableStepBytes, 0);
  for (int64_t tile = 0; tile < tiles; ++tile)
    for (int64_t s = 0; s < steps; ++s) {
      uint8_t *step = out.data() + (tile * steps + s) * kTableStepBytes;
      for (int64_t b = 0; b < 2 * kTableTileRows; ++b) {
        int64_t m = tile * kTableTileRows + b / 2;
        if (m >= rows)
          continue; // padding rows keep code 0
        uint8_t low = codes[m * groups + 4 * s + b % 2];
        uint8_t high = codes[m * groups + 4 * s + 2 + b % 2];
        step[b] = uint8_t((low & 0xF) | ((high & 0xF) << 4));
        step[64 + b / 8] |= uint8_t((low >> 4) << (b % 8));
        step[72 + b / 8] |= uint8_t((high >> 4) << (b % 8));
      }
    }
  return out;
}

} // namespace sherry::format
