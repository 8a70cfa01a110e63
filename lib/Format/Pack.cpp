//===- Pack.cpp - The sherry and stq1_0 byte layouts ----------------------===//

#include "Internal.h"

#include "sherry/Format/Format.h"
#include "sherry/Format/Half.h"

#include <string>

namespace sherry::format {

namespace {

/// Writes the code of group g at slot byte g/2 (low nibble for even g) and
/// sign bit g%8 of sign byte g/8 -- the same scheme in both layouts.
void putCode(uint8_t *slots, uint8_t *signs, int64_t g, uint8_t code) {
  slots[g / 2] |= uint8_t((code & 0xF) << ((g % 2) * 4));
  signs[g / 8] |= uint8_t((code >> 4) << (g % 8));
}

uint8_t getCode(const uint8_t *slots, const uint8_t *signs, int64_t g) {
  uint8_t slot = (slots[g / 2] >> ((g % 2) * 4)) & 0xF;
  uint8_t sign = (signs[g / 8] >> (g % 8)) & 1;
  return uint8_t((sign << 4) | slot);
}

std::string where(int64_t m, int64_t g) {
  return "row " + std::to_string(m) + ", group " + std::to_string(g);
}

std::string blockWhere(int64_t m, int64_t b) {
  return "row " + std::to_string(m) + ", block " + std::to_string(b);
}

/// The one scale per 256-element block that stq1_0 holds, taken from
/// `matrix`'s scales, whatever their granularity; fails where they vary
/// inside a block.
Result<std::vector<float>> blockScales(const TernaryMatrix &matrix) {
  int64_t blocks = matrix.cols / 256;
  std::vector<float> out(matrix.rows * blocks);
  for (int64_t m = 0; m < matrix.rows; ++m)
    for (int64_t b = 0; b < blocks; ++b) {
      float first = matrix.scaleAt(m, 256 * b);
      for (int64_t k = 256 * b; k < 256 * (b + 1); ++k)
        if (matrix.scaleAt(m, k) != first)
          return Result<std::vector<float>>::error(
              "the scales of " + blockWhere(m, b) + " change at column " +
              std::to_string(k) + " (" + std::to_string(first) + " then " +
              std::to_string(matrix.scaleAt(m, k)) +
              "), but stq1_0 keeps one scale per 256-element block");
      out[m * blocks + b] = first;
    }
  return out;
}

} // namespace

Result<PackedWeights> pack(const TernaryMatrix &matrix, Layout layout) {
  if (matrix.layout != layout)
    return Result<PackedWeights>::error(
        "the ternary matrix is grouped for the " +
        std::string(layoutName(matrix.layout)) + " layout, not " +
        std::string(layoutName(layout)) +
        "; use convert() to regroup packed weights");
  if (Status s = matrix.verify(); !s.ok())
    return s;

  PackedWeights p;
  p.layout = layout;
  p.rows = matrix.rows;
  p.cols = matrix.cols;
  int64_t k = matrix.cols;

  if (layout == Layout::Stq1_0) {
    // One f16 scale per block: the matrix's scale must not vary inside one.
    const ScaleSpec &s = matrix.scaleSpec;
    if (s.granularity == Granularity::Group && s.groupSize % 256 != 0)
      return Result<PackedWeights>::error(
          "stq1_0 keeps one scale per 256-element block, but the scales "
          "change every " +
          std::to_string(s.groupSize) + " elements");
    p.scaleSpec = ScaleSpec::group(256);
  } else {
    p.scaleSpec = matrix.scaleSpec;
    p.scales = matrix.scales;
  }

  int64_t rowBytes = p.rowBytes();
  p.data.assign(p.rows * rowBytes, 0);
  for (int64_t m = 0; m < p.rows; ++m) {
    uint8_t *row = p.data.data() + m * rowBytes;
    for (int64_t g = 0; g < k / 4; ++g) {
      Group grp;
      std::array<int64_t, 4> ks = groupElements(layout, g);
      for (int q = 0; q < 4; ++q)
        grp[q] = matrix.at(m, ks[q]);
      Result<uint8_t> code = encodeGroup(grp);
      if (!code.ok())
        return Result<PackedWeights>::error(where(m, g) + ": " +
                                            code.message());
      if (layout == Layout::Sherry) {
        putCode(row, row + k / 8, g, *code);
      } else {
        uint8_t *block = row + (g / 64) * 42;
        putCode(block, block + 32, g % 64, *code);
      }
    }
    if (layout == Layout::Stq1_0)
      for (int64_t b = 0; b < k / 256; ++b) {
        float scale = matrix.scaleAt(m, 256 * b);
        uint16_t d = floatToHalf(scale);
        // A finite f32 scale past the f16 range would become Inf silently.
        if ((d & 0x7C00u) == 0x7C00u)
          return Result<PackedWeights>::error(
              "scale " + std::to_string(scale) + " of " + blockWhere(m, b) +
              " does not fit in the f16 that stq1_0 stores (largest 65504)");
        row[b * 42 + 40] = uint8_t(d & 0xFF);
        row[b * 42 + 41] = uint8_t(d >> 8);
      }
  }
  return p;
}

Result<TernaryMatrix> unpack(const PackedWeights &packed) {
  if (Status s = packed.verify(); !s.ok())
    return s;
  if (packed.tables) {
    Result<TernaryMatrix> t = detail::unpackTables(packed);
    if (t.ok())
      if (Status s = t->verify(); !s.ok())
        return s;
    return t;
  }
  TernaryMatrix t;
  t.rows = packed.rows;
  t.cols = packed.cols;
  t.layout = packed.layout;
  t.scaleSpec = packed.scaleSpec;
  t.values.assign(t.rows * t.cols, 0);
  int64_t k = t.cols, rowBytes = packed.rowBytes();
  if (packed.layout == Layout::Sherry)
    t.scales = packed.scales;
  else
    t.scales.resize(t.rows * (k / 256));

  for (int64_t m = 0; m < t.rows; ++m) {
    const uint8_t *row = packed.data.data() + m * rowBytes;
    for (int64_t g = 0; g < k / 4; ++g) {
      uint8_t code;
      if (packed.layout == Layout::Sherry) {
        code = getCode(row, row + k / 8, g);
      } else {
        const uint8_t *block = row + (g / 64) * 42;
        code = getCode(block, block + 32, g % 64);
      }
      // Any 5-bit value is a valid code, so decoding cannot fail here.
      Group grp = *decodeGroup(code);
      std::array<int64_t, 4> ks = groupElements(packed.layout, g);
      for (int q = 0; q < 4; ++q)
        t.values[m * k + ks[q]] = grp[q];
    }
    if (packed.layout == Layout::Stq1_0)
      for (int64_t b = 0; b < k / 256; ++b)
        t.scales[m * (k / 256) + b] = halfToFloat(
            uint16_t(row[b * 42 + 40] | (uint16_t(row[b * 42 + 41]) << 8)));
  }
  // Bytes may carry any scale; what unpack hands out is a valid matrix
  // (finite scales) or an error, never a matrix its own verify rejects.
  if (Status s = t.verify(); !s.ok())
    return s;
  return t;
}

Result<PackedWeights> convert(const PackedWeights &packed, Layout target) {
  Result<TernaryMatrix> t = unpack(packed);
  if (!t.ok())
    return t.getStatus();
  if (packed.layout == target && !packed.tables)
    return packed;
  // From the tables layout in its own grouping: the same codes, in rows.
  if (packed.layout == target) {
    if (target == Layout::Stq1_0) {
      Result<std::vector<float>> scales = blockScales(*t);
      if (!scales.ok())
        return Result<PackedWeights>::error(
            "cannot convert tables to stq1_0: " + scales.message());
      t->scaleSpec = ScaleSpec::group(256);
      t->scales = std::move(*scales);
    }
    return pack(*t, target);
  }
  if (Status s = checkShape(target, packed.rows, packed.cols); !s.ok())
    return s;
  // unpack() does not look at the scales' values; NaN or Inf stops here.
  if (Status s = t->verify(); !s.ok())
    return s;
  // The values stay where they are; only the grouping changes, and it must
  // still find exactly one zero in every group.
  for (int64_t m = 0; m < t->rows; ++m)
    for (int64_t g = 0; g < t->cols / 4; ++g) {
      int zeros = 0;
      for (int64_t k : groupElements(target, g))
        zeros += t->at(m, k) == 0;
      if (zeros != 1)
        return Result<PackedWeights>::error(
            "cannot convert " + packed.layoutDescription() + " to " +
            std::string(layoutName(target)) + ": " + where(m, g) +
            " of the " + std::string(layoutName(target)) + " layout holds " +
            std::to_string(zeros) +
            " zeros (the layouts group K differently, and regrouping would "
            "re-pick the zeros training chose)");
    }
  t->layout = target;
  if (target == Layout::Stq1_0) {
    // Fit the scales by value: e.g. group:128 scales that happen to agree
    // inside each block convert as well.
    Result<std::vector<float>> scales = blockScales(*t);
    if (!scales.ok())
      return Result<PackedWeights>::error("cannot convert " +
                                          packed.layoutDescription() +
                                          " to stq1_0: " + scales.message());
    t->scaleSpec = ScaleSpec::group(256);
    t->scales = std::move(*scales);
  }
  return pack(*t, target);
}

} // namespace sherry::format
