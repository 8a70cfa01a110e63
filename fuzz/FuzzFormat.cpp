//===- FuzzFormat.cpp - libFuzzer target for the format library ----------===//
//
// The first input byte picks what is fuzzed:
//   0: unpack / convert / toTables / interleaveForTables on packed weights
//      whose layout (sherry, stq1_0, or tables with either grouping and
//      any order and block), shape and scale granularity come from the next
//      bytes (bounded: at most 8 rows, 1024 columns) and whose data and
//      scales are the rest of the input. A header byte may also make the
//      data or scale count wrong, so the size checks of unpack() and
//      convert() are fuzzed too.
//   1: parseNpy on the rest of the input.
//   2: parsePackedFile on the rest of the input.
// A failing call is fine; a crash, a sanitizer report, or a broken
// round-trip invariant (checked with assert) is a bug.
//
//===----------------------------------------------------------------------===//

#include "sherry/Format/FileIO.h"
#include "sherry/Format/Format.h"

#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace sherry::format;

namespace {

/// Reads bytes from the front of the input, zeros once it is used up.
struct Reader {
  const uint8_t *data;
  size_t size;
  uint8_t byte() {
    if (!size)
      return 0;
    --size;
    return *data++;
  }
};

void fuzzPacked(Reader in) {
  uint8_t flags = in.byte();
  PackedWeights p;
  p.layout = (flags & 1) ? Layout::Stq1_0 : Layout::Sherry;
  p.rows = 1 + in.byte() % 8;
  int64_t multiple = p.layout == Layout::Stq1_0 ? 256 : 32;
  p.cols = multiple * (1 + in.byte() % (1024 / multiple));
  switch (in.byte() % 3) {
  case 0:
    p.scaleSpec = ScaleSpec::tensor();
    break;
  case 1:
    p.scaleSpec = ScaleSpec::row();
    break;
  default:
    p.scaleSpec = ScaleSpec::group(4 * (1 + in.byte() % 64));
    break;
  }
  if (p.layout == Layout::Stq1_0 && !(flags & 2))
    p.scaleSpec = ScaleSpec::group(256);
  // Bit 2: keep the fuzzer's shape bytes raw (absurd sizes, negative counts).
  if (flags & 4) {
    p.rows = int64_t(int8_t(in.byte()));
    p.cols = int64_t(int16_t(in.byte() | in.byte() << 8));
  }
  // Bit 5: the tables layout, its order and block from the next bytes (a
  // block past the bound now and then).
  TableLayout tables;
  tables.order = static_cast<TableOrder>(in.byte() % 3);
  tables.tileBlock = in.byte() % 70;
  if (flags & 32)
    p.tables = tables;

  bool validShape = checkShape(p.layout, p.rows, p.cols).ok() &&
                    checkScaleSpec(p.scaleSpec, p.cols).ok() &&
                    (!p.tables ||
                     checkTableLayout(*p.tables, p.cols, p.scaleSpec).ok());
  int64_t dataBytes = validShape ? p.dataBytes() : 0;
  int64_t scaleCount =
      validShape && (p.layout == Layout::Sherry || p.tables)
          ? numScales(p.scaleSpec, p.rows, p.cols)
          : 0;
  // Bit 3: a data size off by the next byte (signed).
  if (flags & 8)
    dataBytes += int8_t(in.byte());
  if (flags & 16)
    scaleCount += int8_t(in.byte());
  if (dataBytes < 0 || dataBytes > (1 << 16))
    dataBytes = 0;
  if (scaleCount < 0 || scaleCount > (1 << 14))
    scaleCount = 0;
  p.data.resize(size_t(dataBytes));
  for (auto &b : p.data)
    b = in.byte();
  p.scales.resize(size_t(scaleCount));
  for (auto &s : p.scales) {
    uint8_t raw[4] = {in.byte(), in.byte(), in.byte(), in.byte()};
    std::memcpy(&s, raw, 4);
  }

  (void)p.bitsPerWeight();
  bool verified = p.verify().ok();
  Result<TernaryMatrix> m = unpack(p);
  // Whatever unpack() accepts is well formed and packs back to weights that
  // unpack to the same values.
  if (m.ok()) {
    assert(verified && "unpack() accepted weights that verify() rejects");
    // Finding F1 (docs/design/2026-11-24-reliability-campaigns.md), fixed:
    // what unpack() returns verifies, non-finite scales included.
    assert(m->verify().ok() && "unpack() produced an invalid matrix");
    Result<PackedWeights> again = pack(*m, p.layout);
    if (again.ok()) {
      Result<TernaryMatrix> m2 = unpack(*again);
      assert(m2.ok() && "unpack() of pack() output failed");
      assert(m2->values == m->values && "pack/unpack changed the values");
    }
    // Table-order bytes that unpack() accepts are the only bytes for their
    // values: writing them again gives the same bytes.
    if (p.tables) {
      Result<PackedWeights> rewritten = toTables(p, *p.tables);
      assert(rewritten.ok() && rewritten->data == p.data &&
             "toTables() of accepted table bytes changed them");
    }
    if (p.rows > 0)
      (void)m->scaleAt(p.rows - 1, p.cols - 1);
    std::vector<float> deq = dequantize(*m);
    assert(int64_t(deq.size()) == m->rows * m->cols);
  }
  (void)interleaveForTables(p);
  Result<PackedWeights> t = toTables(p, tables);
  if (t.ok()) {
    assert(m.ok() && t->verify().ok() && "toTables() produced invalid weights");
    Result<TernaryMatrix> mt = unpack(*t);
    assert(mt.ok() && mt->values == m->values &&
           "toTables() changed the values");
  }
  for (Layout target : {Layout::Sherry, Layout::Stq1_0}) {
    Result<PackedWeights> c = convert(p, target);
    if (!c.ok())
      continue;
    assert(c->layout == target && c->verify().ok() &&
           "convert() produced invalid weights");
    Result<TernaryMatrix> mc = unpack(*c);
    assert(mc.ok() && "unpack() of convert() output failed");
    if (m.ok())
      assert(mc->values == m->values && "convert() changed the values");
  }
}

void fuzzNpy(const uint8_t *data, size_t size) {
  Result<NpyArray> a = parseNpy(data, size);
  if (!a.ok())
    return;
  int64_t n = a->numElements();
  assert(n >= 0);
  std::vector<float> f = a->toFloat();
  assert(int64_t(f.size()) == n);
  std::vector<uint8_t> bytes = serializeNpy(*a);
  Result<NpyArray> b = parseNpy(bytes.data(), bytes.size());
  assert(b.ok() && "parseNpy() rejects what serializeNpy() wrote");
  assert(b->dtype == a->dtype && b->shape == a->shape &&
         b->bytes == a->bytes && "npy round trip changed the array");
}

void fuzzPackedFile(const uint8_t *data, size_t size) {
  Result<PackedWeights> p = parsePackedFile(data, size);
  if (!p.ok())
    return;
  assert(p->verify().ok() && "parsePackedFile() accepted invalid weights");
  std::vector<uint8_t> bytes = serializePackedFile(*p);
  Result<PackedWeights> q = parsePackedFile(bytes.data(), bytes.size());
  assert(q.ok() && "parsePackedFile() rejects what serializePackedFile() "
                   "wrote");
  assert(q->data == p->data && q->rows == p->rows && q->cols == p->cols &&
         q->layout == p->layout && q->scaleSpec == p->scaleSpec &&
         "packed file round trip changed the weights");
  (void)unpack(*p);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  switch (data[0] % 3) {
  case 0:
    fuzzPacked(Reader{data + 1, size - 1});
    break;
  case 1:
    fuzzNpy(data + 1, size - 1);
    break;
  case 2:
    fuzzPackedFile(data + 1, size - 1);
    break;
  }
  return 0;
}
