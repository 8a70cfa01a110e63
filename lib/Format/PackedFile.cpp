//===- PackedFile.cpp - The .sherry packed weight file --------------------===//

#include "sherry/Format/FileIO.h"

#include <cstring>
#include <string>

namespace sherry::format {

namespace {

constexpr char kMagic[8] = {'S', 'H', 'E', 'R', 'R', 'Y', 'W', '\0'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 64;

template <typename T> T load(const uint8_t *p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v |= T(T(p[i]) << (8 * i));
  return v;
}

template <typename T> void store(std::vector<uint8_t> &out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(uint8_t(uint64_t(v) >> (8 * i)));
}

} // namespace

Result<PackedWeights> parsePackedFile(const uint8_t *data, size_t size) {
  using R = Result<PackedWeights>;
  if (size < kHeaderSize)
    return R::error("truncated header: " + std::to_string(size) +
                    " bytes, a .sherry file starts with a 64-byte header");
  if (std::memcmp(data, kMagic, 8) != 0)
    return R::error("not a .sherry packed weight file (bad magic)");
  uint32_t version = load<uint32_t>(data + 8);
  if (version != kVersion)
    return R::error("unsupported .sherry version " + std::to_string(version) +
                    " (this build reads version 1)");
  uint32_t layout = load<uint32_t>(data + 12);
  uint32_t granularity = load<uint32_t>(data + 16);
  uint32_t reserved = load<uint32_t>(data + 20);
  int64_t rows = load<int64_t>(data + 24);
  int64_t cols = load<int64_t>(data + 32);
  int64_t groupSize = load<int64_t>(data + 40);
  uint64_t dataBytes = load<uint64_t>(data + 48);
  uint64_t scaleCount = load<uint64_t>(data + 56);

  if (layout > 1)
    return R::error("unknown layout code " + std::to_string(layout));
  if (granularity > 2)
    return R::error("unknown scale granularity code " +
                    std::to_string(granularity));
  if (reserved != 0)
    return R::error("reserved header field is " + std::to_string(reserved) +
                    ", not 0");

  PackedWeights p;
  p.layout = layout == 1 ? Layout::Stq1_0 : Layout::Sherry;
  p.rows = rows;
  p.cols = cols;
  p.scaleSpec = {Granularity(granularity),
                 granularity == 2 ? groupSize : int64_t(0)};
  if (granularity != 2 && groupSize != 0)
    return R::error("group size " + std::to_string(groupSize) +
                    " given without group granularity");
  if (Status s = checkShape(p.layout, rows, cols); !s.ok())
    return s;
  if (Status s = checkScaleSpec(p.scaleSpec, cols); !s.ok())
    return s;

  // Compare sizes without ever computing a product that could overflow.
  size_t remaining = size - kHeaderSize;
  if (dataBytes > remaining)
    return R::error("truncated: the header says " + std::to_string(dataBytes) +
                    " data bytes but only " + std::to_string(remaining) +
                    " remain");
  remaining -= dataBytes;
  if (scaleCount > remaining / 4)
    return R::error("truncated: the header says " + std::to_string(scaleCount) +
                    " scales (" + std::to_string(scaleCount) +
                    " x 4 bytes) but only " + std::to_string(remaining) +
                    " bytes remain");
  if (remaining != scaleCount * 4)
    return R::error(std::to_string(remaining - scaleCount * 4) +
                    " unexpected bytes after the scales");

  const uint8_t *body = data + kHeaderSize;
  p.data.assign(body, body + dataBytes);
  p.scales.resize(scaleCount);
  if (scaleCount)
    std::memcpy(p.scales.data(), body + dataBytes, scaleCount * 4);
  if (Status s = p.verify(); !s.ok())
    return s;
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
  store<uint32_t>(out, kVersion);
  store<uint32_t>(out, packed.layout == Layout::Stq1_0 ? 1 : 0);
  store<uint32_t>(out, uint32_t(packed.scaleSpec.granularity));
  store<uint32_t>(out, 0);
  store<int64_t>(out, packed.rows);
  store<int64_t>(out, packed.cols);
  store<int64_t>(out, packed.scaleSpec.granularity == Granularity::Group
                          ? packed.scaleSpec.groupSize
                          : 0);
  store<uint64_t>(out, packed.data.size());
  store<uint64_t>(out, packed.scales.size());
  out.insert(out.end(), packed.data.begin(), packed.data.end());
  size_t at = out.size();
  out.resize(at + 4 * packed.scales.size());
  if (!packed.scales.empty())
    std::memcpy(out.data() + at, packed.scales.data(),
                4 * packed.scales.size());
  return out;
}

Status writePackedFile(const std::string &path, const PackedWeights &packed) {
  if (Status s = packed.verify(); !s.ok())
    return s;
  return writeFileBytes(path, serializePackedFile(packed));
}

} // namespace sherry::format
