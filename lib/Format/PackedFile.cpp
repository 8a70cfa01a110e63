//===- PackedFile.cpp - The .sherry packed weight file --------------------===//
//
// A 64-byte little-endian header, the layout's data bytes, then f32 scales
// (layout in FileIO.h and docs/format.md). The parser treats the header as
// hostile: every field is checked against the others and against the file
// size before anything is allocated, with arithmetic that cannot overflow.
//
//===----------------------------------------------------------------------===//

#include "sherry/Format/FileIO.h"

#include <cmath>
#include <cstring>
#include <string>

namespace sherry::format {

namespace {

constexpr uint8_t kMagic[8] = {'S', 'H', 'E', 'R', 'R', 'Y', 'W', '\0'};
/// Version 1 holds the sherry and stq1_0 layouts; version 2 adds the tables
/// layout, whose parameters take the field that version 1 keeps 0. Files
/// of the first two layouts stay version 1.
constexpr uint32_t kVersion = 1;
constexpr uint32_t kTablesVersion = 2;
constexpr size_t kHeaderSize = 64;

template <typename T> T load(const uint8_t *p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v |= uint64_t(p[i]) << (8 * i);
  return T(v);
}

template <typename T> void store(std::vector<uint8_t> &out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(uint8_t(uint64_t(v) >> (8 * i)));
}

// The codes of the header; spelled out so that reordering the enums cannot
// change the file format.
uint32_t layoutCode(const PackedWeights &p) {
  if (p.tables)
    return 2;
  return p.layout == Layout::Stq1_0 ? 1 : 0;
}

uint32_t orderCode(TableOrder order) {
  switch (order) {
  case TableOrder::GroupPairs:
    return 0;
  case TableOrder::Lanes:
    return 1;
  case TableOrder::WordFields:
    return 2;
  }
  return 0;
}

/// The tables layout's parameters field: grouping (0 sherry, 1 stq1_0) in
/// bits 0..7, order (0 pairs, 1 lanes, 2 words) in bits 8..15, tile block
/// in bits 16..31.
uint32_t tableParameters(const PackedWeights &p) {
  if (!p.tables)
    return 0;
  return (p.layout == Layout::Stq1_0 ? 1u : 0u) |
         orderCode(p.tables->order) << 8 |
         uint32_t(p.tables->tileBlock) << 16;
}

uint32_t granularityCode(Granularity g) {
  switch (g) {
  case Granularity::Tensor:
    return 0;
  case Granularity::Row:
    return 1;
  case Granularity::Group:
    return 2;
  }
  return 0;
}

std::string floatClass(float f) { return std::isnan(f) ? "NaN" : "infinite"; }

/// Scales must be finite: a NaN or Inf in a file would only show up later
/// as garbage outputs. Needs `p.verify()` to have passed (sizes are right).
Status checkScaleValues(const PackedWeights &p) {
  if (p.layout == Layout::Stq1_0 && !p.tables) {
    int64_t blocks = p.cols / 256, rowBytes = p.rowBytes();
    for (int64_t m = 0; m < p.rows; ++m)
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t *d = p.data.data() + m * rowBytes + b * 42 + 40;
        float scale = halfToFloat(load<uint16_t>(d));
        if (!std::isfinite(scale))
          return Status::error("the f16 scale of row " + std::to_string(m) +
                               ", block " + std::to_string(b) + " is " +
                               floatClass(scale));
      }
    return Status::success();
  }
  for (size_t i = 0; i < p.scales.size(); ++i)
    if (!std::isfinite(p.scales[i]))
      return Status::error("scale " + std::to_string(i) + " (" +
                           scaleSpecName(p.scaleSpec) + " granularity) is " +
                           floatClass(p.scales[i]));
  return Status::success();
}

} // namespace

Result<PackedWeights> parsePackedFile(const uint8_t *data, size_t size) {
  using R = Result<PackedWeights>;
  if (!data)
    size = 0;
  // A short file that does not even start like one is reported as foreign.
  if (std::memcmp(data ? data : kMagic, kMagic, size < 8 ? size : 8) != 0)
    return R::error("not a .sherry packed weight file (bad magic)");
  if (size < kHeaderSize)
    return R::error("truncated header: the file has " + std::to_string(size) +
                    " bytes, a .sherry file starts with a 64-byte header");
  uint32_t version = load<uint32_t>(data + 8);
  if (version != kVersion && version != kTablesVersion)
    return R::error("unsupported .sherry version " + std::to_string(version) +
                    " (this build reads versions 1 and 2)");
  uint32_t layout = load<uint32_t>(data + 12);
  uint32_t granularity = load<uint32_t>(data + 16);
  uint32_t reserved = load<uint32_t>(data + 20);
  int64_t rows = load<int64_t>(data + 24);
  int64_t cols = load<int64_t>(data + 32);
  int64_t groupSize = load<int64_t>(data + 40);
  uint64_t dataBytes = load<uint64_t>(data + 48);
  uint64_t scaleCount = load<uint64_t>(data + 56);

  if (layout > (version == kTablesVersion ? 2u : 1u))
    return R::error("unknown layout code " + std::to_string(layout) +
                    (version == kTablesVersion
                         ? " (0 = sherry, 1 = stq1_0, 2 = tables)"
                         : " (0 = sherry, 1 = stq1_0; version 2 adds 2 = "
                           "tables)"));
  if (granularity > 2)
    return R::error("unknown scale granularity code " +
                    std::to_string(granularity) +
                    " (0 = tensor, 1 = row, 2 = group)");

  PackedWeights p;
  p.layout = layout == 1 ? Layout::Stq1_0 : Layout::Sherry;
  if (layout == 2) {
    uint32_t grouping = reserved & 0xFF, order = (reserved >> 8) & 0xFF;
    if (grouping > 1)
      return R::error("unknown grouping code " + std::to_string(grouping) +
                      " of the tables layout (0 = sherry, 1 = stq1_0)");
    if (order > 2)
      return R::error("unknown table order code " + std::to_string(order) +
                      " (0 = pairs, 1 = lanes, 2 = words)");
    static const TableOrder kOrders[] = {
        TableOrder::GroupPairs, TableOrder::Lanes, TableOrder::WordFields};
    p.layout = grouping == 1 ? Layout::Stq1_0 : Layout::Sherry;
    p.tables = TableLayout{kOrders[order], int64_t(reserved >> 16)};
  } else if (reserved != 0) {
    return R::error("reserved header field is " + std::to_string(reserved) +
                    ", not 0");
  }
  p.rows = rows;
  p.cols = cols;
  static const Granularity kGranularities[] = {
      Granularity::Tensor, Granularity::Row, Granularity::Group};
  p.scaleSpec = {kGranularities[granularity],
                 granularity == 2 ? groupSize : int64_t(0)};
  if (granularity != 2 && groupSize != 0)
    return R::error("group size " + std::to_string(groupSize) +
                    " given without group granularity");
  if (Status s = checkShape(p.layout, rows, cols); !s.ok())
    return s;
  if (Status s = checkScaleSpec(p.scaleSpec, cols); !s.ok())
    return s;
  bool inBlocks = p.layout == Layout::Stq1_0 && !p.tables;
  if (inBlocks && p.scaleSpec != ScaleSpec::group(256))
    return R::error("stq1_0 files have granularity group:256 (one f16 "
                    "scale inside each block), not " +
                    scaleSpecName(p.scaleSpec));
  if (p.tables)
    if (Status s = checkTableLayout(*p.tables, cols, p.scaleSpec); !s.ok())
      return s;

  // The counts must be what the shape implies. checkShape() bounds M * K by
  // INT64_MAX, and both the data bytes (at most 5/32 * M * K, with the
  // tables layout's counts at most M * K / 8 more) and the scale count (at
  // most M * K / 4) are smaller, so these products cannot overflow.
  uint64_t wantData = uint64_t(p.dataBytes());
  uint64_t wantScales =
      inBlocks ? 0 : uint64_t(numScales(p.scaleSpec, rows, cols));
  if (dataBytes != wantData)
    return R::error("the header says " + std::to_string(dataBytes) +
                    " data bytes, but " + std::to_string(rows) + " x " +
                    std::to_string(cols) + " in the " +
                    p.layoutDescription() + " layout needs " +
                    std::to_string(wantData));
  if (scaleCount != wantScales)
    return R::error("the header says " + std::to_string(scaleCount) +
                    " scales, but " + scaleSpecName(p.scaleSpec) +
                    " granularity needs " + std::to_string(wantScales) +
                    (inBlocks ? " (stq1_0 keeps its scales inside the blocks)"
                              : ""));

  // Against the file size, subtracting instead of multiplying or adding, so
  // that no header value can wrap the comparison around.
  size_t remaining = size - kHeaderSize;
  if (dataBytes > remaining)
    return R::error("truncated: the header says " + std::to_string(dataBytes) +
                    " data bytes but only " + std::to_string(remaining) +
                    " remain");
  remaining -= dataBytes;
  if (scaleCount > remaining / 4)
    return R::error("truncated: the header says " + std::to_string(scaleCount) +
                    " scales (" + std::to_string(scaleCount) +
                    " x 4 bytes) after the data, but only " +
                    std::to_string(remaining) + " bytes remain");
  if (remaining != scaleCount * 4)
    return R::error(std::to_string(remaining - scaleCount * 4) +
                    " unexpected bytes after the scales");

  const uint8_t *body = data + kHeaderSize;
  p.data.assign(body, body + dataBytes);
  p.scales.resize(scaleCount);
  for (uint64_t i = 0; i < scaleCount; ++i) {
    uint32_t bits = load<uint32_t>(body + dataBytes + 4 * i);
    std::memcpy(&p.scales[i], &bits, 4);
  }
  if (Status s = p.verify(); !s.ok())
    return s;
  if (Status s = checkScaleValues(p); !s.ok())
    return s;
  // Table-order bytes carry redundant counts and padding rows: unpacking
  // checks that they agree.
  if (p.tables)
    if (Result<TernaryMatrix> t = unpack(p); !t.ok())
      return t.getStatus();
  return p;
}

Result<PackedWeights> readPackedFile(const std::string &path) {
  Result<std::vector<uint8_t>> bytes = readFileBytes(path);
  if (!bytes.ok())
    return bytes.getStatus();
  Result<PackedWeights> p = parsePackedFile(bytes->data(), bytes->size());
  if (!p.ok())
    return Result<PackedWeights>::error("'" + path + "': " + p.message());
  return p;
}

std::vector<uint8_t> serializePackedFile(const PackedWeights &packed) {
  std::vector<uint8_t> out(kMagic, kMagic + 8);
  out.reserve(kHeaderSize + packed.data.size() + 4 * packed.scales.size());
  store<uint32_t>(out, packed.tables ? kTablesVersion : kVersion);
  store<uint32_t>(out, layoutCode(packed));
  store<uint32_t>(out, granularityCode(packed.scaleSpec.granularity));
  store<uint32_t>(out, tableParameters(packed));
  store<int64_t>(out, packed.rows);
  store<int64_t>(out, packed.cols);
  store<int64_t>(out, packed.scaleSpec.granularity == Granularity::Group
                          ? packed.scaleSpec.groupSize
                          : 0);
  store<uint64_t>(out, packed.data.size());
  store<uint64_t>(out, packed.scales.size());
  out.insert(out.end(), packed.data.begin(), packed.data.end());
  for (float f : packed.scales) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    store<uint32_t>(out, bits);
  }
  return out;
}

Status writePackedFile(const std::string &path, const PackedWeights &packed) {
  // Never write a file that parsePackedFile() would refuse.
  if (Status s = packed.verify(); !s.ok())
    return Status::error("refusing to write '" + path + "': " + s.message());
  if (Status s = checkScaleValues(packed); !s.ok())
    return Status::error("refusing to write '" + path + "': " + s.message());
  if (packed.tables)
    if (Result<TernaryMatrix> t = unpack(packed); !t.ok())
      return Status::error("refusing to write '" + path + "': " + t.message());
  return writeFileBytes(path, serializePackedFile(packed));
}

} // namespace sherry::format
