//===- PackTest.cpp - The sherry and stq1_0 byte layouts ------------------===//

#include "TestUtils.h"
#include "sherry/Format/Format.h"
#include "sherry/Format/Half.h"

#include "gtest/gtest.h"

using namespace sherry::format;
using namespace sherry::format::test;

namespace {

TernaryMatrix makeMatrix(Layout layout, int64_t rows, int64_t cols,
                         ScaleSpec spec, std::vector<int8_t> values,
                         std::vector<float> scales) {
  TernaryMatrix t;
  t.rows = rows;
  t.cols = cols;
  t.layout = layout;
  t.scaleSpec = spec;
  t.values = std::move(values);
  t.scales = std::move(scales);
  return t;
}

struct RoundTripCase {
  Layout layout;
  int64_t rows, cols;
  ScaleSpec spec;
};

TEST(Pack, RoundTripsEveryLayoutAndGranularity) {
  const RoundTripCase cases[] = {
      {Layout::Sherry, 7, 96, ScaleSpec::tensor()},
      {Layout::Sherry, 7, 96, ScaleSpec::row()},
      {Layout::Sherry, 7, 96, ScaleSpec::group(32)},
      {Layout::Sherry, 7, 96, ScaleSpec::group(96)},
      {Layout::Sherry, 3, 512, ScaleSpec::group(128)},
      {Layout::Sherry, 1, 32, ScaleSpec::group(4)},
      {Layout::Stq1_0, 5, 512, ScaleSpec::tensor()},
      {Layout::Stq1_0, 5, 512, ScaleSpec::row()},
      {Layout::Stq1_0, 5, 512, ScaleSpec::group(256)},
      {Layout::Stq1_0, 2, 1024, ScaleSpec::group(512)},
  };
  unsigned seed = 0;
  for (const RoundTripCase &c : cases) {
    SCOPED_TRACE(std::string(layoutName(c.layout)) + " " +
                 scaleSpecName(c.spec) + " " + std::to_string(c.rows) + "x" +
                 std::to_string(c.cols));
    auto w = randomWeights(c.rows, c.cols, ++seed);
    auto t = ternarize(w.data(), c.rows, c.cols, c.layout, c.spec);
    ASSERT_TRUE(t.ok()) << t.message();
    auto p = pack(*t, c.layout);
    ASSERT_TRUE(p.ok()) << p.message();
    ASSERT_TRUE(p->verify().ok()) << p->verify().message();
    EXPECT_EQ(int64_t(p->data.size()), c.rows * p->rowBytes());
    auto u = unpack(*p);
    ASSERT_TRUE(u.ok()) << u.message();
    EXPECT_EQ(u->values, t->values);
    if (c.layout == Layout::Sherry) {
      EXPECT_EQ(u->scales, t->scales);
      EXPECT_EQ(u->scaleSpec, c.spec);
    } else {
      // stq1_0 holds one f16 scale per block.
      EXPECT_EQ(u->scaleSpec, ScaleSpec::group(256));
      for (int64_t m = 0; m < c.rows; ++m)
        for (int64_t k = 0; k < c.cols; k += 256)
          EXPECT_EQ(u->scaleAt(m, k),
                    halfToFloat(floatToHalf(t->scaleAt(m, k))));
    }
    // Packing what was unpacked gives the same bytes.
    auto again = pack(*u, c.layout);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->data, p->data);
  }
}

TEST(Pack, HandComputedSherryRow) {
  // Every group (0, -1, +1, -1) is code 17: slot 1, sign 1. Slots of groups
  // 2j and 2j+1 share byte j (low nibble first): 0x11. Eight sign bits: 0xFF.
  std::vector<int8_t> values;
  for (int g = 0; g < 8; ++g)
    values.insert(values.end(), {0, -1, 1, -1});
  // Group 3 becomes (+1, +1, +1, 0): code 12, so byte 1's high nibble is
  // 0xC and bit 3 of the sign byte clears.
  values[12] = 1, values[13] = 1, values[14] = 1, values[15] = 0;
  auto p =
      pack(makeMatrix(Layout::Sherry, 1, 32, ScaleSpec::row(), values, {0.25f}),
           Layout::Sherry);
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->data, (std::vector<uint8_t>{0x11, 0xC1, 0x11, 0x11, 0xF7}));
  EXPECT_EQ(p->scales, std::vector<float>{0.25f});
}

TEST(Pack, HandComputedStq1_0Block) {
  // Lane p of a stq1_0 group is element 64c + l + 16p, so giving element k
  // the value (0, -1, +1, -1)[(k % 64) / 16] makes every group code 17 (slot
  // 1, sign 1). Group 5 (elements 5, 21, 37, 53) becomes (+1, +1, +1, 0):
  // code 12 (slot 12, sign 0).
  std::vector<int8_t> values(256);
  const int8_t lanes[4] = {0, -1, 1, -1};
  for (int k = 0; k < 256; ++k)
    values[k] = lanes[(k % 64) / 16];
  values[5] = 1, values[21] = 1, values[37] = 1, values[53] = 0;
  auto p = pack(
      makeMatrix(Layout::Stq1_0, 1, 256, ScaleSpec::group(256), values, {1.0f}),
      Layout::Stq1_0);
  ASSERT_TRUE(p.ok()) << p.message();
  // qs[32]: groups 2j, 2j+1 in byte j, low nibble first: 0x11, except byte
  // 2 = group 4 (slot 1, low) | group 5 (slot 12, high) = 0xC1.
  // sign[8]: all ones except bit 5 of byte 0 (group 5): 0xDF.
  // d: f16 1.0 = 0x3C00, little endian.
  std::vector<uint8_t> expected(32, 0x11);
  expected[2] = 0xC1;
  expected.push_back(0xDF);
  expected.insert(expected.end(), 7, 0xFF);
  expected.insert(expected.end(), {0x00, 0x3C});
  ASSERT_EQ(expected.size(), 42u);
  EXPECT_EQ(p->data, expected);
  EXPECT_TRUE(p->scales.empty());
  EXPECT_EQ(p->scaleSpec, ScaleSpec::group(256));
}

TEST(Pack, Stq1_0RoundsScalesToHalf) {
  std::vector<int8_t> values(256);
  for (int k = 0; k < 256; ++k)
    values[k] = (k % 64) < 16 ? 0 : 1;
  auto p =
      pack(makeMatrix(Layout::Stq1_0, 1, 256, ScaleSpec::row(), values, {0.1f}),
           Layout::Stq1_0);
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->data[40], 0x66);
  EXPECT_EQ(p->data[41], 0x2E); // 0.1 -> f16 0x2E66
  auto u = unpack(*p);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scales, std::vector<float>{0.0999755859375f});
}

TEST(Pack, BitsPerWeight) {
  PackedWeights p;
  p.layout = Layout::Sherry;
  p.rows = 2048;
  p.cols = 2048;
  p.scaleSpec = ScaleSpec::row();
  p.data.resize(2048 * 320);
  p.scales.resize(2048);
  EXPECT_EQ(p.rowBytes(), 320);
  EXPECT_DOUBLE_EQ(p.bitsPerWeight(), 1.265625);
  p.layout = Layout::Stq1_0;
  p.scales.clear();
  p.data.resize(2048 * 8 * 42);
  EXPECT_EQ(p.rowBytes(), 8 * 42);
  EXPECT_DOUBLE_EQ(p.bitsPerWeight(), 1.3125);
}

TEST(Convert, WorksWhereBothGroupingsHoldOneZero) {
  // The zero of contiguous group g sits at lane (k % 64) / 16: each
  // contiguous group and each strided group then holds exactly one zero.
  const int64_t rows = 3, cols = 512;
  std::vector<int8_t> values(rows * cols);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t k = 0; k < cols; ++k)
      values[m * cols + k] =
          int(k % 4) == int((k % 64) / 16) ? 0 : ((k * 7 + m) % 3 ? 1 : -1);
  auto sherry = pack(makeMatrix(Layout::Sherry, rows, cols, ScaleSpec::row(),
                                values, {0.5f, 0.25f, 2.0f}),
                     Layout::Sherry);
  ASSERT_TRUE(sherry.ok()) << sherry.message();
  auto stq = convert(*sherry, Layout::Stq1_0);
  ASSERT_TRUE(stq.ok()) << stq.message();
  auto stqValues = unpack(*stq);
  ASSERT_TRUE(stqValues.ok());
  EXPECT_EQ(stqValues->values, values);
  auto back = convert(*stq, Layout::Sherry);
  ASSERT_TRUE(back.ok()) << back.message();
  // Scales come back per 256-block (exact here: they are f16 values).
  EXPECT_EQ(back->scaleSpec, ScaleSpec::group(256));
  EXPECT_EQ(back->scales,
            (std::vector<float>{0.5f, 0.5f, 0.25f, 0.25f, 2.0f, 2.0f}));
  EXPECT_EQ(back->data, sherry->data);
  auto same = convert(*sherry, Layout::Sherry);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->data, sherry->data);
}

TEST(Convert, FailsWhereTheGroupingsDisagree) {
  auto w = randomWeights(2, 256, 9);
  auto t = ternarize(w.data(), 2, 256, Layout::Sherry, ScaleSpec::row());
  ASSERT_TRUE(t.ok());
  auto p = pack(*t, Layout::Sherry);
  ASSERT_TRUE(p.ok());
  auto stq = convert(*p, Layout::Stq1_0);
  ASSERT_FALSE(stq.ok());
  EXPECT_TRUE(contains(stq.message(), "cannot convert sherry to stq1_0"));
  EXPECT_TRUE(contains(stq.message(), "group K differently"));

  // K = 96 suits sherry but not stq1_0.
  auto w96 = randomWeights(1, 96, 2);
  auto t96 = ternarize(w96.data(), 1, 96, Layout::Sherry, ScaleSpec::row());
  auto p96 = pack(*t96, Layout::Sherry);
  auto bad = convert(*p96, Layout::Stq1_0);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.message(), "K = 96 is not a multiple of 256"));
}

TEST(Pack, Errors) {
  auto w = randomWeights(2, 256, 4);
  auto t = ternarize(w.data(), 2, 256, Layout::Sherry, ScaleSpec::group(128));
  ASSERT_TRUE(t.ok());
  auto wrongLayout = pack(*t, Layout::Stq1_0);
  ASSERT_FALSE(wrongLayout.ok());
  EXPECT_TRUE(contains(wrongLayout.message(), "grouped for the sherry layout"));

  auto ts = ternarize(w.data(), 2, 256, Layout::Stq1_0, ScaleSpec::group(128));
  ASSERT_TRUE(ts.ok());
  auto splitBlock = pack(*ts, Layout::Stq1_0);
  ASSERT_FALSE(splitBlock.ok());
  EXPECT_TRUE(contains(splitBlock.message(), "change every 128 elements"));

  TernaryMatrix invalid = *t;
  invalid.values[0] = invalid.values[1] = invalid.values[2] = 0;
  auto twoZeros = pack(invalid, Layout::Sherry);
  ASSERT_FALSE(twoZeros.ok());
  EXPECT_TRUE(contains(twoZeros.message(), "holds 3 zeros"));
}

TEST(PackedWeights, VerifyNamesTheProblem) {
  auto w = randomWeights(2, 256, 5);
  auto p = pack(*ternarize(w.data(), 2, 256, Layout::Sherry, ScaleSpec::row()),
                Layout::Sherry);
  ASSERT_TRUE(p.ok());
  PackedWeights shortData = *p;
  shortData.data.pop_back();
  EXPECT_TRUE(contains(shortData.verify().message(),
                       "packed data is 79 bytes, but 2 x 256 in the sherry "
                       "layout needs 80"));
  EXPECT_FALSE(unpack(shortData).ok());
  PackedWeights shortScales = *p;
  shortScales.scales.pop_back();
  EXPECT_TRUE(contains(shortScales.verify().message(), "hold 1 scales"));
  PackedWeights stqWithScales = *p;
  stqWithScales.layout = Layout::Stq1_0;
  stqWithScales.scaleSpec = ScaleSpec::group(256);
  EXPECT_TRUE(contains(stqWithScales.verify().message(), "inside the blocks"));
  PackedWeights stqRow = stqWithScales;
  stqRow.scaleSpec = ScaleSpec::row();
  EXPECT_TRUE(contains(stqRow.verify().message(), "per 256-element block"));
  PackedWeights huge = stqWithScales;
  huge.scales.clear();
  huge.rows = INT64_MAX / 2;
  EXPECT_TRUE(contains(huge.verify().message(), "do not fit"));
}

} // namespace
