//===- Layout.cpp - Layouts, scale specs and shape checks -----------------===//

#include "sherry/Format/Format.h"

#include <cmath>
#include <cstdint>
#include <string>

namespace sherry::format {

std::string_view layoutName(Layout layout) {
  return layout == Layout::Stq1_0 ? "stq1_0" : "sherry";
}

Result<Layout> parseLayout(std::string_view name) {
  if (name == "sherry")
    return Layout::Sherry;
  if (name == "stq1_0")
    return Layout::Stq1_0;
  return Result<Layout>::error("unknown layout '" + std::string(name) +
                               "'; expected 'sherry' or 'stq1_0'");
}

std::string_view granularityName(Granularity g) {
  switch (g) {
  case Granularity::Tensor:
    return "tensor";
  case Granularity::Row:
    return "row";
  case Granularity::Group:
    return "group";
  }
  return "?";
}

Result<Granularity> parseGranularity(std::string_view name) {
  if (name == "tensor")
    return Granularity::Tensor;
  if (name == "row")
    return Granularity::Row;
  if (name == "group")
    return Granularity::Group;
  return Result<Granularity>::error("unknown scale granularity '" +
                                    std::string(name) +
                                    "'; expected 'tensor', 'row' or 'group'");
}

std::string scaleSpecName(const ScaleSpec &spec) {
  std::string name(granularityName(spec.granularity));
  if (spec.granularity == Granularity::Group)
    name += ":" + std::to_string(spec.groupSize);
  return name;
}

std::array<int64_t, 4> groupElements(Layout layout, int64_t g) {
  if (layout == Layout::Sherry)
    return {4 * g, 4 * g + 1, 4 * g + 2, 4 * g + 3};
  int64_t block = g / 64, c = (g % 64) / 16, l = g % 16;
  int64_t base = 256 * block + 64 * c + l;
  return {base, base + 16, base + 32, base + 48};
}

Status checkShape(Layout layout, int64_t rows, int64_t cols) {
  if (rows <= 0)
    return Status::error("M = " + std::to_string(rows) +
                         " rows: a weight matrix needs at least one row");
  if (cols <= 0)
    return Status::error("K = " + std::to_string(cols) +
                         " columns: a weight matrix needs at least one column");
  int64_t multiple = layout == Layout::Stq1_0 ? 256 : 32;
  if (cols % multiple != 0)
    return Status::error("K = " + std::to_string(cols) +
                         " is not a multiple of " + std::to_string(multiple) +
                         ", which the " + std::string(layoutName(layout)) +
                         " layout requires");
  // Headers read from files may claim absurd shapes: every size the library
  // computes is at most M * K, so that product must not overflow.
  if (rows > INT64_MAX / cols)
    return Status::error(std::to_string(rows) + " x " + std::to_string(cols) +
                         " weights do not fit in memory");
  return Status::success();
}

Status checkScaleSpec(const ScaleSpec &spec, int64_t cols) {
  if (spec.granularity != Granularity::Group)
    return Status::success();
  int64_t g = spec.groupSize;
  if (g <= 0 || g % 4 != 0)
    return Status::error("scale group size G = " + std::to_string(g) +
                         " is not a positive multiple of 4");
  if (cols % g != 0)
    return Status::error(
        "K = " + std::to_string(cols) +
        " is not a multiple of the scale group size G = " + std::to_string(g));
  return Status::success();
}

int64_t numScales(const ScaleSpec &spec, int64_t rows, int64_t cols) {
  switch (spec.granularity) {
  case Granularity::Tensor:
    return 1;
  case Granularity::Row:
    return rows;
  case Granularity::Group:
    return rows * (cols / spec.groupSize);
  }
  return 0;
}

int64_t scaleIndex(const ScaleSpec &spec, int64_t rows, int64_t cols, int64_t m,
                   int64_t k) {
  (void)rows;
  switch (spec.granularity) {
  case Granularity::Tensor:
    return 0;
  case Granularity::Row:
    return m;
  case Granularity::Group:
    return m * (cols / spec.groupSize) + k / spec.groupSize;
  }
  return 0;
}

Status TernaryMatrix::verify() const {
  if (Status s = checkShape(layout, rows, cols); !s.ok())
    return s;
  if (Status s = checkScaleSpec(scaleSpec, cols); !s.ok())
    return s;
  if (int64_t(values.size()) != rows * cols)
    return Status::error("ternary matrix holds " +
                         std::to_string(values.size()) + " values, " +
                         std::to_string(rows) + " x " + std::to_string(cols) +
                         " needs " + std::to_string(rows * cols));
  int64_t want = numScales(scaleSpec, rows, cols);
  if (int64_t(scales.size()) != want)
    return Status::error("ternary matrix holds " +
                         std::to_string(scales.size()) + " scales, " +
                         scaleSpecName(scaleSpec) + " granularity needs " +
                         std::to_string(want));
  for (size_t i = 0; i < scales.size(); ++i)
    if (!std::isfinite(scales[i]))
      return Status::error("scale " + std::to_string(i) + " is not finite");
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t g = 0; g < cols / 4; ++g) {
      int zeros = 0;
      for (int64_t k : groupElements(layout, g)) {
        int8_t v = values[m * cols + k];
        if (v < -1 || v > 1)
          return Status::error("value at row " + std::to_string(m) +
                               ", column " + std::to_string(k) + " is " +
                               std::to_string(v) + ", not in {-1, 0, 1}");
        zeros += v == 0;
      }
      if (zeros != 1)
        return Status::error(
            "group " + std::to_string(g) + " of row " + std::to_string(m) +
            " holds " + std::to_string(zeros) +
            " zeros; the 3:4 format needs exactly one per group of the " +
            std::string(layoutName(layout)) + " layout");
    }
  return Status::success();
}

int64_t PackedWeights::rowBytes() const {
  return layout == Layout::Stq1_0 ? cols / 256 * 42 : cols / 8 + cols / 32;
}

int64_t PackedWeights::dataBytes() const {
  return tables ? tableDataBytes(rows, cols, scaleSpec, *tables)
                : rows * rowBytes();
}

std::string PackedWeights::layoutDescription() const {
  if (!tables)
    return std::string(layoutName(layout));
  return "tables (" + std::string(layoutName(layout)) + " grouping, " +
         std::string(tableOrderName(tables->order)) + " order, tile block " +
         std::to_string(tables->tileBlock) + ")";
}

double PackedWeights::bitsPerWeight() const {
  double bytes = double(data.size()) + 4.0 * double(scales.size());
  return bytes * 8.0 / (double(rows) * double(cols));
}

Status PackedWeights::verify() const {
  if (Status s = checkShape(layout, rows, cols); !s.ok())
    return s;
  if (layout == Layout::Stq1_0 && !tables) {
    if (scaleSpec != ScaleSpec::group(256))
      return Status::error("stq1_0 weights have one scale per 256-element "
                           "block, not " +
                           scaleSpecName(scaleSpec) + " scales");
    if (!scales.empty())
      return Status::error("stq1_0 weights keep their scales inside the "
                           "blocks, but " +
                           std::to_string(scales.size()) +
                           " separate scales were given");
  } else {
    if (Status s = checkScaleSpec(scaleSpec, cols); !s.ok())
      return s;
    int64_t want = numScales(scaleSpec, rows, cols);
    if (int64_t(scales.size()) != want)
      return Status::error("packed weights hold " +
                           std::to_string(scales.size()) + " scales, " +
                           scaleSpecName(scaleSpec) + " granularity needs " +
                           std::to_string(want));
  }
  if (tables)
    if (Status s = checkTableLayout(*tables, cols, scaleSpec); !s.ok())
      return s;
  // checkShape() bounds M * K, and the data is smaller than M * K bytes.
  int64_t want = dataBytes();
  if (int64_t(data.size()) != want)
    return Status::error("packed data is " + std::to_string(data.size()) +
                         " bytes, but " + std::to_string(rows) + " x " +
                         std::to_string(cols) + " in the " +
                         layoutDescription() + " layout needs " +
                         std::to_string(want));
  return Status::success();
}

} // namespace sherry::format
