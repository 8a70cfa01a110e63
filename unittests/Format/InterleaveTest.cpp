//===- InterleaveTest.cpp - Rows interleaved for activation tables --------===//

#include "TestUtils.h"
#include "sherry/Format/Format.h"

#include "gtest/gtest.h"

#include <algorithm>

using namespace sherry::format;
using namespace sherry::format::test;

namespace {

/// Reads the ternary value of (m, element k) back from interleaved bytes by
/// the documented layout alone.
int8_t readInterleaved(const std::vector<uint8_t> &bytes, TableOrder order,
                       int64_t k, int64_t m, int64_t g, int lane) {
  int64_t steps = k / 16, tile = m / 32, r = m % 32, s = g / 4, i = g % 4;
  if (order == TableOrder::WordFields) {
    // Five little-endian words per row and 64 K elements.
    const uint8_t *four = bytes.data() + (tile * steps + g / 16 * 4) * 80;
    auto word = [&](int64_t v) {
      return uint32_t(four[64 * v + 2 * r]) | uint32_t(four[64 * v + 2 * r + 1])
                                                  << 8;
    };
    int64_t f = g % 16;
    uint8_t code = 0;
    if (f < 15)
      code = (word(f / 3) >> (5 * (f % 3))) & 0x1F;
    else
      for (int64_t v = 0; v < 5; ++v)
        code |= uint8_t(((word(v) >> 15) & 1) << (4 - v));
    Result<Group> grp = decodeGroup(code);
    EXPECT_TRUE(grp.ok());
    return (*grp)[lane];
  }
  const uint8_t *step = bytes.data() + (tile * steps + s) * 80;
  // The byte and the nibble (0 low, 1 high) of (row r, group i of step s).
  int64_t b = order == TableOrder::GroupPairs ? 2 * r + i % 2 : 16 * i + r % 16;
  bool high = order == TableOrder::GroupPairs ? i >= 2 : r >= 16;
  uint8_t slot = high ? step[b] >> 4 : step[b] & 0xF;
  const uint8_t *mask = step + (high ? 72 : 64);
  uint8_t sign = (mask[b / 8] >> (b % 8)) & 1;
  Result<Group> grp = decodeGroup(uint8_t((sign << 4) | slot));
  EXPECT_TRUE(grp.ok());
  return (*grp)[lane];
}

/// Seeded random weights, ternarized with per-row scales and packed in
/// layout sherry.
Result<PackedWeights> packedSherry(int64_t rows, int64_t cols, unsigned seed) {
  std::vector<float> w = randomWeights(rows, cols, seed);
  Result<TernaryMatrix> t =
      ternarize(w.data(), rows, cols, Layout::Sherry, ScaleSpec::row());
  if (!t.ok())
    return t.getStatus();
  return pack(*t, Layout::Sherry);
}

struct Case {
  Layout layout;
  int64_t rows, cols;
};

TEST(Interleave, HoldsEveryCodeWhereTheLayoutSays) {
  // Rows no multiple of 32 (a padded last tile), one tile exactly, K = 96
  // (6 steps), three tiles of two word-field fours and two stq1_0 blocks.
  const Case cases[] = {{Layout::Sherry, 37, 96},
                        {Layout::Sherry, 32, 64},
                        {Layout::Sherry, 1, 32},
                        {Layout::Sherry, 70, 128},
                        {Layout::Stq1_0, 45, 512}};
  for (const Case &c : cases)
    for (TableOrder order :
         {TableOrder::GroupPairs, TableOrder::Lanes, TableOrder::WordFields}) {
      // Word fields come in 64 K elements.
      if (order == TableOrder::WordFields && c.cols % 64 != 0)
        continue;
      SCOPED_TRACE(std::string(layoutName(c.layout)) + " " +
                   std::to_string(c.rows) + "x" + std::to_string(c.cols) +
                   (order == TableOrder::Lanes        ? " lanes"
                    : order == TableOrder::WordFields ? " word fields"
                                                      : " group pairs"));
      std::vector<float> w = randomWeights(c.rows, c.cols, 11);
      Result<TernaryMatrix> t =
          ternarize(w.data(), c.rows, c.cols, c.layout,
                    c.layout == Layout::Stq1_0 ? ScaleSpec::group(256)
                                               : ScaleSpec::row());
      ASSERT_TRUE(t.ok()) << t.getStatus().message();
      Result<PackedWeights> p = pack(*t, c.layout);
      ASSERT_TRUE(p.ok()) << p.getStatus().message();
      Result<std::vector<uint8_t>> bytes = interleaveForTables(*p, order);
      ASSERT_TRUE(bytes.ok()) << bytes.getStatus().message();
      int64_t tiles = (c.rows + 31) / 32;
      ASSERT_EQ(int64_t(bytes->size()), tiles * (c.cols / 16) * 80);
      // 1.25 bits per weight over the padded rows.
      EXPECT_EQ(int64_t(bytes->size()) * 8, tiles * 32 * c.cols * 5 / 4);
      for (int64_t m = 0; m < c.rows; ++m)
        for (int64_t g = 0; g < c.cols / 4; ++g) {
          std::array<int64_t, 4> ks = groupElements(c.layout, g);
          for (int lane = 0; lane < 4; ++lane)
            ASSERT_EQ(readInterleaved(*bytes, order, c.cols, m, g, lane),
                      t->at(m, ks[lane]))
                << "row " << m << ", group " << g << ", lane " << lane;
        }
      // Padding rows hold code 0: zero lane 0, +1 elsewhere.
      for (int64_t m = c.rows; m < tiles * 32; ++m)
        for (int lane = 0; lane < 4; ++lane)
          EXPECT_EQ(readInterleaved(*bytes, order, c.cols, m, 0, lane),
                    lane == 0 ? 0 : 1);
    }
}

TEST(Interleave, BlocksOfTilesInterleaveStepByStep) {
  // 7 tiles (the last partial): with blocks of 3, two whole blocks and a
  // tile in plain order; blocks of 7 and more leave all plain but 7.
  Result<PackedWeights> p = packedSherry(200, 128, 9);
  ASSERT_TRUE(p.ok()) << p.getStatus().message();
  for (TableOrder order :
       {TableOrder::GroupPairs, TableOrder::Lanes, TableOrder::WordFields}) {
    Result<std::vector<uint8_t>> plain = interleaveForTables(*p, order);
    ASSERT_TRUE(plain.ok()) << plain.getStatus().message();
    int64_t stepBytes = order == TableOrder::WordFields ? 320 : 80;
    int64_t tileBytes = 128 / 16 * 80, steps = tileBytes / stepBytes;
    for (int64_t block : {1, 2, 3, 7, 8}) {
      SCOPED_TRACE("block " + std::to_string(block) + ", step bytes " +
                   std::to_string(stepBytes));
      Result<std::vector<uint8_t>> blocked =
          interleaveForTables(*p, order, block);
      ASSERT_TRUE(blocked.ok()) << blocked.getStatus().message();
      ASSERT_EQ(blocked->size(), plain->size());
      int64_t whole = 7 - 7 % block;
      for (int64_t tile = 0; tile < 7; ++tile)
        for (int64_t s = 0; s < steps; ++s) {
          int64_t first = tile - tile % block;
          int64_t at = tile < whole ? first * tileBytes +
                                          (s * block + tile % block) * stepBytes
                                    : tile * tileBytes + s * stepBytes;
          ASSERT_TRUE(std::equal(
              plain->begin() + tile * tileBytes + s * stepBytes,
              plain->begin() + tile * tileBytes + (s + 1) * stepBytes,
              blocked->begin() + at))
              << "tile " << tile << ", step " << s;
        }
    }
  }
  Result<std::vector<uint8_t>> bad =
      interleaveForTables(*p, TableOrder::WordFields, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.getStatus().message().find("tileBlock must be positive, got 0"),
            std::string::npos)
      << bad.getStatus().message();
}

TEST(Interleave, CountsNegativeGroupsPerSegment) {
  const Case cases[] = {{Layout::Sherry, 37, 96}, {Layout::Stq1_0, 45, 512}};
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(layoutName(c.layout)) + " " +
                 std::to_string(c.rows) + "x" + std::to_string(c.cols));
    std::vector<float> w = randomWeights(c.rows, c.cols, 5);
    Result<TernaryMatrix> t = ternarize(
        w.data(), c.rows, c.cols, c.layout,
        c.layout == Layout::Stq1_0 ? ScaleSpec::group(256) : ScaleSpec::row());
    ASSERT_TRUE(t.ok()) << t.getStatus().message();
    Result<PackedWeights> p = pack(*t, c.layout);
    ASSERT_TRUE(p.ok()) << p.getStatus().message();
    int64_t tiles = (c.rows + 31) / 32;
    for (int64_t segment : {int64_t(16), int64_t(32), c.cols}) {
      if (c.cols % segment != 0)
        continue;
      Result<std::vector<int32_t>> counts = countNegativeGroups(*p, segment);
      ASSERT_TRUE(counts.ok()) << counts.getStatus().message();
      int64_t segments = c.cols / segment;
      ASSERT_EQ(int64_t(counts->size()), tiles * segments * 32);
      // Against the decoded values: a group is negative when its first
      // non-zero lane is -1.
      for (int64_t m = 0; m < tiles * 32; ++m)
        for (int64_t sg = 0; sg < segments; ++sg) {
          int32_t expected = 0;
          for (int64_t g = sg * segment / 4;
               m < c.rows && g < (sg + 1) * segment / 4; ++g) {
            std::array<int64_t, 4> ks = groupElements(c.layout, g);
            int8_t first =
                t->at(m, ks[0]) != 0 ? t->at(m, ks[0]) : t->at(m, ks[1]);
            expected += first < 0;
          }
          EXPECT_EQ((*counts)[((m / 32) * segments + sg) * 32 + m % 32],
                    expected)
              << "row " << m << ", segment " << sg;
        }
    }
  }
}

TEST(Interleave, RejectsSegmentsThatDoNotTileK) {
  Result<PackedWeights> p = packedSherry(4, 96, 3);
  ASSERT_TRUE(p.ok()) << p.getStatus().message();
  for (int64_t segment : {0, 8, 64}) {
    Result<std::vector<int32_t>> counts = countNegativeGroups(*p, segment);
    ASSERT_FALSE(counts.ok()) << segment;
    EXPECT_NE(counts.getStatus().message().find("segment"), std::string::npos);
  }
}

TEST(Interleave, RejectsWordFieldsOfPartialFours) {
  Result<PackedWeights> p = packedSherry(4, 96, 5);
  ASSERT_TRUE(p.ok()) << p.getStatus().message();
  Result<std::vector<uint8_t>> bytes =
      interleaveForTables(*p, TableOrder::WordFields);
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.getStatus().message().find("multiple of 64, got K = 96"),
            std::string::npos)
      << bytes.getStatus().message();
}

TEST(Interleave, RejectsInconsistentWeights) {
  PackedWeights p;
  p.layout = Layout::Sherry;
  p.rows = 2;
  p.cols = 32;
  p.scaleSpec = ScaleSpec::row();
  p.data.assign(3, 0); // 2 rows of 5 bytes are 10
  p.scales.assign(2, 1.0f);
  Result<std::vector<uint8_t>> bytes = interleaveForTables(p);
  ASSERT_FALSE(bytes.ok());
  EXPECT_FALSE(bytes.getStatus().message().empty());
}

} // namespace
