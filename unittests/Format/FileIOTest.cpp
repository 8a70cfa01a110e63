//===- FileIOTest.cpp - .npy, .sherry files and half floats ---------------===//
//
// The readers take arbitrary bytes, so beyond round trips every error path is
// exercised, and every truncation and single-byte corruption of valid files
// must give an error or a valid value, never a crash (run these under ASan).
//
//===----------------------------------------------------------------------===//

#include "sherry/Format/FileIO.h"
#include "TestUtils.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace sherry::format;
using namespace sherry::format::test;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// A .npy file with a hand-written header dict, padded as numpy pads it.
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

std::string dictFor(const char *descr, const char *shape,
                    const char *fortran = "False") {
  return std::string("{'descr': '") + descr + "', 'fortran_order': " + fortran +
         ", 'shape': " + shape + ", }";
}

Result<NpyArray> parse(const std::vector<uint8_t> &bytes) {
  return parseNpy(bytes.data(), bytes.size());
}

/// The header text of a serialized .npy (without the 10-byte prefix).
std::string npyHeader(const std::vector<uint8_t> &bytes) {
  size_t len = bytes[8] | (bytes[9] << 8);
  return std::string(bytes.begin() + 10, bytes.begin() + 10 + len);
}

std::string tempPath(const std::string &name) {
  return testing::TempDir() + "/sherry-fileio-" + name;
}

float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

//===----------------------------------------------------------------------===//
// Half floats
//===----------------------------------------------------------------------===//

TEST(Half, ExactValuesAndRounding) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(floatToHalf(0.5f), 0x3800);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(0.1f), 0x2E66);
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0).
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  // 1 + 3 * 2^-11 is halfway between odd 0x3C01 and even 0x3C02.
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  // Just above the tie rounds up, just below rounds down.
  EXPECT_EQ(floatToHalf(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)),
            0x3C01);
  EXPECT_EQ(floatToHalf(std::nextafter(1.0f + 3 * std::ldexp(1.0f, -11), 0.f)),
            0x3C01);
  // Rounding carries into the exponent: the largest float below 2 is 2.
  EXPECT_EQ(floatToHalf(std::nextafter(2.0f, 0.0f)), 0x4000);
  // 65520 is halfway between 65504 and 65536 (odd 0x7BFF): Inf.
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00);
  EXPECT_EQ(floatToHalf(std::nextafter(65520.0f, 0.0f)), 0x7BFF);
  EXPECT_EQ(floatToHalf(1e6f), 0x7C00);
  EXPECT_EQ(floatToHalf(-1e30f), 0xFC00);
}

TEST(Half, Subnormals) {
  // Smallest subnormal 2^-24, and half of it rounds to even zero.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(floatToHalf(-std::ldexp(1.0f, -25)), 0x8000);
  EXPECT_EQ(floatToHalf(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002);
  EXPECT_EQ(floatToHalf(std::ldexp(1023.0f, -24)), 0x03FF);
  // The largest subnormal plus half an ulp rounds up to the smallest normal.
  EXPECT_EQ(floatToHalf(std::ldexp(1023.5f, -24)), 0x0400);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400);
  // f32 subnormals are far below the f16 range.
  EXPECT_EQ(floatToHalf(bitsToFloat(0x00000001)), 0x0000);
  EXPECT_EQ(floatToHalf(bitsToFloat(0x80400000)), 0x8000);

  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfToFloat(0x8200), -std::ldexp(1.0f, -15));
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));
}

TEST(Half, InfinityAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(floatToHalf(inf), 0x7C00);
  EXPECT_EQ(floatToHalf(-inf), 0xFC00);
  for (uint32_t bits : {0x7FC00000u, 0x7F800001u, 0xFFC00000u, 0x7FFFFFFFu}) {
    uint16_t h = floatToHalf(bitsToFloat(bits));
    EXPECT_EQ(h & 0x7C00, 0x7C00) << bits;
    // A signalling NaN whose payload sits in low bits must not become Inf.
    EXPECT_NE(h & 0x3FF, 0) << bits;
    EXPECT_EQ(h >> 15, bits >> 31) << bits;
  }
  EXPECT_EQ(halfToFloat(0x7C00), inf);
  EXPECT_EQ(halfToFloat(0xFC00), -inf);
  EXPECT_TRUE(std::isnan(halfToFloat(0x7E00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0x7C01)));
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
}

TEST(Half, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = halfToFloat(uint16_t(h));
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) {
      EXPECT_TRUE(std::isnan(f)) << h;
      continue;
    }
    EXPECT_EQ(floatToHalf(f), h) << h;
  }
}

#ifdef __FLT16_MANT_DIG__
// The compiler's own conversion (F16C or compiler-rt), round to nearest
// even, as the oracle over a dense sample of all floats.
TEST(Half, MatchesTheCompilersConversion) {
  for (uint64_t bits = 0; bits <= 0xFFFFFFFFu; bits += 997) {
    float f = bitsToFloat(uint32_t(bits));
    if (std::isnan(f))
      continue;
    _Float16 h = static_cast<_Float16>(f);
    uint16_t want;
    std::memcpy(&want, &h, 2);
    ASSERT_EQ(floatToHalf(f), want) << std::hex << bits;
    EXPECT_EQ(halfToFloat(want), static_cast<float>(h)) << std::hex << bits;
  }
}
#endif

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

TEST(Npy, RoundTripsF32F16AndI8) {
  NpyArray f = makeNpyF32({2, 3}, {1, 2, 3, 4, 5, -6.5f});
  std::vector<uint8_t> fb = serializeNpy(f);
  auto parsed = parse(fb);
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  EXPECT_EQ(parsed->dtype, NpyDType::F32);
  EXPECT_EQ(parsed->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(parsed->numElements(), 6);
  EXPECT_EQ(parsed->bytes, f.bytes);
  EXPECT_EQ(parsed->toFloat(), (std::vector<float>{1, 2, 3, 4, 5, -6.5f}));
  // The data starts 64-byte aligned, as numpy writes it.
  EXPECT_EQ((fb.size() - 24) % 64, 0u);

  NpyArray h = makeNpyF16({3}, {1.0f, -2.0f, 0.1f});
  EXPECT_EQ(h.bytes,
            (std::vector<uint8_t>{0x00, 0x3C, 0x00, 0xC0, 0x66, 0x2E}));
  std::vector<uint8_t> hb = serializeNpy(h);
  auto ph = parse(hb);
  ASSERT_TRUE(ph.ok()) << ph.message();
  EXPECT_EQ(ph->dtype, NpyDType::F16);
  EXPECT_EQ(ph->toFloat(),
            (std::vector<float>{1.0f, -2.0f, halfToFloat(0x2E66)}));

  NpyArray i = makeNpyI8({4}, {-1, 0, 1, 127});
  std::vector<uint8_t> bytes = serializeNpy(i);
  auto pi = parse(bytes);
  ASSERT_TRUE(pi.ok()) << pi.message();
  EXPECT_EQ(pi->dtype, NpyDType::I8);
  EXPECT_EQ(pi->shape, std::vector<int64_t>{4});
  EXPECT_EQ(pi->toFloat(), (std::vector<float>{-1, 0, 1, 127}));
}

TEST(Npy, WritesWhatNumpyWrites) {
  // The headers np.save (numpy 1.24+) writes for the same arrays, byte for
  // byte: sorted keys, spare room for the first dimension, 64-byte aligned.
  std::vector<uint8_t> b =
      serializeNpy(makeNpyF32({2, 3}, std::vector<float>(6)));
  EXPECT_EQ(std::string(b.begin(), b.begin() + 8),
            std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(npyHeader(b), "{'descr': '<f4', 'fortran_order': False, 'shape': "
                          "(2, 3), }" +
                              std::string(58, ' ') + "\n");
  EXPECT_EQ(b.size(), 152u);
  b = serializeNpy(makeNpyI8({4}, {0, 0, 0, 0}));
  EXPECT_EQ(npyHeader(b), "{'descr': '|i1', 'fortran_order': False, 'shape': "
                          "(4,), }" +
                              std::string(60, ' ') + "\n");
  b = serializeNpy(makeNpyF16({}, {0.0f}));
  EXPECT_EQ(npyHeader(b), "{'descr': '<f2', 'fortran_order': False, 'shape': "
                          "(), }" +
                              std::string(62, ' ') + "\n");
  EXPECT_EQ(b.size(), 130u);
  // Already aligned without padding: numpy still pads a full 64 bytes.
  std::vector<int64_t> shape = {0, 1, 1, 1, 10, 10, 10, 10, 10, 10, 10, 10};
  b = serializeNpy(makeNpyF32(shape, {}));
  EXPECT_EQ(b.size(), 192u);
  EXPECT_EQ(npyHeader(b).substr(117), std::string(64, ' ') + "\n");
  auto p = parse(b);
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->shape, shape);
}

TEST(Npy, ReadsVersions2And3AndNumpyVariants) {
  std::vector<uint8_t> data = {0x00, 0x3C, 0x00, 0xC0}; // 1.0, -2.0 as f16
  for (int version : {1, 2, 3}) {
    auto a = parse(npyWithHeader(dictFor("<f2", "(1, 2)"), data, version));
    ASSERT_TRUE(a.ok()) << version << ": " << a.message();
    EXPECT_EQ(a->dtype, NpyDType::F16);
    EXPECT_EQ(a->shape, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(a->toFloat(), (std::vector<float>{1.0f, -2.0f}));
  }
  // Key order, quotes, spacing, a missing trailing comma, '<i1', Python 2's
  // long suffix: all legal headers numpy reads.
  std::vector<uint8_t> four = {1, 2, 3, 4};
  for (const char *dict :
       {"{'shape': (2, 2), 'fortran_order': False, 'descr': '|i1'}",
        "{\"descr\": \"<i1\", \"fortran_order\": False, \"shape\": (2,2)}",
        "{'descr':'|i1','fortran_order':False,'shape':(2L, 2L),}",
        "{\t'descr': '|i1',\r\n 'fortran_order': False, 'shape': ( 2 , 2 , ) "
        "}"}) {
    auto a = parse(npyWithHeader(dict, four));
    ASSERT_TRUE(a.ok()) << dict << ": " << a.message();
    EXPECT_EQ(a->dtype, NpyDType::I8) << dict;
    EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 2})) << dict;
    EXPECT_EQ(a->bytes, four) << dict;
  }
  // Zero-size and 0-D arrays.
  auto empty = parse(npyWithHeader(dictFor("<f4", "(0, 7)"), {}));
  ASSERT_TRUE(empty.ok()) << empty.message();
  EXPECT_EQ(empty->numElements(), 0);
  EXPECT_TRUE(empty->toFloat().empty());
  auto scalar = parse(npyWithHeader(dictFor("<f4", "()"), {0, 0, 0x80, 0x3F}));
  ASSERT_TRUE(scalar.ok()) << scalar.message();
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->toFloat(), std::vector<float>{1.0f});
}

TEST(Npy, RejectsWhatItCannotRead) {
  std::vector<uint8_t> eight(4 * 2, 0);
  auto check = [](const std::vector<uint8_t> &file, const char *words) {
    auto r = parse(file);
    ASSERT_FALSE(r.ok()) << words;
    EXPECT_TRUE(contains(r.message(), words)) << r.message();
  };
  check(npyWithHeader(dictFor("<f4", "(2,)", "True"), eight), "Fortran-order");
  check(npyWithHeader(dictFor(">f4", "(2,)"), eight),
        "unsupported .npy dtype '>f4'");
  check(npyWithHeader(dictFor(">f2", "(4,)"), eight),
        "unsupported .npy dtype '>f2'");
  check(npyWithHeader(dictFor("<f8", "(1,)"), eight),
        "unsupported .npy dtype '<f8'");
  check(npyWithHeader(dictFor("|u1", "(8,)"), eight),
        "unsupported .npy dtype '|u1'");
  check(npyWithHeader("{'descr': [('a', '<f4')], 'fortran_order': False, "
                      "'shape': (2,), }",
                      eight),
        "structured dtypes are not supported");
  check(npyWithHeader(dictFor("<f4", "(3,)"), eight),
        "truncated .npy data: the shape needs 12 bytes, the file holds 8");
  check(npyWithHeader(dictFor("<f4", "(1,)"), eight),
        "oversized .npy data: the shape needs 4 bytes, the file holds 8");
  check(npyWithHeader("{'descr': '<f4', 'shape': (2,), }", eight),
        "are all required");
  check(npyWithHeader(dictFor("<f4", "(2, x)"), eight), "bad dimension");
  check(npyWithHeader(dictFor("<f4", "(-2,)"), eight), "bad dimension");
  check(npyWithHeader(dictFor("<f4", "(2 3)"), eight), "bad shape tuple");
  check(npyWithHeader(dictFor("<f4", "[2]"), eight), "shape is not a tuple");
  check(npyWithHeader(dictFor("<f4", "(2,)", "0"), eight),
        "fortran_order is not a bool");
  check(npyWithHeader(dictFor("<f4", "(2,)", "Maybe"), eight),
        "fortran_order is not a bool");
  check(npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': "
                      "(2,), 'extra': 1}",
                      eight),
        "unknown key 'extra'");
  check(npyWithHeader("{descr: '<f4'}", eight), "expected 'key': value");
  check(npyWithHeader("{'descr': '<f4' 'shape': (2,)}", eight),
        "expected ',' or '}'");
  check(npyWithHeader("{'descr': '<f4", eight), "descr is not a string");
  check(npyWithHeader(dictFor("<f4", "(2,)") + " junk", eight),
        "unexpected text after the dict");
  check(npyWithHeader("['descr']", eight), "expected a dict");
  check(npyWithHeader(dictFor("<f4", "(99999999999999999999,)"), eight),
        "bad dimension");
  check(npyWithHeader(dictFor("<f4", "(99999999999, 99999999999)"), eight),
        "too large");
  check(npyWithHeader(dictFor("<f4", "(4611686018427387904, 4, 0)"), eight),
        "too large");
  check({'n', 'o', 't', ' ', 'n', 'p', 'y', 0, 0, 0, 0}, "bad magic");
  check({0x93, 'N', 'U', 'M'}, "bad magic");
  std::vector<uint8_t> truncated = npyWithHeader(dictFor("<f4", "(2,)"), eight);
  truncated.resize(20);
  check(truncated, "truncated .npy header: it claims 118 bytes, 10 remain");
  check(std::vector<uint8_t>(truncated.begin(), truncated.begin() + 9),
        "truncated .npy header: 9 bytes");
  std::vector<uint8_t> v2 = npyWithHeader(dictFor("<f4", "(2,)"), eight, 2);
  check(std::vector<uint8_t>(v2.begin(), v2.begin() + 11),
        "truncated .npy header: 11 bytes");
  v2[11] = 0x80; // a header length of 2 GiB
  check(v2, "truncated .npy header: it claims 2147483764 bytes");
  std::vector<uint8_t> v9 = truncated;
  v9[6] = 9;
  check(v9, "unsupported .npy format version 9.0");
  EXPECT_FALSE(parseNpy(nullptr, 0).ok());
}

TEST(Npy, FilesOnDisk) {
  std::string path = tempPath("a.npy");
  NpyArray a = makeNpyF32({2, 2}, {1, -1, 0.5f, 3});
  ASSERT_TRUE(writeNpy(path, a).ok());
  auto back = readNpy(path);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->toFloat(), (std::vector<float>{1, -1, 0.5f, 3}));

  // A file's errors name the file.
  ASSERT_TRUE(writeFileBytes(path, {'x', 'y'}).ok());
  auto bad = readNpy(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "'" + path + "': not a .npy file (bad magic)");
  auto missing = readNpy("/nonexistent/w.npy");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.message(),
            "cannot open '/nonexistent/w.npy': No such file or directory");
  auto dir = readFileBytes(testing::TempDir());
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(contains(dir.message(), "Is a directory")) << dir.message();
  Status w = writeNpy("/nonexistent/dir/w.npy", a);
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(contains(w.message(), "cannot create '/nonexistent/dir/w.npy'"))
      << w.message();
  ASSERT_TRUE(writeFileBytes(path, {}).ok());
  auto empty = readFileBytes(path);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  std::remove(path.c_str());
}

TEST(Npy, EveryTruncationAndCorruptionIsHandled) {
  std::vector<uint8_t> good =
      serializeNpy(makeNpyF32({2, 3}, {1, 2, 3, 4, 5, 6}));
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = parseNpy(good.data(), n);
    EXPECT_FALSE(r.ok()) << n;
    EXPECT_FALSE(r.message().empty()) << n;
  }
  auto elementSize = [](NpyDType t) {
    return t == NpyDType::F32 ? 4u : t == NpyDType::F16 ? 2u : 1u;
  };
  for (size_t i = 0; i < good.size(); ++i)
    for (int v : {0x00, 0x01, 0x7F, 0x80, 0xFF, int('('), int(')'), int(','),
                  int('}'), int('\'')}) {
      std::vector<uint8_t> f = good;
      f[i] = uint8_t(v);
      auto r = parse(f);
      if (r.ok())
        EXPECT_EQ(uint64_t(r->numElements()) * elementSize(r->dtype),
                  r->bytes.size())
            << i;
      else
        EXPECT_FALSE(r.message().empty()) << i;
    }
}

//===----------------------------------------------------------------------===//
// .sherry packed files
//===----------------------------------------------------------------------===//

PackedWeights samplePacked(Layout layout,
                           ScaleSpec spec = ScaleSpec::group(32)) {
  int64_t cols = layout == Layout::Stq1_0 ? 512 : 96;
  auto w = randomWeights(3, cols, 31);
  if (layout == Layout::Stq1_0)
    spec = ScaleSpec::group(256);
  auto t = ternarize(w.data(), 3, cols, layout, spec);
  EXPECT_TRUE(t.ok()) << t.message();
  auto p = pack(*t, layout);
  EXPECT_TRUE(p.ok()) << p.message();
  return *p;
}

void patch(std::vector<uint8_t> &f, size_t offset, uint64_t value,
           size_t width) {
  for (size_t i = 0; i < width; ++i)
    f[offset + i] = uint8_t(value >> (8 * i));
}

TEST(PackedFile, RoundTripsBothLayoutsAndEveryGranularity) {
  struct Case {
    Layout layout;
    ScaleSpec spec;
  };
  for (Case c : {Case{Layout::Sherry, ScaleSpec::tensor()},
                 Case{Layout::Sherry, ScaleSpec::row()},
                 Case{Layout::Sherry, ScaleSpec::group(32)},
                 Case{Layout::Sherry, ScaleSpec::group(96)},
                 Case{Layout::Stq1_0, ScaleSpec::group(256)}}) {
    PackedWeights p = samplePacked(c.layout, c.spec);
    std::string what =
        std::string(layoutName(c.layout)) + " " + scaleSpecName(p.scaleSpec);
    std::vector<uint8_t> bytes = serializePackedFile(p);
    EXPECT_EQ(bytes.size(), 64 + p.data.size() + 4 * p.scales.size()) << what;
    auto back = parsePackedFile(bytes.data(), bytes.size());
    ASSERT_TRUE(back.ok()) << what << ": " << back.message();
    EXPECT_EQ(back->layout, p.layout) << what;
    EXPECT_EQ(back->rows, p.rows) << what;
    EXPECT_EQ(back->cols, p.cols) << what;
    EXPECT_EQ(back->scaleSpec, p.scaleSpec) << what;
    EXPECT_EQ(back->data, p.data) << what;
    EXPECT_EQ(back->scales, p.scales) << what;
    EXPECT_EQ(serializePackedFile(*back), bytes) << what;
  }
}

TEST(PackedFile, FilesOnDisk) {
  std::string path = tempPath("w.sherry");
  PackedWeights p = samplePacked(Layout::Stq1_0);
  ASSERT_TRUE(writePackedFile(path, p).ok());
  auto back = readPackedFile(path);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->data, p.data);

  std::vector<uint8_t> bytes = serializePackedFile(p);
  bytes.pop_back();
  ASSERT_TRUE(writeFileBytes(path, bytes).ok());
  auto bad = readPackedFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.message(), "'" + path + "': truncated"))
      << bad.message();
  auto missing = readPackedFile("/nonexistent/w.sherry");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.message(), "'/nonexistent/w.sherry'"));

  // The writer refuses what the reader would refuse.
  PackedWeights wrong = p;
  wrong.data.pop_back();
  Status s = writePackedFile(path, wrong);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "refusing to write")) << s.message();
  PackedWeights nan = samplePacked(Layout::Sherry, ScaleSpec::row());
  nan.scales[1] = std::numeric_limits<float>::quiet_NaN();
  s = writePackedFile(path, nan);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "scale 1 (row granularity) is NaN"))
      << s.message();
  std::remove(path.c_str());
}

TEST(PackedFile, HeaderIsLittleEndianAsDocumented) {
  PackedWeights p = samplePacked(Layout::Sherry);
  std::vector<uint8_t> b = serializePackedFile(p);
  ASSERT_EQ(b.size(), 64u + 45 + 36);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 7), "SHERRYW");
  EXPECT_EQ(b[7], 0);
  EXPECT_EQ(b[8], 1);   // version
  EXPECT_EQ(b[12], 0);  // layout sherry
  EXPECT_EQ(b[16], 2);  // granularity group
  EXPECT_EQ(b[20], 0);  // reserved
  EXPECT_EQ(b[24], 3);  // rows
  EXPECT_EQ(b[32], 96); // cols
  EXPECT_EQ(b[40], 32); // group size
  EXPECT_EQ(b[48], 45); // 3 rows x 15 bytes
  EXPECT_EQ(b[56], 9);  // 3 x 3 scales
  for (size_t i : {9, 10, 11, 25, 33, 41, 49, 57, 63})
    EXPECT_EQ(b[i], 0) << i;
  EXPECT_TRUE(std::equal(p.data.begin(), p.data.end(), b.begin() + 64));
  uint32_t bits =
      b[109] | (b[110] << 8) | (b[111] << 16) | (uint32_t(b[112]) << 24);
  EXPECT_EQ(bitsToFloat(bits), p.scales[0]);

  std::vector<uint8_t> s = serializePackedFile(samplePacked(Layout::Stq1_0));
  EXPECT_EQ(s[12], 1); // layout stq1_0
  EXPECT_EQ(s[16], 2); // granularity group
  EXPECT_EQ(s[40], 0); // group size 256
  EXPECT_EQ(s[41], 1);
  EXPECT_EQ(s[56], 0); // no separate scales
  EXPECT_EQ(s.size(), 64u + 3 * 2 * 42);
}

TEST(PackedFile, EveryErrorNamesTheProblem) {
  std::vector<uint8_t> good = serializePackedFile(samplePacked(Layout::Sherry));
  std::vector<uint8_t> goodStq =
      serializePackedFile(samplePacked(Layout::Stq1_0));
  auto check = [](const std::vector<uint8_t> &file, const std::string &words) {
    auto r = parsePackedFile(file.data(), file.size());
    ASSERT_FALSE(r.ok()) << words;
    EXPECT_TRUE(contains(r.message(), words)) << r.message();
  };
  auto patched = [](std::vector<uint8_t> f, size_t offset, uint64_t value,
                    size_t width) {
    patch(f, offset, value, width);
    return f;
  };

  // Header: size, magic, version, enums, reserved.
  check(std::vector<uint8_t>(good.begin(), good.begin() + 40),
        "truncated header: the file has 40 bytes");
  check({}, "truncated header: the file has 0 bytes");
  check({'S', 'H', 'E'}, "truncated header: the file has 3 bytes");
  check({'x', 'y', 'z'}, "bad magic");
  check(patched(good, 0, 'X', 1), "bad magic");
  check(patched(good, 7, '1', 1), "bad magic");
  check(patched(good, 8, 3, 4), "unsupported .sherry version 3");
  check(patched(good, 8, 0, 4), "unsupported .sherry version 0");
  check(patched(good, 12, 7, 4), "unknown layout code 7");
  check(patched(good, 12, 0x80000000u, 4), "unknown layout code 2147483648");
  check(patched(good, 16, 3, 4), "unknown scale granularity code 3");
  check(patched(good, 20, 1, 4), "reserved header field is 1, not 0");

  // Shape and scale spec.
  check(patched(good, 32, 100, 8),
        "K = 100 is not a multiple of 32, which the sherry layout requires");
  check(patched(good, 24, 0, 8), "M = 0");
  check(patched(good, 24, uint64_t(-5), 8), "M = -5");
  check(patched(good, 32, uint64_t(-32), 8), "K = -32");
  check(patched(patched(good, 24, uint64_t(1) << 40, 8), 32, uint64_t(1) << 40,
                8),
        "do not fit in memory");
  check(patched(good, 40, 6, 8), "G = 6");
  check(patched(good, 40, uint64_t(-32), 8), "G = -32");
  check(patched(good, 40, 64, 8), "not a multiple of the scale group size");
  check(patched(patched(good, 16, 1, 4), 40, 32, 8),
        "group size 32 given without group granularity");
  check(patched(goodStq, 32, 96, 8),
        "K = 96 is not a multiple of 256, which the stq1_0 layout requires");
  check(patched(patched(goodStq, 16, 1, 4), 40, 0, 8),
        "stq1_0 files have granularity group:256");
  check(patched(goodStq, 40, 512, 8),
        "stq1_0 files have granularity group:256");

  // Counts against the shape.
  check(patched(good, 48, 44, 8),
        "the header says 44 data bytes, but 3 x 96 in the sherry layout "
        "needs 45");
  check(patched(good, 24, 4, 8), "but 4 x 96 in the sherry layout needs 60");
  check(patched(good, 56, 8, 8),
        "the header says 8 scales, but group:32 granularity needs 9");
  check(patched(goodStq, 56, 6, 8), "stq1_0 keeps its scales inside");
  // Overflow-sized counts never wrap a size computation around.
  check(patched(good, 48, UINT64_MAX, 8),
        "the header says 18446744073709551615");
  check(patched(good, 56, UINT64_MAX / 2, 8),
        "the header says 9223372036854775807");
  check(patched(good, 56, (uint64_t(1) << 62) + 9, 8),
        "the header says 4611686018427387913 scales");

  // Counts against the file size, for a header that is consistent but far
  // bigger than the file: 2^57 x 32 weights with G = 4, i.e. 5 * 2^57 data
  // bytes and 2^60 scales.
  std::vector<uint8_t> huge = patched(good, 24, uint64_t(1) << 57, 8);
  patch(huge, 32, 32, 8);
  patch(huge, 16, 2, 4);
  patch(huge, 40, 4, 8);
  patch(huge, 48, uint64_t(5) << 59 >> 2, 8); // 2^57 rows x 5 bytes
  patch(huge, 56, uint64_t(1) << 60, 8);      // 2^57 rows x 8 scales
  check(huge, "truncated: the header says 720575940379279360 data bytes but "
              "only 81 remain");
  std::vector<uint8_t> shortFile = good;
  shortFile.resize(64 + 45 + 3);
  check(shortFile, "truncated: the header says 9 scales (9 x 4 bytes) after "
                   "the data, but only 3 bytes remain");
  shortFile.resize(64 + 20);
  check(shortFile,
        "truncated: the header says 45 data bytes but only 20 remain");
  std::vector<uint8_t> longFile = good;
  longFile.push_back(0);
  check(longFile, "1 unexpected bytes after the scales");

  // Scale values.
  std::vector<uint8_t> nanScale = good;
  patch(nanScale, 64 + 45 + 4 * 2, 0x7FC00000u, 4);
  check(nanScale, "scale 2 (group:32 granularity) is NaN");
  patch(nanScale, 64 + 45 + 4 * 2, 0xFF800000u, 4);
  check(nanScale, "scale 2 (group:32 granularity) is infinite");
  std::vector<uint8_t> infBlock = goodStq;
  patch(infBlock, 64 + 42 * 3 + 40, 0x7C00, 2); // row 1, block 1
  check(infBlock, "the f16 scale of row 1, block 1 is infinite");
  patch(infBlock, 64 + 42 * 3 + 40, 0xFE00, 2);
  check(infBlock, "the f16 scale of row 1, block 1 is NaN");

  EXPECT_FALSE(parsePackedFile(nullptr, 0).ok());
}

TEST(PackedFile, EveryTruncationAndCorruptionIsHandled) {
  for (Layout layout : {Layout::Sherry, Layout::Stq1_0}) {
    std::vector<uint8_t> good = serializePackedFile(samplePacked(layout));
    for (size_t n = 0; n < good.size(); ++n) {
      auto r = parsePackedFile(good.data(), n);
      EXPECT_FALSE(r.ok()) << n;
      EXPECT_FALSE(r.message().empty()) << n;
    }
    // Any byte of the header, to a few interesting values: an error or a
    // file whose every part is consistent.
    for (size_t i = 0; i < 64; ++i)
      for (int v : {0x00, 0x01, 0x02, 0x04, 0x7F, 0x80, 0xFF}) {
        std::vector<uint8_t> f = good;
        f[i] = uint8_t(v);
        auto r = parsePackedFile(f.data(), f.size());
        if (r.ok()) {
          EXPECT_TRUE(r->verify().ok()) << i;
          EXPECT_TRUE(unpack(*r).ok()) << i;
        } else {
          EXPECT_FALSE(r.message().empty()) << i;
        }
      }
  }
}

} // namespace
