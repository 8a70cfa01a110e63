//===- TableLayoutTest.cpp - The tables layout ----------------------------===//

#include "TestUtils.h"
#include "sherry/Format/FileIO.h"
#include "sherry/Format/Format.h"

#include "gtest/gtest.h"

using namespace sherry::format;
using namespace sherry::format::test;

namespace {

/// Seeded weights ternarized and packed in `layout` with `spec` scales.
PackedWeights packedWeights(Layout layout, int64_t rows, int64_t cols,
                            ScaleSpec spec, unsigned seed) {
  std::vector<float> w = randomWeights(rows, cols, seed);
  Result<TernaryMatrix> t = ternarize(w.data(), rows, cols, layout, spec);
  EXPECT_TRUE(t.ok()) << t.getStatus().message();
  Result<PackedWeights> p = pack(*t, layout);
  EXPECT_TRUE(p.ok()) << p.getStatus().message();
  return *p;
}

std::string describe(const PackedWeights &p) {
  return p.layoutDescription() + " " + std::to_string(p.rows) + "x" +
         std::to_string(p.cols) + " " + scaleSpecName(p.scaleSpec);
}

struct Case {
  Layout layout;
  int64_t rows, cols;
  ScaleSpec spec;
};

// Rows that leave a padded last tile, one row, whole tiles; K of one step
// past a word four; regions of 16 groups or more than 255.
const Case kCases[] = {
    {Layout::Sherry, 37, 96, ScaleSpec::row()},
    {Layout::Sherry, 1, 64, ScaleSpec::tensor()},
    {Layout::Sherry, 96, 128, ScaleSpec::group(64)},
    {Layout::Sherry, 70, 2048, ScaleSpec::row()},
    {Layout::Sherry, 33, 256, ScaleSpec::group(16)},
    {Layout::Stq1_0, 45, 512, ScaleSpec::group(256)},
};

TEST(TableLayout, RoundTripsEveryOrderAndBlock) {
  for (const Case &c : kCases)
    for (TableOrder order :
         {TableOrder::GroupPairs, TableOrder::Lanes, TableOrder::WordFields})
      for (int64_t block : {1, 3, 4, 8}) {
        PackedWeights canonical =
            packedWeights(c.layout, c.rows, c.cols, c.spec, 3);
        TableLayout layout{order, block};
        Result<PackedWeights> tables = toTables(canonical, layout);
        bool words = order == TableOrder::WordFields;
        int64_t segment = scaleRegionLength(canonical.scaleSpec, c.cols);
        if (words && (c.cols % 64 != 0 || segment % 64 != 0)) {
          ASSERT_FALSE(tables.ok());
          EXPECT_NE(tables.message().find("multiples of 64"),
                    std::string::npos)
              << tables.message();
          continue;
        }
        ASSERT_TRUE(tables.ok()) << tables.getStatus().message();
        SCOPED_TRACE(describe(*tables));
        EXPECT_EQ(tables->layout, c.layout); // the grouping is kept
        ASSERT_TRUE(tables->tables.has_value());
        EXPECT_EQ(*tables->tables, layout);
        EXPECT_TRUE(tables->verify().ok());
        EXPECT_EQ(int64_t(tables->data.size()),
                  tableDataBytes(c.rows, c.cols, tables->scaleSpec, layout));

        // The codes are interleaveForTables' bytes; in the lanes order the
        // counts follow, each in tableCountBytes(segment) bytes.
        Result<std::vector<uint8_t>> codes =
            interleaveForTables(canonical, order, block);
        ASSERT_TRUE(codes.ok());
        ASSERT_GE(tables->data.size(), codes->size());
        EXPECT_TRUE(
            std::equal(codes->begin(), codes->end(), tables->data.begin()));
        if (order == TableOrder::Lanes) {
          Result<std::vector<int32_t>> counts =
              countNegativeGroups(canonical, segment);
          ASSERT_TRUE(counts.ok());
          int64_t width = tableCountBytes(segment);
          EXPECT_EQ(width, segment / 4 <= 255 ? 1 : 2);
          ASSERT_EQ(tables->data.size() - codes->size(),
                    counts->size() * size_t(width));
          for (size_t i = 0; i < counts->size(); ++i) {
            int32_t stored = 0;
            for (int64_t b = 0; b < width; ++b)
              stored |= int32_t(tables->data[codes->size() + i * width + b])
                        << (8 * b);
            ASSERT_EQ(stored, (*counts)[i]) << "count " << i;
          }
        } else {
          EXPECT_EQ(tables->data.size(), codes->size());
        }

        // The same values and scales back, and the same bytes in the
        // canonical layout of the grouping.
        Result<TernaryMatrix> a = unpack(canonical), b = unpack(*tables);
        ASSERT_TRUE(a.ok() && b.ok()) << b.getStatus().message();
        EXPECT_EQ(a->values, b->values);
        EXPECT_EQ(a->scales, b->scales);
        Result<PackedWeights> back = convert(*tables, c.layout);
        ASSERT_TRUE(back.ok()) << back.getStatus().message();
        EXPECT_FALSE(back->tables.has_value());
        EXPECT_EQ(back->data, canonical.data);
        EXPECT_EQ(back->scales, canonical.scales);

        // A file holds it, and gives it back.
        std::vector<uint8_t> file = serializePackedFile(*tables);
        Result<PackedWeights> read = parsePackedFile(file.data(), file.size());
        ASSERT_TRUE(read.ok()) << read.getStatus().message();
        EXPECT_EQ(read->layout, tables->layout);
        EXPECT_EQ(read->tables, tables->tables);
        EXPECT_EQ(read->data, tables->data);
        EXPECT_EQ(read->scales, tables->scales);
      }
}

TEST(TableLayout, FromStq1_0KeepsItsGroupingAndScales) {
  PackedWeights stq =
      packedWeights(Layout::Stq1_0, 40, 512, ScaleSpec::group(256), 5);
  Result<PackedWeights> tables = toTables(stq, {});
  ASSERT_TRUE(tables.ok()) << tables.getStatus().message();
  EXPECT_EQ(tables->layout, Layout::Stq1_0);
  EXPECT_EQ(tables->scaleSpec, ScaleSpec::group(256));
  // The f16 block scales widen exactly to f32.
  Result<TernaryMatrix> t = unpack(stq);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(tables->scales, t->scales);
  // 1.25 bits of codes, 32 of scale per 256 weights, 8 bits of count per
  // row and block.
  EXPECT_DOUBLE_EQ(tables->bitsPerWeight(),
                   (double(tables->data.size()) + 4.0 * 40 * 2) * 8 /
                       (40.0 * 512));
  Result<PackedWeights> back = convert(*tables, Layout::Stq1_0);
  ASSERT_TRUE(back.ok()) << back.getStatus().message();
  EXPECT_EQ(back->data, stq.data);
  // Regrouping to sherry re-picks zeros: refused as for stq1_0 itself.
  Result<PackedWeights> regrouped = convert(*tables, Layout::Sherry);
  Result<PackedWeights> direct = convert(stq, Layout::Sherry);
  ASSERT_EQ(regrouped.ok(), direct.ok());
  if (!regrouped.ok())
    EXPECT_NE(regrouped.message().find("cannot convert tables (stq1_0 "
                                       "grouping, lanes order, tile block "
                                       "4) to sherry"),
              std::string::npos)
        << regrouped.message();
}

TEST(TableLayout, RefusesBytesNoConversionWrote) {
  PackedWeights canonical =
      packedWeights(Layout::Sherry, 37, 96, ScaleSpec::row(), 7);
  Result<PackedWeights> tables = toTables(canonical, {});
  ASSERT_TRUE(tables.ok());
  int64_t codeBytes = 2 * (96 / 16) * 80;

  // A count that disagrees with the codes.
  PackedWeights badCount = *tables;
  badCount.data[codeBytes + 5] ^= 1;
  Result<TernaryMatrix> t = unpack(badCount);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("tables layout: the count of negative groups "
                             "of row 5, scale region 0 is"),
            std::string::npos)
      << t.message();

  // A padding row (37..63) with a code: row 37 is byte 5 of the second
  // tile's first step, high nibble, in the lanes order.
  PackedWeights badPadding = *tables;
  badPadding.data[(96 / 16) * 80 + 5] |= 0x30;
  t = unpack(badPadding);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("padding row 53 (past M = 37) has code 3 in "
                             "group 0, not 0"),
            std::string::npos)
      << t.message();
  std::vector<uint8_t> file = serializePackedFile(badPadding);
  Result<PackedWeights> read = parsePackedFile(file.data(), file.size());
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.message().find("padding row 53"), std::string::npos);
  EXPECT_FALSE(writePackedFile("/dev/null", badPadding).ok());

  // Sizes, blocks and orders that do not fit.
  PackedWeights shortData = *tables;
  shortData.data.pop_back();
  EXPECT_NE(shortData.verify().message().find(
                "packed data is 1023 bytes, but 37 x 96 in the tables "
                "(sherry grouping, lanes order, tile block 4) layout needs "
                "1024"),
            std::string::npos)
      << shortData.verify().message();
  for (int64_t block : {0, 65}) {
    Result<PackedWeights> bad = toTables(canonical, {TableOrder::Lanes, block});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.message().find("tile block is " + std::to_string(block) +
                                 "; it must be in 1..64"),
              std::string::npos);
  }
  Result<PackedWeights> words =
      toTables(canonical, {TableOrder::WordFields, 4});
  ASSERT_FALSE(words.ok());
  EXPECT_NE(words.message().find("(words order) reads 64 K elements at a "
                                 "time, so K and the scale regions must be "
                                 "multiples of 64; got K = 96"),
            std::string::npos)
      << words.message();
  PackedWeights groups8 =
      packedWeights(Layout::Sherry, 4, 64, ScaleSpec::group(8), 1);
  EXPECT_FALSE(toTables(groups8, {}).ok());
}

TEST(TableLayout, FileHeaderCarriesTheParameters) {
  PackedWeights canonical =
      packedWeights(Layout::Sherry, 8, 64, ScaleSpec::row(), 9);
  Result<PackedWeights> tables =
      toTables(canonical, {TableOrder::WordFields, 3});
  ASSERT_TRUE(tables.ok());
  std::vector<uint8_t> file = serializePackedFile(*tables);
  auto u32 = [&](size_t at) {
    return uint32_t(file[at]) | uint32_t(file[at + 1]) << 8 |
           uint32_t(file[at + 2]) << 16 | uint32_t(file[at + 3]) << 24;
  };
  EXPECT_EQ(u32(8), 2u);  // version 2
  EXPECT_EQ(u32(12), 2u); // layout tables
  EXPECT_EQ(u32(20), 0u | 2u << 8 | 3u << 16);
  // The canonical layouts stay version 1 with a zero field.
  std::vector<uint8_t> v1 = serializePackedFile(canonical);
  EXPECT_EQ(v1[8], 1);
  EXPECT_EQ(v1[20], 0);

  auto parseWith = [&](size_t at, uint32_t value) {
    std::vector<uint8_t> bad = file;
    for (int i = 0; i < 4; ++i)
      bad[at + i] = uint8_t(value >> (8 * i));
    Result<PackedWeights> p = parsePackedFile(bad.data(), bad.size());
    EXPECT_FALSE(p.ok());
    return p.ok() ? std::string() : p.message();
  };
  EXPECT_NE(parseWith(8, 1).find("unknown layout code 2 (0 = sherry, 1 = "
                                 "stq1_0; version 2 adds 2 = tables)"),
            std::string::npos);
  EXPECT_NE(parseWith(20, 7).find("unknown grouping code 7"),
            std::string::npos);
  EXPECT_NE(parseWith(20, 3u << 8 | 1u << 16).find("unknown table order "
                                                    "code 3"),
            std::string::npos);
  EXPECT_NE(parseWith(20, 1u << 8).find("tile block is 0"), std::string::npos);
  EXPECT_NE(parseWith(20, 1u << 8 | 4u << 16).find("data bytes, but 8 x 64 "
                                                   "in the tables"),
            std::string::npos);
  EXPECT_NE(parseWith(8, 3).find("this build reads versions 1 and 2"),
            std::string::npos);
}

} // namespace
