//===- PackTest.cpp - The sherry and stq1_0 byte layouts ------------------===//

#include "TestUtils.h"
#include "sherry/Format/Format.h"
#include "sherry/Format/Half.h"

#include "gtest/gtest.h"

#include <cmath>

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
  // Shapes are no multiple of anything beyond what the layout needs: odd M,
  // K = 96 or 384 (3 * 32, 3 * 128) for sherry, 3 blocks for stq1_0.
  const RoundTripCase cases[] = {
      {Layout::Sherry, 7, 96, ScaleSpec::tensor()},
      {Layout::Sherry, 7, 96, ScaleSpec::row()},
      {Layout::Sherry, 7, 96, ScaleSpec::group(4)},
      {Layout::Sherry, 7, 96, ScaleSpec::group(32)},
      {Layout::Sherry, 7, 96, ScaleSpec::group(96)},
      {Layout::Sherry, 5, 384, ScaleSpec::group(128)},
      {Layout::Sherry, 3, 768, ScaleSpec::group(256)},
      {Layout::Sherry, 1, 32, ScaleSpec::group(4)},
      {Layout::Stq1_0, 5, 512, ScaleSpec::tensor()},
      {Layout::Stq1_0, 5, 512, ScaleSpec::row()},
      {Layout::Stq1_0, 5, 512, ScaleSpec::group(256)},
      {Layout::Stq1_0, 3, 768, ScaleSpec::group(256)},
      {Layout::Stq1_0, 3, 768, ScaleSpec::group(768)},
      {Layout::Stq1_0, 2, 1024, ScaleSpec::group(512)},
      {Layout::Stq1_0, 1, 256, ScaleSpec::row()},
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
    EXPECT_EQ(u->layout, c.layout);
    EXPECT_TRUE(u->verify().ok()) << u->verify().message();
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
      // Rounding to f16 moves a scale by at most 2^-11 of itself.
      std::vector<float> a = dequantize(*t), b = dequantize(*u);
      for (size_t i = 0; i < a.size(); ++i)
        EXPECT_LE(std::fabs(a[i] - b[i]), std::fabs(a[i]) / 2048.0f);
    }
    // Packing what was unpacked gives the same bytes.
    auto again = pack(*u, c.layout);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->data, p->data);
  }
}

// Four groups and their codes (spec section 2), used by the hand-computed
// layouts below:
//   A = ( 0, -1, +1, -1): z = 0, sign 1, b0 = 1, b1 = 0 -> code 17 (slot 0x1)
//   B = (+1, +1, +1,  0): z = 3, sign 0, b0 = 0, b1 = 0 -> code 12 (slot 0xC)
//   C = (-1,  0, +1, +1): z = 1, sign 1, b0 = 1, b1 = 1 -> code 23 (slot 0x7)
//   D = (+1, -1,  0, -1): z = 2, sign 0, b0 = 1, b1 = 1 -> code 11 (slot 0xB)
//  -B = (-1, -1, -1,  0): code 28 (slot 0xC, sign 1)
const int8_t kA[4] = {0, -1, 1, -1}, kB[4] = {1, 1, 1, 0},
             kC[4] = {-1, 0, 1, 1}, kD[4] = {1, -1, 0, -1};

TEST(Pack, HandComputedSherryRows) {
  // Row 0, K = 64: group g is A, B, C, D for g % 4 = 0, 1, 2, 3, except
  // group 9 which is -B. Row 1 is row 0 negated.
  const int8_t *cycle[4] = {kA, kB, kC, kD};
  std::vector<int8_t> values(2 * 64);
  for (int g = 0; g < 16; ++g)
    for (int p = 0; p < 4; ++p) {
      int8_t v = int8_t(cycle[g % 4][p] * (g == 9 ? -1 : 1));
      values[4 * g + p] = v;
      values[64 + 4 * g + p] = int8_t(-v);
    }
  auto p = pack(makeMatrix(Layout::Sherry, 2, 64, ScaleSpec::row(), values,
                           {0.25f, 3.0f}),
                Layout::Sherry);
  ASSERT_TRUE(p.ok()) << p.message();
  // Per row: K/8 = 8 slot bytes, then K/32 = 2 sign bytes.
  // Slot byte j holds group 2j (low nibble) and 2j+1 (high nibble): groups
  // (A, B) give 0xC1, (C, D) give 0xB7; -B has B's slot, so byte 4 (groups
  // 8, 9) is 0xC1 too. Negating a group keeps its slot, so row 1 has the
  // same slot bytes.
  // Sign byte j holds groups 8j..8j+7 at bits 0..7: A and C are negative
  // (bits 0, 2, 4, 6: 0x55); group 9 is bit 1 of byte 1: 0x57. Row 1 has
  // every sign flipped: 0xAA and 0xA8.
  const std::vector<uint8_t> expected = {
      0xC1, 0xB7, 0xC1, 0xB7, 0xC1, 0xB7, 0xC1, 0xB7, 0x55, 0x57, // row 0
      0xC1, 0xB7, 0xC1, 0xB7, 0xC1, 0xB7, 0xC1, 0xB7, 0xAA, 0xA8, // row 1
  };
  EXPECT_EQ(p->data, expected);
  EXPECT_EQ(p->scales, (std::vector<float>{0.25f, 3.0f}));
  EXPECT_EQ(p->scaleSpec, ScaleSpec::row());
  EXPECT_EQ(p->rowBytes(), 10);

  auto u = unpack(*p);
  ASSERT_TRUE(u.ok()) << u.message();
  EXPECT_EQ(u->values, values);
}

TEST(Pack, HandComputedStq1_0Block) {
  // One block of 256 elements. Group g = 16c + l of the block holds the
  // elements 64c + l + 16p, p = 0..3: chunk c (elements 64c..64c+63) holds
  // groups 16c..16c+15 and lane p is the p-th run of 16 elements of the
  // chunk. Giving every group of chunk c the same pattern (A, B, C, D for
  // c = 0..3) means filling run p of chunk c with lane p of that pattern.
  // Group 5 (elements 5, 21, 37, 53) is B instead of A. A contiguous
  // grouping would see e.g. (0, 0, 0, 0) in elements 0..3 and fail.
  const int8_t *chunk[4] = {kA, kB, kC, kD};
  std::vector<int8_t> values(256);
  for (int k = 0; k < 256; ++k)
    values[k] = chunk[k / 64][(k % 64) / 16];
  for (int p = 0; p < 4; ++p)
    values[5 + 16 * p] = kB[p];
  auto p = pack(
      makeMatrix(Layout::Stq1_0, 1, 256, ScaleSpec::row(), values, {2.75f}),
      Layout::Stq1_0);
  ASSERT_TRUE(p.ok()) << p.message();
  // qs[32]: byte j = group 2j (low nibble) | group 2j+1 (high nibble).
  //   bytes 0..7 (chunk 0, A = slot 1): 0x11, except byte 2 = group 4 (A,
  //   low 1) | group 5 (B, high C) = 0xC1; bytes 8..15 (B): 0xCC;
  //   bytes 16..23 (C): 0x77; bytes 24..31 (D): 0xBB.
  // sign[8]: byte j = groups 8j..8j+7. A and C have sign 1, B and D 0:
  //   byte 0 = 0xFF without bit 5 (group 5 is B) = 0xDF; byte 1 = 0xFF;
  //   bytes 2, 3 = 0x00; bytes 4, 5 = 0xFF; bytes 6, 7 = 0x00.
  // d: 2.75 = 1.375 * 2^1 -> f16 exponent 15 + 1 = 16, mantissa 0.375 * 1024
  //   = 0x180: 0x4000 | 0x180 = 0x4180, little endian 0x80, 0x41.
  const std::vector<uint8_t> expected = {
      0x11, 0x11, 0xC1, 0x11, 0x11, 0x11, 0x11, 0x11, // qs, chunk 0
      0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, // qs, chunk 1
      0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, // qs, chunk 2
      0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, // qs, chunk 3
      0xDF, 0xFF, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, // sign
      0x80, 0x41,                                     // d
  };
  ASSERT_EQ(expected.size(), 42u);
  EXPECT_EQ(p->data, expected);
  EXPECT_TRUE(p->scales.empty());
  EXPECT_EQ(p->scaleSpec, ScaleSpec::group(256));
  EXPECT_DOUBLE_EQ(p->bitsPerWeight(), 42.0 * 8 / 256);

  // And back: the hand-written bytes decode to the same values and scale.
  PackedWeights fromBytes;
  fromBytes.layout = Layout::Stq1_0;
  fromBytes.rows = 1;
  fromBytes.cols = 256;
  fromBytes.scaleSpec = ScaleSpec::group(256);
  fromBytes.data = expected;
  auto u = unpack(fromBytes);
  ASSERT_TRUE(u.ok()) << u.message();
  EXPECT_EQ(u->values, values);
  EXPECT_EQ(u->scales, std::vector<float>{2.75f});
  EXPECT_EQ(u->scaleSpec, ScaleSpec::group(256));
}

TEST(Pack, Stq1_0BlocksFollowEachOther) {
  // Two rows of two blocks: each block's 42 bytes sit at 42 * (2m + b), and
  // each block carries its own scale.
  std::vector<int8_t> values(2 * 512);
  for (int64_t i = 0; i < 2 * 512; ++i)
    values[i] = (i % 64) < 16 ? 0 : 1; // every group (0, +1, +1, +1)
  auto p = pack(makeMatrix(Layout::Stq1_0, 2, 512, ScaleSpec::group(256),
                           values, {1.0f, 2.0f, 0.5f, -1.0f}),
                Layout::Stq1_0);
  ASSERT_TRUE(p.ok()) << p.message();
  ASSERT_EQ(p->data.size(), 4u * 42u);
  const uint16_t halves[4] = {0x3C00, 0x4000, 0x3800, 0xBC00};
  for (int blk = 0; blk < 4; ++blk) {
    // (0, +1, +1, +1) is code 0: all qs and sign bytes are 0.
    for (int i = 0; i < 40; ++i)
      EXPECT_EQ(p->data[42 * blk + i], 0) << "block " << blk << ", byte " << i;
    EXPECT_EQ(p->data[42 * blk + 40], halves[blk] & 0xFF);
    EXPECT_EQ(p->data[42 * blk + 41], halves[blk] >> 8);
  }
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
  // The weights themselves survive both ways.
  auto before = unpack(*sherry), after = unpack(*back);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(dequantize(*before), dequantize(*after));
  auto same = convert(*sherry, Layout::Sherry);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->data, sherry->data);
  EXPECT_EQ(same->scales, sherry->scales);
  EXPECT_EQ(same->scaleSpec, sherry->scaleSpec);
  auto sameStq = convert(*stq, Layout::Stq1_0);
  ASSERT_TRUE(sameStq.ok());
  EXPECT_EQ(sameStq->data, stq->data);
}

/// Ternary values that hold one zero in both groupings (see above).
static std::vector<int8_t> bothWaysValues(int64_t rows, int64_t cols) {
  std::vector<int8_t> values(rows * cols);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t k = 0; k < cols; ++k)
      values[m * cols + k] =
          int(k % 4) == int((k % 64) / 16) ? 0 : ((k * 5 + m) % 7 < 3 ? -1 : 1);
  return values;
}

TEST(Convert, FitsScalesByValue) {
  // group:128 scales convert to stq1_0 where both halves of every block
  // agree; 0.1 is rounded to f16.
  auto ok = pack(makeMatrix(Layout::Sherry, 1, 512, ScaleSpec::group(128),
                            bothWaysValues(1, 512), {0.1f, 0.1f, 3.0f, 3.0f}),
                 Layout::Sherry);
  ASSERT_TRUE(ok.ok()) << ok.message();
  auto stq = convert(*ok, Layout::Stq1_0);
  ASSERT_TRUE(stq.ok()) << stq.message();
  EXPECT_EQ(stq->scaleSpec, ScaleSpec::group(256));
  EXPECT_TRUE(stq->scales.empty());
  auto u = unpack(*stq);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scales, (std::vector<float>{0.0999755859375f, 3.0f}));

  // A scale that changes inside a block cannot be kept.
  auto bad = pack(makeMatrix(Layout::Sherry, 1, 512, ScaleSpec::group(128),
                             bothWaysValues(1, 512), {0.1f, 0.1f, 3.0f, 2.0f}),
                  Layout::Sherry);
  ASSERT_TRUE(bad.ok());
  auto failed = convert(*bad, Layout::Stq1_0);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(contains(failed.message(),
                       "cannot convert sherry to stq1_0: the scales of row 0, "
                       "block 1 change at column 384"));
  EXPECT_TRUE(contains(failed.message(), "one scale per 256-element block"));

  // A scale past the f16 range cannot be kept either.
  auto huge = pack(makeMatrix(Layout::Sherry, 1, 256, ScaleSpec::row(),
                              bothWaysValues(1, 256), {1e6f}),
                   Layout::Sherry);
  ASSERT_TRUE(huge.ok());
  auto overflow = convert(*huge, Layout::Stq1_0);
  ASSERT_FALSE(overflow.ok());
  EXPECT_TRUE(contains(overflow.message(), "does not fit in the f16"));
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
  // The first bad group is named: find it by hand.
  auto u = unpack(*p);
  ASSERT_TRUE(u.ok());
  int64_t badRow = -1, badGroup = -1;
  for (int64_t m = 0; m < 2 && badRow < 0; ++m)
    for (int64_t g = 0; g < 64 && badRow < 0; ++g) {
      int zeros = 0;
      for (int64_t k : groupElements(Layout::Stq1_0, g))
        zeros += u->at(m, k) == 0;
      if (zeros != 1)
        badRow = m, badGroup = g;
    }
  ASSERT_GE(badRow, 0);
  EXPECT_TRUE(contains(stq.message(), "row " + std::to_string(badRow) +
                                          ", group " +
                                          std::to_string(badGroup) +
                                          " of the stq1_0 layout holds"));

  // stq1_0 -> sherry fails the same way for random stq1_0 weights.
  auto ws = randomWeights(1, 256, 19);
  auto ts = ternarize(ws.data(), 1, 256, Layout::Stq1_0, ScaleSpec::row());
  ASSERT_TRUE(ts.ok());
  auto ps = pack(*ts, Layout::Stq1_0);
  ASSERT_TRUE(ps.ok());
  auto toSherry = convert(*ps, Layout::Sherry);
  ASSERT_FALSE(toSherry.ok());
  EXPECT_TRUE(contains(toSherry.message(), "cannot convert stq1_0 to sherry"));
  EXPECT_TRUE(contains(toSherry.message(), "group K differently"));

  // Broken input is reported as such.
  PackedWeights broken = *p;
  broken.data.resize(3);
  auto brokenConvert = convert(broken, Layout::Stq1_0);
  ASSERT_FALSE(brokenConvert.ok());
  EXPECT_TRUE(contains(brokenConvert.message(), "packed data is 3 bytes"));

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

  TernaryMatrix outOfRange = *t;
  outOfRange.values[5] = -2;
  auto badValue = pack(outOfRange, Layout::Sherry);
  ASSERT_FALSE(badValue.ok());
  EXPECT_TRUE(contains(badValue.message(), "not in {-1, 0, 1}"));

  TernaryMatrix tooLarge = *ts;
  tooLarge.scaleSpec = ScaleSpec::row();
  tooLarge.scales = {1.0f, 70000.0f};
  auto overflow = pack(tooLarge, Layout::Stq1_0);
  ASSERT_FALSE(overflow.ok());
  EXPECT_TRUE(contains(overflow.message(),
                       "of row 1, block 0 does not fit in the f16 that stq1_0 "
                       "stores"));
  // 65504 is the largest f16 and still fits.
  tooLarge.scales = {1.0f, 65504.0f};
  EXPECT_TRUE(pack(tooLarge, Layout::Stq1_0).ok());
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
  // A huge M with small per-group scales must not overflow the scale count.
  PackedWeights hugeGroups = *p;
  hugeGroups.scaleSpec = ScaleSpec::group(4);
  hugeGroups.rows = INT64_MAX / 64;
  EXPECT_TRUE(contains(hugeGroups.verify().message(), "do not fit"));
  PackedWeights badK = *p;
  badK.cols = 100;
  EXPECT_TRUE(contains(badK.verify().message(), "K = 100"));
  auto badUnpack = unpack(badK);
  ASSERT_FALSE(badUnpack.ok());
  EXPECT_TRUE(contains(badUnpack.message(), "K = 100"));
  PackedWeights badG = *p;
  badG.scaleSpec = ScaleSpec::group(6);
  EXPECT_TRUE(contains(badG.verify().message(), "G = 6"));
}

} // namespace

namespace {

// Bytes may carry a non-finite scale (an f16 infinity or NaN in an stq1_0
// block, a NaN among separate scales); unpack reports it instead of handing
// out a matrix its own verify rejects.
TEST(Pack, UnpackRejectsNonFiniteScales) {
  PackedWeights stq;
  stq.layout = Layout::Stq1_0;
  stq.rows = 2;
  stq.cols = 256;
  stq.scaleSpec = ScaleSpec::group(256);
  stq.data.assign(2 * 42, 0);
  stq.data[42 + 41] = 0x7c; // row 1: f16 +inf
  Result<TernaryMatrix> inf = unpack(stq);
  ASSERT_FALSE(inf.ok());
  EXPECT_EQ(inf.message(), "scale 1 is not finite");
  stq.data[42 + 41] = 0x7e; // NaN
  EXPECT_FALSE(unpack(stq).ok());
  stq.data[42 + 41] = 0x7b; // the largest finite f16 exponent
  EXPECT_TRUE(unpack(stq).ok());

  PackedWeights sherry;
  sherry.layout = Layout::Sherry;
  sherry.rows = 1;
  sherry.cols = 32;
  sherry.scaleSpec = ScaleSpec::row();
  sherry.data.assign(5, 0);
  sherry.scales = {std::nanf("")};
  Result<TernaryMatrix> nan = unpack(sherry);
  ASSERT_FALSE(nan.ok());
  EXPECT_EQ(nan.message(), "scale 0 is not finite");
}

} // namespace
