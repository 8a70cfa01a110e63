//===- ReferenceTest.cpp - The reference matmuls --------------------------===//

#include "TestUtils.h"
#include "sherry/Format/Format.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

using namespace sherry::format;
using namespace sherry::format::test;

namespace {

/// One row, K = 32, every group (0, -1, +1, -1), scale 0.5.
TernaryMatrix patternRow() {
  TernaryMatrix t;
  t.rows = 1;
  t.cols = 32;
  t.scaleSpec = ScaleSpec::row();
  for (int g = 0; g < 8; ++g)
    t.values.insert(t.values.end(), {0, -1, 1, -1});
  t.scales = {0.5f};
  return t;
}

TEST(Reference, ExactOnAHandComputedCase) {
  // x_k = k + 1: each group g gives -(4g + 2) + (4g + 3) - (4g + 4) = -4g - 3,
  // summing to -136 over eight groups; times 0.5 is -68.
  std::vector<float> x(32);
  for (int k = 0; k < 32; ++k)
    x[k] = float(k + 1);
  auto y = matmulExact(x.data(), 1, patternRow());
  ASSERT_TRUE(y.ok()) << y.message();
  EXPECT_EQ(*y, std::vector<float>{-68.0f});
}

TEST(Reference, Int8OnAHandComputedCase) {
  // absmax 127 makes the activation scale 1 and q = x, so the int8 result is
  // the same -68, exactly: (float)(-136) * 0.5 * 1.
  std::vector<float> x(32);
  for (int k = 0; k < 32; ++k)
    x[k] = float(k + 1);
  x[31] = 127.0f; // changes the last group: -30 + 31 - 127 = -126
  auto y = matmulInt8(x.data(), 1, patternRow());
  ASSERT_TRUE(y.ok()) << y.message();
  // Groups 0..6 sum to -4*21 - 21 = -105; group 7 gives -126: -231 * 0.5.
  EXPECT_EQ(*y, std::vector<float>{-115.5f});
  auto exact = matmulExact(x.data(), 1, patternRow());
  EXPECT_EQ(*exact, std::vector<float>{-115.5f});
}

TEST(Reference, QuantizeRoundsHalfToEven) {
  std::vector<float> x = {127.0f, -2.5f, 0.5f, 1.5f,
                          -0.5f,  3.49f, 0.0f, -127.0f};
  auto q = quantizeActivations(x.data(), 1, 8);
  ASSERT_TRUE(q.ok()) << q.message();
  EXPECT_EQ(q->values, (std::vector<int8_t>{127, -2, 0, 2, 0, 3, 0, -127}));
  EXPECT_EQ(q->scales, std::vector<float>{1.0f});

  std::vector<float> zeros(8, 0.0f);
  auto z = quantizeActivations(zeros.data(), 1, 8);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->values, std::vector<int8_t>(8, 0));
  EXPECT_EQ(z->scales, std::vector<float>{0.0f});

  // So small that 127 / absmax overflows (below about 3.7e-37): the block
  // counts as zero, where 0 * inf would have been NaN. Just above, it is
  // quantized as any other.
  std::vector<float> tiny = {1e-40f, 0.0f, -5e-41f, 0.0f,
                             4e-37f, 0.0f, -2e-37f, 0.0f};
  auto t = quantizeActivations(tiny.data(), 1, 8, 4);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->values, (std::vector<int8_t>{0, 0, 0, 0, 127, 0, -64, 0}));
  EXPECT_EQ(t->scales[0], 0.0f);
  EXPECT_EQ(t->scales[1], 4e-37f / 127.0f);

  // Per block of 4: the second block's absmax is 254, so 127 -> 64 (63.5
  // rounds to even).
  std::vector<float> b = {127, 1, 2, 3, 254, 127, 0, -254};
  auto blocks = quantizeActivations(b.data(), 1, 8, 4);
  ASSERT_TRUE(blocks.ok());
  EXPECT_EQ(blocks->values,
            (std::vector<int8_t>{127, 1, 2, 3, 127, 64, 0, -127}));
  EXPECT_EQ(blocks->scales, (std::vector<float>{1.0f, 2.0f}));
}

TEST(Reference, Int8ExtremesNeedInt32Accumulation) {
  // K = 8192 with every activation at +127 and every group (+1, +1, +1, 0):
  // the sum is 127 * 3 * 2048 = 780288, far past int16.
  const int64_t k = 8192;
  TernaryMatrix t;
  t.rows = 2;
  t.cols = k;
  t.scaleSpec = ScaleSpec::row();
  t.values.resize(2 * k);
  for (int64_t i = 0; i < 2 * k; ++i)
    t.values[i] = i % 4 == 3 ? 0 : (i < k ? 1 : -1);
  t.scales = {1.0f, 0.5f};
  std::vector<float> x(2 * k, 127.0f);
  for (int64_t i = k; i < 2 * k; ++i)
    x[i] = -127.0f;
  auto y = matmulInt8(x.data(), 2, t);
  ASSERT_TRUE(y.ok()) << y.message();
  EXPECT_EQ(*y,
            (std::vector<float>{780288.0f, -390144.0f, -780288.0f, 390144.0f}));
  auto exact = matmulExact(x.data(), 2, t);
  EXPECT_EQ(*exact, *y);

  // The same with 256-element activation blocks and group:128 scales of 1
  // and 0.5: 64 segments of 96 kept products each, 127 * 96 = 12192 per
  // segment, summed in f32 exactly.
  t.scaleSpec = ScaleSpec::group(128);
  t.scales.assign(2 * 64, 1.0f);
  std::fill(t.scales.begin() + 64, t.scales.end(), 0.5f);
  auto blocked = matmulInt8(x.data(), 2, t, 256);
  ASSERT_TRUE(blocked.ok()) << blocked.message();
  EXPECT_EQ(*blocked,
            (std::vector<float>{780288.0f, -390144.0f, -780288.0f, 390144.0f}));

  // Alternating +-127 activations against alternating +-1 weights: every
  // product is +127, 6144 of them.
  TernaryMatrix alt = t;
  alt.scaleSpec = ScaleSpec::row();
  alt.scales = {1.0f, 1.0f};
  std::vector<float> xa(k);
  for (int64_t i = 0; i < k; ++i) {
    xa[i] = i % 2 ? -127.0f : 127.0f;
    alt.values[i] = i % 4 == 3 ? 0 : (i % 2 ? -1 : 1);
  }
  auto y2 = matmulInt8(xa.data(), 1, alt);
  ASSERT_TRUE(y2.ok()) << y2.message();
  EXPECT_EQ((*y2)[0], 127.0f * 6144.0f);
}

TEST(Reference, SegmentsFollowScalesAndBlocks) {
  // Weight scales every 32, activation blocks of 64: segments of 32, each
  // with its own alpha and xscale, summed in f32 in order.
  const int64_t k = 128;
  auto w = randomWeights(3, k, 11);
  auto t = ternarize(w.data(), 3, k, Layout::Sherry, ScaleSpec::group(32));
  ASSERT_TRUE(t.ok());
  auto x = randomWeights(2, k, 12);
  auto q = quantizeActivations(x.data(), 2, k, 64);
  ASSERT_TRUE(q.ok());
  auto y = matmulInt8(*q, *t);
  ASSERT_TRUE(y.ok()) << y.message();
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t m = 0; m < 3; ++m) {
      float acc = 0.0f;
      for (int64_t s = 0; s < k / 32; ++s) {
        int32_t isum = 0;
        for (int64_t i = 32 * s; i < 32 * s + 32; ++i)
          isum += q->values[n * k + i] * t->at(m, i);
        float term = float(isum) * t->scales[m * 4 + s];
        term = term * q->scales[n * 2 + (32 * s) / 64];
        acc = acc + term;
      }
      EXPECT_EQ((*y)[n * 3 + m], acc) << "n " << n << ", m " << m;
    }
}

TEST(Reference, HandComputedSegments) {
  // K = 64, weight scales per 32 (0.5, 0.25), activation blocks of 16: four
  // segments [0,16) [16,32) [32,48) [48,64), alpha = 0.5, 0.5, 0.25, 0.25.
  // Every weight group is (+1, +1, +1, 0), so a block of 16 keeps 12.
  //   block 0: x = 127 everywhere: absmax 127, xscale 1, q = 127,
  //            isum = 12 * 127 = 1524, term = 1524 * 0.5 * 1 = 762
  //   block 1: x = 254: xscale 2, q = 127, term = 1524 * 0.5 * 2 = 1524
  //   block 2: x = -63.5: xscale 0.5, q = -127, term = -1524 * 0.25 * 0.5
  //            = -190.5
  //   block 3: x = 127 at k = 48 (lane 0, kept), 1 elsewhere: xscale 1,
  //            isum = 127 + 2 + 3 * 3 = 138, term = 138 * 0.25 = 34.5
  //   y = 762 + 1524 - 190.5 + 34.5 = 2130.
  // Every step is exact, so the exact matmul gives 2130 as well. One
  // per-row activation scale (254 / 127 = 2) would round block 0 to 64 and
  // the ones of block 3 to 0, and one alpha per row could not give 2130.
  TernaryMatrix t;
  t.rows = 1;
  t.cols = 64;
  t.scaleSpec = ScaleSpec::group(32);
  for (int g = 0; g < 16; ++g)
    t.values.insert(t.values.end(), {1, 1, 1, 0});
  t.scales = {0.5f, 0.25f};
  std::vector<float> x(64);
  for (int k = 0; k < 64; ++k)
    x[k] = k < 16 ? 127.0f : k < 32 ? 254.0f : k < 48 ? -63.5f : 1.0f;
  x[48] = 127.0f;
  auto q = quantizeActivations(x.data(), 1, 64, 16);
  ASSERT_TRUE(q.ok()) << q.message();
  EXPECT_EQ(q->scales, (std::vector<float>{1.0f, 2.0f, 0.5f, 1.0f}));
  auto y = matmulInt8(*q, t);
  ASSERT_TRUE(y.ok()) << y.message();
  EXPECT_EQ(*y, std::vector<float>{2130.0f});
  auto viaFloats = matmulInt8(x.data(), 1, t, 16);
  ASSERT_TRUE(viaFloats.ok()) << viaFloats.message();
  EXPECT_EQ(*viaFloats, std::vector<float>{2130.0f});
  auto exact = matmulExact(x.data(), 1, t);
  ASSERT_TRUE(exact.ok()) << exact.message();
  EXPECT_EQ(*exact, std::vector<float>{2130.0f});
}

TEST(Reference, Int8AccumulatesInF32InSegmentOrder) {
  // Segment terms 2^24, 1, 1 (tensor scale 1, activation blocks of 32): f32
  // left to right gives 2^24 + 1 = 2^24 (ties to even), then 2^24 again;
  // summing 1 + 1 first would give 2^24 + 2. The exact mode keeps both ones.
  TernaryMatrix t;
  t.rows = 1;
  t.cols = 96;
  t.scaleSpec = ScaleSpec::tensor();
  for (int g = 0; g < 24; ++g)
    t.values.insert(t.values.end(), {1, 1, 1, 0});
  t.scales = {1.0f};
  // Each block holds one q = 1 on a kept weight; xscales 2^24, 1, 1.
  QuantizedActivations q;
  q.rows = 1;
  q.cols = 96;
  q.blockSize = 32;
  q.values.assign(96, 0);
  q.values[0] = 1;
  q.values[32] = 1;
  q.values[64] = 1;
  q.scales = {16777216.0f, 1.0f, 1.0f};
  auto y = matmulInt8(q, t);
  ASSERT_TRUE(y.ok()) << y.message();
  EXPECT_EQ(*y, std::vector<float>{16777216.0f});
}

TEST(Reference, QuantizationErrorIsHalfAStep) {
  auto x = randomWeights(3, 512, 31);
  for (int64_t block : {0, 32, 256}) {
    auto q = quantizeActivations(x.data(), 3, 512, block);
    ASSERT_TRUE(q.ok()) << q.message();
    int64_t b = block ? block : 512;
    EXPECT_EQ(q->blockSize, b);
    ASSERT_EQ(int64_t(q->scales.size()), 3 * (512 / b));
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t blk = 0; blk < 512 / b; ++blk) {
        float absmax = 0;
        int top = 0;
        for (int64_t i = blk * b; i < (blk + 1) * b; ++i) {
          absmax = std::max(absmax, std::fabs(x[r * 512 + i]));
          top = std::max(top, std::abs(int(q->values[r * 512 + i])));
        }
        float scale = q->scales[r * (512 / b) + blk];
        EXPECT_EQ(scale, absmax / 127.0f);
        EXPECT_EQ(top, 127); // the absmax element maps to +-127
        for (int64_t i = blk * b; i < (blk + 1) * b; ++i)
          EXPECT_LE(std::fabs(x[r * 512 + i] - q->values[r * 512 + i] * scale),
                    0.5f * scale * 1.0001f);
      }
  }
}

struct ApproxCase {
  int64_t k;
  ScaleSpec spec;
  int64_t actBlock;
};

TEST(Reference, Int8ApproximatesExact) {
  // |y_int8 - y_exact| <= sum over kept k of alpha(m,k) * xscale(n,k) / 2
  // (each activation is off by at most half a step), plus f32 rounding.
  const ApproxCase cases[] = {
      {256, ScaleSpec::row(), 0},
      {256, ScaleSpec::tensor(), 64},
      {512, ScaleSpec::group(64), 128},
      {512, ScaleSpec::group(128), 32},
  };
  unsigned seed = 20;
  for (const ApproxCase &c : cases) {
    SCOPED_TRACE(scaleSpecName(c.spec) + ", act block " +
                 std::to_string(c.actBlock));
    const int64_t n = 3, m = 7, k = c.k;
    auto w = randomWeights(m, k, ++seed);
    auto t = ternarize(w.data(), m, k, Layout::Sherry, c.spec);
    ASSERT_TRUE(t.ok());
    auto x = randomWeights(n, k, ++seed);
    auto exact = matmulExact(x.data(), n, *t);
    auto q = quantizeActivations(x.data(), n, k, c.actBlock);
    ASSERT_TRUE(exact.ok() && q.ok());
    auto fast = matmulInt8(*q, *t);
    ASSERT_TRUE(fast.ok()) << fast.message();
    auto direct = matmulInt8(x.data(), n, *t, c.actBlock);
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(*direct, *fast);
    int64_t blocks = k / q->blockSize;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double bound = 0, mag = 0;
        for (int64_t kk = 0; kk < k; ++kk)
          if (t->at(j, kk)) {
            double xs = q->scales[i * blocks + kk / q->blockSize];
            bound += 0.5 * t->scaleAt(j, kk) * xs;
            mag += std::fabs(t->scaleAt(j, kk) * x[i * k + kk]);
          }
        double err =
            std::fabs(double((*fast)[i * m + j]) - double((*exact)[i * m + j]));
        EXPECT_LE(err, bound * 1.0001 + 1e-6 * mag) << "n " << i << ", m " << j;
        EXPECT_GT(bound, 0.0);
      }
  }
}

TEST(Reference, ExactMatchesADoubleSum) {
  const int64_t n = 2, m = 5, k = 512;
  auto w = randomWeights(m, k, 41);
  auto t = ternarize(w.data(), m, k, Layout::Stq1_0, ScaleSpec::group(128));
  ASSERT_TRUE(t.ok());
  auto x = randomWeights(n, k, 42);
  auto y = matmulExact(x.data(), n, *t);
  ASSERT_TRUE(y.ok()) << y.message();
  std::vector<float> d = dequantize(*t);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double acc = 0;
      for (int64_t kk = 0; kk < k; ++kk)
        acc += double(x[i * k + kk]) * double(d[j * k + kk]);
      EXPECT_EQ((*y)[i * m + j], float(acc));
    }
}

TEST(Reference, Errors) {
  TernaryMatrix t = patternRow();
  std::vector<float> x(64, 1.0f);
  auto q = quantizeActivations(x.data(), 1, 64);
  ASSERT_TRUE(q.ok());
  auto mismatch = matmulInt8(*q, t);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_TRUE(contains(mismatch.message(),
                       "activations have K = 64 but the weights have K = 32"));
  auto badBlock = quantizeActivations(x.data(), 1, 64, 24);
  ASSERT_FALSE(badBlock.ok());
  EXPECT_TRUE(contains(badBlock.message(), "block size 24 does not divide"));
  x[3] = std::numeric_limits<float>::quiet_NaN();
  auto nan = matmulExact(x.data(), 2, t);
  ASSERT_FALSE(nan.ok());
  EXPECT_TRUE(contains(nan.message(), "NaN activation at row 0, column 3"));
  auto noRows = matmulExact(x.data(), 0, t);
  ASSERT_FALSE(noRows.ok());
  EXPECT_TRUE(contains(noRows.message(), "N = 0"));
  TernaryMatrix invalid = t;
  invalid.values[1] = 0;
  auto bad = matmulExact(x.data(), 1, invalid);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.message(), "holds 2 zeros"));
  QuantizedActivations broken = *q;
  broken.cols = 32;
  broken.blockSize = 32;
  auto inconsistent = matmulInt8(broken, t);
  ASSERT_FALSE(inconsistent.ok());
  EXPECT_TRUE(contains(inconsistent.message(), "inconsistent"));
  QuantizedActivations fewScales = *q;
  fewScales.cols = 32;
  fewScales.blockSize = 32;
  fewScales.values.resize(32);
  fewScales.scales.clear();
  auto noScales = matmulInt8(fewScales, t);
  ASSERT_FALSE(noScales.ok());
  EXPECT_TRUE(contains(noScales.message(), "inconsistent"));

  x[3] = -std::numeric_limits<float>::infinity();
  auto inf = quantizeActivations(x.data(), 1, 64);
  ASSERT_FALSE(inf.ok());
  EXPECT_TRUE(
      contains(inf.message(), "infinite activation at row 0, column 3"));
  auto infInt8 = matmulInt8(x.data(), 1, patternRow());
  ASSERT_FALSE(infInt8.ok());
  EXPECT_TRUE(contains(infInt8.message(), "infinite activation"));
  auto null = matmulExact(nullptr, 1, t);
  ASSERT_FALSE(null.ok());
  EXPECT_TRUE(contains(null.message(), "null"));
  auto nullQ = quantizeActivations(nullptr, 1, 32);
  ASSERT_FALSE(nullQ.ok());
  EXPECT_TRUE(contains(nullQ.message(), "null"));
  std::vector<float> ones(64, 1.0f);
  auto noRowsQ = quantizeActivations(ones.data(), 0, 32);
  ASSERT_FALSE(noRowsQ.ok());
  EXPECT_TRUE(contains(noRowsQ.message(), "N = 0"));
  auto noCols = quantizeActivations(ones.data(), 1, 0);
  ASSERT_FALSE(noCols.ok());
  EXPECT_TRUE(contains(noCols.message(), "K = 0"));
  auto negBlock = quantizeActivations(ones.data(), 1, 32, -8);
  ASSERT_FALSE(negBlock.ok());
  EXPECT_TRUE(contains(negBlock.message(), "block size -8 does not divide"));
  auto bigBlock = quantizeActivations(ones.data(), 1, 32, 64);
  ASSERT_FALSE(bigBlock.ok());
  EXPECT_TRUE(contains(bigBlock.message(), "block size 64 does not divide"));
  auto badWrapperBlock = matmulInt8(ones.data(), 1, t, 24);
  ASSERT_FALSE(badWrapperBlock.ok());
  EXPECT_TRUE(contains(badWrapperBlock.message(), "block size 24"));
  auto invalidInt8 = matmulInt8(ones.data(), 1, invalid);
  ASSERT_FALSE(invalidInt8.ok());
  EXPECT_TRUE(contains(invalidInt8.message(), "holds 2 zeros"));
}

} // namespace
