//===- ReferenceTest.cpp - The reference matmuls --------------------------===//

#include "TestUtils.h"
#include "sherry/Format/Format.h"

#include "gtest/gtest.h"

#include <cmath>
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

TEST(Reference, Int8ApproximatesExact) {
  const int64_t n = 3, m = 7, k = 256;
  auto w = randomWeights(m, k, 21);
  auto t = ternarize(w.data(), m, k, Layout::Sherry, ScaleSpec::row());
  auto x = randomWeights(n, k, 22);
  auto exact = matmulExact(x.data(), n, *t);
  auto q = quantizeActivations(x.data(), n, k);
  auto fast = matmulInt8(*q, *t);
  ASSERT_TRUE(exact.ok() && fast.ok());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      // Each activation is off by at most half a quantization step.
      double bound = 0.5 * q->scales[i] * t->scales[j] * 0.75 * k * 1.001;
      EXPECT_NEAR((*fast)[i * m + j], (*exact)[i * m + j], bound + 1e-5);
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
}

} // namespace
