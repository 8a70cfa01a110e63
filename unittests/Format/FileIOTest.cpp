//===- FileIOTest.cpp - .npy, .sherry files and half floats ---------------===//

#include "sherry/Format/FileIO.h"
#include "TestUtils.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace sherry::format;
using namespace sherry::format::test;

namespace {

std::vector<uint8_t> npyWithHeader(const std::string &dict,
                                   const std::vector<uint8_t> &data,
                                   int version = 1) {
  std::string header = dict;
  size_t prefix = version == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(version),
                              0};
  out.push_back(uint8_t(header.size() & 0xFF));
  out.push_back(uint8_t(header.size() >> 8));
  if (version != 1) {
    out.push_back(0);
    out.push_back(0);
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

TEST(Half, ExactValuesAndRounding) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(floatToHalf(0.5f), 0x3800);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(0.1f), 0x2E66);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0).
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  // 1 + 3 * 2^-11 is halfway between odd 0x3C01 and even 0x3C02.
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  // Smallest subnormal 2^-24, and half of it rounds to even zero.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002);
  EXPECT_EQ(floatToHalf(1e6f), 0x7C00);
  EXPECT_EQ(floatToHalf(-std::numeric_limits<float>::infinity()), 0xFC00);
  uint16_t nan = floatToHalf(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x3FF, 0);

  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfToFloat(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(halfToFloat(0x7E00)));
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
  // Every finite half survives a round trip.
  for (uint32_t h = 0; h < 0x10000; ++h)
    if ((h & 0x7C00) != 0x7C00)
      EXPECT_EQ(floatToHalf(halfToFloat(uint16_t(h))), h) << h;
}

TEST(Npy, RoundTripsF32AndI8) {
  NpyArray f = makeNpyF32({2, 3}, {1, 2, 3, 4, 5, -6.5f});
  auto parsed = parseNpy(serializeNpy(f).data(), serializeNpy(f).size());
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  EXPECT_EQ(parsed->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(parsed->toFloat(), (std::vector<float>{1, 2, 3, 4, 5, -6.5f}));
  // The data starts 64-byte aligned, as numpy writes it.
  EXPECT_EQ((serializeNpy(f).size() - 24) % 64, 0u);

  NpyArray i = makeNpyI8({4}, {-1, 0, 1, 127});
  std::vector<uint8_t> bytes = serializeNpy(i);
  auto pi = parseNpy(bytes.data(), bytes.size());
  ASSERT_TRUE(pi.ok()) << pi.message();
  EXPECT_EQ(pi->dtype, NpyDType::I8);
  EXPECT_EQ(pi->shape, std::vector<int64_t>{4});
  EXPECT_EQ(pi->toFloat(), (std::vector<float>{-1, 0, 1, 127}));
}

TEST(Npy, ReadsF16AndVersion2) {
  std::vector<uint8_t> data = {0x00, 0x3C, 0x00, 0xC0}; // 1.0, -2.0
  auto a = parseNpy(npyWithHeader("{'descr': '<f2', 'fortran_order': False, "
                                  "'shape': (1, 2), }",
                                  data, 2)
                        .data(),
                    npyWithHeader("{'descr': '<f2', 'fortran_order': False, "
                                  "'shape': (1, 2), }",
                                  data, 2)
                        .size());
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->dtype, NpyDType::F16);
  EXPECT_EQ(a->toFloat(), (std::vector<float>{1.0f, -2.0f}));
}

TEST(Npy, RejectsWhatItCannotRead) {
  std::vector<uint8_t> four(4 * 2, 0);
  auto check = [](const std::vector<uint8_t> &file, const char *words) {
    auto r = parseNpy(file.data(), file.size());
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.message(), words)) << r.message();
  };
  check(npyWithHeader("{'descr': '<f4', 'fortran_order': True, "
                      "'shape': (2,), }",
                      four),
        "Fortran-order");
  check(npyWithHeader("{'descr': '>f4', 'fortran_order': False, "
                      "'shape': (2,), }",
                      four),
        "unsupported .npy dtype '>f4'");
  check(npyWithHeader("{'descr': '<f8', 'fortran_order': False, "
                      "'shape': (1,), }",
                      four),
        "unsupported .npy dtype '<f8'");
  check(npyWithHeader("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (3,), }",
                      four),
        "truncated .npy data");
  check(npyWithHeader("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (1,), }",
                      four),
        "oversized .npy data");
  check(npyWithHeader("{'descr': '<f4', 'shape': (2,), }", four),
        "are all required");
  check(npyWithHeader("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (2, x), }",
                      four),
        "bad dimension");
  check(npyWithHeader("['descr']", four), "expected a dict");
  check(npyWithHeader("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (99999999999, 99999999999), }",
                      four),
        "too large");
  check({'n', 'o', 't', ' ', 'n', 'p', 'y', 0, 0, 0, 0}, "bad magic");
  std::vector<uint8_t> truncated =
      npyWithHeader("{'descr': '<f4', 'fortran_order': False, "
                    "'shape': (2,), }",
                    four);
  truncated.resize(20);
  check(truncated, "truncated .npy header");
  std::vector<uint8_t> v9 = truncated;
  v9[6] = 9;
  check(v9, "unsupported .npy format version 9");
  auto missing = readNpy("/nonexistent/w.npy");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.message(), "cannot open '/nonexistent/w.npy'"));
}

PackedWeights samplePacked(Layout layout) {
  int64_t cols = layout == Layout::Stq1_0 ? 512 : 96;
  auto w = randomWeights(3, cols, 31);
  ScaleSpec spec =
      layout == Layout::Stq1_0 ? ScaleSpec::group(256) : ScaleSpec::group(32);
  return *pack(*ternarize(w.data(), 3, cols, layout, spec), layout);
}

TEST(PackedFile, RoundTripsBothLayouts) {
  for (Layout layout : {Layout::Sherry, Layout::Stq1_0}) {
    PackedWeights p = samplePacked(layout);
    std::vector<uint8_t> bytes = serializePackedFile(p);
    EXPECT_EQ(bytes.size(), 64 + p.data.size() + 4 * p.scales.size());
    auto back = parsePackedFile(bytes.data(), bytes.size());
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_EQ(back->layout, p.layout);
    EXPECT_EQ(back->rows, p.rows);
    EXPECT_EQ(back->cols, p.cols);
    EXPECT_EQ(back->scaleSpec, p.scaleSpec);
    EXPECT_EQ(back->data, p.data);
    EXPECT_EQ(back->scales, p.scales);
  }
}

TEST(PackedFile, HeaderIsLittleEndianAsDocumented) {
  PackedWeights p = samplePacked(Layout::Sherry);
  std::vector<uint8_t> b = serializePackedFile(p);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 7), "SHERRYW");
  EXPECT_EQ(b[7], 0);
  EXPECT_EQ(b[8], 1);   // version
  EXPECT_EQ(b[12], 0);  // layout sherry
  EXPECT_EQ(b[16], 2);  // granularity group
  EXPECT_EQ(b[24], 3);  // rows
  EXPECT_EQ(b[32], 96); // cols
  EXPECT_EQ(b[40], 32); // group size
  EXPECT_EQ(b[48], 45); // 3 rows x 15 bytes
  EXPECT_EQ(b[56], 9);  // 3 x 3 scales
}

TEST(PackedFile, EveryErrorNamesTheProblem) {
  std::vector<uint8_t> good = serializePackedFile(samplePacked(Layout::Sherry));
  auto check = [](std::vector<uint8_t> file, const char *words) {
    auto r = parsePackedFile(file.data(), file.size());
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.message(), words)) << r.message();
  };
  auto patch = [&](size_t offset, uint64_t value, size_t width) {
    std::vector<uint8_t> f = good;
    for (size_t i = 0; i < width; ++i)
      f[offset + i] = uint8_t(value >> (8 * i));
    return f;
  };
  check(std::vector<uint8_t>(good.begin(), good.begin() + 40),
        "truncated header");
  check(patch(0, 'X', 1), "bad magic");
  check(patch(8, 2, 4), "unsupported .sherry version 2");
  check(patch(12, 7, 4), "unknown layout code 7");
  check(patch(16, 3, 4), "unknown scale granularity code 3");
  check(patch(20, 1, 4), "reserved header field");
  check(patch(32, 100, 8), "K = 100 is not a multiple of 32");
  check(patch(24, 0, 8), "M = 0");
  check(patch(40, 6, 8), "G = 6");
  check(patch(48, UINT64_MAX, 8), "truncated: the header says");
  check(patch(56, UINT64_MAX / 2, 8), "truncated: the header says");
  check(patch(48, 44, 8), "unexpected bytes after the scales");
  check(patch(24, 4, 8), "hold 9 scales");
  std::vector<uint8_t> shortFile = good;
  shortFile.pop_back();
  check(shortFile, "truncated");
  std::vector<uint8_t> longFile = good;
  longFile.push_back(0);
  check(longFile, "1 unexpected bytes");
  // A row-granularity header with a group size is inconsistent.
  std::vector<uint8_t> rowWithGroup = patch(16, 1, 4);
  check(rowWithGroup, "without group granularity");
  auto missing = readPackedFile("/nonexistent/w.sherry");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.message(), "/nonexistent/w.sherry"));
}

} // namespace
