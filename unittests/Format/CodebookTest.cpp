//===- CodebookTest.cpp - The 5-bit group code ----------------------------===//

#include "sherry/Format/Format.h"

#include "gtest/gtest.h"

using namespace sherry::format;

namespace {

TEST(Codebook, BytesMatchTheSpec) {
  const uint8_t expected[32] = {0xA9, 0x89, 0x29, 0x09, 0xA6, 0x86, 0x26, 0x06,
                                0x9A, 0x92, 0x1A, 0x12, 0x6A, 0x62, 0x4A, 0x42,
                                0x01, 0x21, 0x81, 0xA1, 0x04, 0x24, 0x84, 0xA4,
                                0x10, 0x18, 0x90, 0x98, 0x40, 0x48, 0x60, 0x68};
  for (int c = 0; c < 32; ++c)
    EXPECT_EQ(kCodebook[c], expected[c]) << "code " << c;
}

TEST(Codebook, SignBitNegatesTheGroup) {
  // cb[16 + i] == 0xAA - cb[i]: flipping the sign maps q = t + 1 to 2 - q.
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(kCodebook[16 + i], 0xAA - kCodebook[i]) << "slot " << i;
}

TEST(Codebook, AllCodesRoundTrip) {
  for (int c = 0; c < 32; ++c) {
    Result<Group> g = decodeGroup(uint8_t(c));
    ASSERT_TRUE(g.ok());
    int zeros = 0;
    for (int p = 0; p < 4; ++p) {
      // The decoded lane is the codebook's 2-bit field minus one.
      EXPECT_EQ((*g)[p], int((kCodebook[c] >> (2 * p)) & 3) - 1);
      zeros += (*g)[p] == 0;
    }
    EXPECT_EQ(zeros, 1);
    Result<uint8_t> code = encodeGroup(*g);
    ASSERT_TRUE(code.ok()) << code.message();
    EXPECT_EQ(*code, c);
  }
}

TEST(Codebook, EveryTernaryGroupEncodesToItsCodebookByte) {
  // All 3^4 = 81 groups: the 32 with exactly one zero encode to a code whose
  // codebook byte holds the group; the 49 others are rejected.
  int valid = 0;
  bool seen[32] = {};
  for (int i = 0; i < 81; ++i) {
    Group g = {int8_t(i % 3 - 1), int8_t(i / 3 % 3 - 1), int8_t(i / 9 % 3 - 1),
               int8_t(i / 27 % 3 - 1)};
    int zeros = (g[0] == 0) + (g[1] == 0) + (g[2] == 0) + (g[3] == 0);
    Result<uint8_t> code = encodeGroup(g);
    if (zeros != 1) {
      EXPECT_FALSE(code.ok()) << "group " << i;
      continue;
    }
    ASSERT_TRUE(code.ok()) << code.message();
    ASSERT_LT(*code, 32);
    EXPECT_FALSE(seen[*code]) << "code " << int(*code) << " used twice";
    seen[*code] = true;
    ++valid;
    for (int p = 0; p < 4; ++p)
      EXPECT_EQ(int((kCodebook[*code] >> (2 * p)) & 3), g[p] + 1)
          << "group " << i << ", lane " << p;
    // Bit 4 is the sign of the first non-zero lane.
    int first = g[0] != 0 ? 0 : 1;
    EXPECT_EQ((*code >> 4) & 1, g[first] < 0 ? 1 : 0);
    // Bits 2..3 are the zero lane.
    EXPECT_EQ(g[(*code >> 2) & 3], 0);
  }
  EXPECT_EQ(valid, 32);
}

TEST(Codebook, EncodeFollowsTheDefinition) {
  // t = (0, -1, +1, -1): z = 0, sign = 1 (t[1] < 0), b0 = t[2] != t[1] = 1,
  // b1 = t[3] != t[1] = 0: code = 16 | 0 << 2 | 0 << 1 | 1 = 17.
  EXPECT_EQ(*encodeGroup({0, -1, 1, -1}), 17);
  // t = (+1, +1, +1, 0): z = 3, sign 0, b0 = b1 = 0: code = 12.
  EXPECT_EQ(*encodeGroup({1, 1, 1, 0}), 12);
  // t = (-1, 0, +1, +1): z = 1, sign 1, b0 = 1, b1 = 1: 16 | 4 | 3 = 23.
  EXPECT_EQ(*encodeGroup({-1, 0, 1, 1}), 23);
}

TEST(Codebook, RejectsInvalidGroups) {
  Result<uint8_t> twoZeros = encodeGroup({0, 0, 1, 1});
  ASSERT_FALSE(twoZeros.ok());
  EXPECT_NE(twoZeros.message().find("exactly one zero"), std::string::npos);
  Result<uint8_t> noZero = encodeGroup({1, -1, 1, 1});
  ASSERT_FALSE(noZero.ok());
  EXPECT_NE(noZero.message().find("holds 0"), std::string::npos);
  Result<uint8_t> notTernary = encodeGroup({2, 0, 1, 1});
  ASSERT_FALSE(notTernary.ok());
  EXPECT_NE(notTernary.message().find("not a ternary value"),
            std::string::npos);
  Result<uint8_t> negTwo = encodeGroup({1, 0, -2, 1});
  ASSERT_FALSE(negTwo.ok());
  EXPECT_NE(negTwo.message().find("lane 2 holds -2"), std::string::npos);
  Result<uint8_t> allZero = encodeGroup({0, 0, 0, 0});
  ASSERT_FALSE(allZero.ok());
  EXPECT_NE(allZero.message().find("holds 4"), std::string::npos);
  for (int c : {32, 33, 127, 255}) {
    Result<Group> badCode = decodeGroup(uint8_t(c));
    ASSERT_FALSE(badCode.ok());
    EXPECT_NE(badCode.message().find("code " + std::to_string(c) +
                                     " is not a 5-bit group code"),
              std::string::npos);
  }
}

} // namespace
