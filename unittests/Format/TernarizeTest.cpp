//===- TernarizeTest.cpp - The exact L2 projection ------------------------===//

#include "TestUtils.h"
#include "sherry/Format/Format.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>

using namespace sherry::format;
using namespace sherry::format::test;

namespace {

TEST(Ternarize, ZeroesTheSmallestMagnitude) {
  // One row, K = 32: every group (0.1, -0.5, 0.9, -0.2).
  std::vector<float> w;
  for (int g = 0; g < 8; ++g)
    w.insert(w.end(), {0.1f, -0.5f, 0.9f, -0.2f});
  auto t = ternarize(w.data(), 1, 32, Layout::Sherry, ScaleSpec::row());
  ASSERT_TRUE(t.ok()) << t.message();
  const int8_t expected[4] = {0, -1, 1, -1};
  for (int k = 0; k < 32; ++k)
    EXPECT_EQ(t->values[k], expected[k % 4]) << "k = " << k;
  // Sparse absmean: mean |w| over the kept weights only.
  EXPECT_FLOAT_EQ(t->scales[0], (0.5f + 0.9f + 0.2f) / 3.0f);
}

TEST(Ternarize, TiesAndSignOfZero) {
  // Ties go to the lowest lane; sign(0) = +1 so a group never holds two
  // zeros.
  std::vector<float> w(32, 1.0f);
  w[0] = 0.5f, w[1] = -0.5f, w[2] = 0.5f, w[3] = 0.5f;
  w[4] = 0.0f, w[5] = 0.0f, w[6] = 0.3f, w[7] = -0.2f;
  auto t = ternarize(w.data(), 1, 32, Layout::Sherry, ScaleSpec::tensor());
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(std::vector<int8_t>(t->values.begin(), t->values.begin() + 8),
            (std::vector<int8_t>{0, -1, 1, 1, 0, 1, 1, -1}));
  ASSERT_TRUE(t->verify().ok());
}

TEST(Ternarize, Stq1_0GroupsAreStrided) {
  EXPECT_EQ(groupElements(Layout::Sherry, 5),
            (std::array<int64_t, 4>{20, 21, 22, 23}));
  // Group 5 of block 0: chunk 0, lane 5: {5, 21, 37, 53}.
  EXPECT_EQ(groupElements(Layout::Stq1_0, 5),
            (std::array<int64_t, 4>{5, 21, 37, 53}));
  // Group 64 + 16 + 3 = 83: block 1, chunk 1, lane 3.
  EXPECT_EQ(groupElements(Layout::Stq1_0, 83),
            (std::array<int64_t, 4>{256 + 64 + 3, 256 + 64 + 19, 256 + 64 + 35,
                                    256 + 64 + 51}));
  // Magnitudes grow with k, so in strided groups lane 0 is the smallest.
  std::vector<float> w(256);
  for (int k = 0; k < 256; ++k)
    w[k] = 1.0f + float(k);
  auto t = ternarize(w.data(), 1, 256, Layout::Stq1_0, ScaleSpec::group(256));
  ASSERT_TRUE(t.ok()) << t.message();
  for (int k = 0; k < 256; ++k)
    EXPECT_EQ(t->values[k], (k % 64) < 16 ? 0 : 1) << "k = " << k;
}

TEST(Ternarize, GroupScalesAreRegionMeans) {
  auto w = randomWeights(3, 128, 1);
  auto t = ternarize(w.data(), 3, 128, Layout::Sherry, ScaleSpec::group(32));
  ASSERT_TRUE(t.ok()) << t.message();
  ASSERT_EQ(t->scales.size(), 3u * 4u);
  for (int m = 0; m < 3; ++m)
    for (int r = 0; r < 4; ++r) {
      double sum = 0;
      int count = 0;
      for (int k = 32 * r; k < 32 * r + 32; ++k)
        if (t->at(m, k)) {
          sum += std::fabs(w[m * 128 + k]);
          ++count;
        }
      EXPECT_EQ(count, 24); // three of every four weights are kept
      EXPECT_FLOAT_EQ(t->scales[m * 4 + r], float(sum / count));
    }
}

/// Squared error of one row projected with zeros at `zeroLane[g]`, signs
/// sign(w) and the given scale.
static double rowError(const std::vector<float> &w,
                       const std::vector<int> &zeroLane, double scale) {
  double err = 0;
  for (size_t k = 0; k < w.size(); ++k) {
    double t = int(k % 4) == zeroLane[k / 4] ? 0.0 : (w[k] < 0 ? -1.0 : 1.0);
    err += (w[k] - scale * t) * (w[k] - scale * t);
  }
  return err;
}

/// The L2-optimal scale for a fixed pattern: mean |w| of the kept weights.
static double bestScale(const std::vector<float> &w,
                        const std::vector<int> &zeroLane) {
  double sum = 0;
  int n = 0;
  for (size_t k = 0; k < w.size(); ++k)
    if (int(k % 4) != zeroLane[k / 4]) {
      sum += std::fabs(w[k]);
      ++n;
    }
  return sum / n;
}

TEST(Ternarize, IsTheExactL2Projection) {
  for (unsigned seed = 0; seed < 20; ++seed) {
    const int k = 64;
    auto w = randomWeights(1, k, 100 + seed);
    auto t = ternarize(w.data(), 1, k, Layout::Sherry, ScaleSpec::row());
    ASSERT_TRUE(t.ok());
    double best = projectionError2(w.data(), *t);
    std::vector<int> zeros(k / 4);
    for (int g = 0; g < k / 4; ++g)
      for (int p = 0; p < 4; ++p)
        if (t->values[4 * g + p] == 0)
          zeros[g] = p;
    EXPECT_NEAR(rowError(w, zeros, t->scales[0]), best, 1e-9 * (1 + best));

    // Any other zero in any one group, with its own optimal scale, is worse.
    for (int g = 0; g < k / 4; ++g)
      for (int p = 0; p < 4; ++p) {
        if (p == zeros[g])
          continue;
        std::vector<int> other = zeros;
        other[g] = p;
        EXPECT_GE(rowError(w, other, bestScale(w, other)), best - 1e-9)
            << "seed " << seed << ", group " << g << ", lane " << p;
      }
    // Any other scale is worse.
    for (double f : {0.5, 0.9, 0.99, 1.01, 1.1, 2.0})
      EXPECT_GT(rowError(w, zeros, t->scales[0] * f), best) << "factor " << f;
    // Flipping a kept sign is worse.
    for (int i = 0; i < k; ++i) {
      if (t->values[i] == 0)
        continue;
      TernaryMatrix flipped = *t;
      flipped.values[i] = int8_t(-flipped.values[i]);
      EXPECT_GT(projectionError2(w.data(), flipped), best);
    }
  }
}

TEST(Ternarize, PerTensorScaleIsOptimalToo) {
  auto w = randomWeights(4, 64, 7);
  auto t = ternarize(w.data(), 4, 64, Layout::Sherry, ScaleSpec::tensor());
  ASSERT_TRUE(t.ok());
  double best = projectionError2(w.data(), *t);
  for (float f : {0.95f, 1.05f}) {
    TernaryMatrix other = *t;
    other.scales[0] *= f;
    EXPECT_GT(projectionError2(w.data(), other), best);
  }
}

TEST(Ternarize, AllZeroRegionHasZeroScale) {
  std::vector<float> w(2 * 32, 0.0f);
  auto t = ternarize(w.data(), 2, 32, Layout::Sherry, ScaleSpec::row());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->scales, (std::vector<float>{0.0f, 0.0f}));
  EXPECT_TRUE(t->verify().ok());
}

TEST(Ternarize, Dequantize) {
  std::vector<float> w;
  for (int g = 0; g < 8; ++g)
    w.insert(w.end(), {0.1f, -0.5f, 0.9f, -0.2f});
  auto t = ternarize(w.data(), 1, 32, Layout::Sherry, ScaleSpec::row());
  ASSERT_TRUE(t.ok());
  std::vector<float> d = dequantize(*t);
  float s = t->scales[0];
  EXPECT_EQ(std::vector<float>(d.begin(), d.begin() + 4),
            (std::vector<float>{0.0f, -s, s, -s}));
}

TEST(Ternarize, Errors) {
  std::vector<float> w(4 * 256, 1.0f);
  auto badK = ternarize(w.data(), 1, 100, Layout::Sherry, ScaleSpec::row());
  ASSERT_FALSE(badK.ok());
  EXPECT_TRUE(contains(badK.message(), "K = 100 is not a multiple of 32, "
                                       "which the sherry layout requires"));
  auto badStqK = ternarize(w.data(), 1, 128, Layout::Stq1_0, ScaleSpec::row());
  ASSERT_FALSE(badStqK.ok());
  EXPECT_TRUE(contains(badStqK.message(), "multiple of 256"));
  auto badRows = ternarize(w.data(), 0, 32, Layout::Sherry, ScaleSpec::row());
  ASSERT_FALSE(badRows.ok());
  EXPECT_TRUE(contains(badRows.message(), "M = 0"));
  auto badGroup =
      ternarize(w.data(), 1, 64, Layout::Sherry, ScaleSpec::group(6));
  ASSERT_FALSE(badGroup.ok());
  EXPECT_TRUE(contains(badGroup.message(), "G = 6"));
  auto groupNotDividing =
      ternarize(w.data(), 1, 96, Layout::Sherry, ScaleSpec::group(64));
  ASSERT_FALSE(groupNotDividing.ok());
  EXPECT_TRUE(contains(groupNotDividing.message(),
                       "K = 96 is not a multiple of the scale group size"));
  auto null = ternarize(nullptr, 1, 32, Layout::Sherry, ScaleSpec::row());
  ASSERT_FALSE(null.ok());
  EXPECT_TRUE(contains(null.message(), "null"));

  w[1 * 32 + 5] = std::numeric_limits<float>::quiet_NaN();
  auto nan = ternarize(w.data(), 2, 32, Layout::Sherry, ScaleSpec::row());
  ASSERT_FALSE(nan.ok());
  EXPECT_TRUE(contains(nan.message(), "NaN weight at row 1, column 5"));
  w[1 * 32 + 5] = std::numeric_limits<float>::infinity();
  auto inf = ternarize(w.data(), 2, 32, Layout::Sherry, ScaleSpec::row());
  ASSERT_FALSE(inf.ok());
  EXPECT_TRUE(contains(inf.message(), "infinite weight at row 1, column 5"));
}

TEST(Ternarize, VerifyCatchesBadMatrices) {
  auto w = randomWeights(2, 32, 3);
  auto t = ternarize(w.data(), 2, 32, Layout::Sherry, ScaleSpec::row());
  ASSERT_TRUE(t.ok());
  TernaryMatrix twoZeros = *t;
  twoZeros.values[33] = twoZeros.values[32] = 0;
  twoZeros.values[34] = 1;
  twoZeros.values[35] = 1;
  EXPECT_TRUE(
      contains(twoZeros.verify().message(), "group 0 of row 1 holds 2 zeros"));
  TernaryMatrix outOfRange = *t;
  outOfRange.values[7] = 3;
  EXPECT_TRUE(contains(outOfRange.verify().message(), "not in {-1, 0, 1}"));
  TernaryMatrix fewScales = *t;
  fewScales.scales.pop_back();
  EXPECT_TRUE(contains(fewScales.verify().message(), "holds 1 scales"));
  TernaryMatrix fewValues = *t;
  fewValues.values.pop_back();
  EXPECT_TRUE(contains(fewValues.verify().message(), "holds 63 values"));
  TernaryMatrix nanScale = *t;
  nanScale.scales[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(contains(nanScale.verify().message(), "not finite"));
}

TEST(Layout, NamesParseBack) {
  EXPECT_EQ(*parseLayout(layoutName(Layout::Stq1_0)), Layout::Stq1_0);
  EXPECT_EQ(*parseLayout(layoutName(Layout::Sherry)), Layout::Sherry);
  EXPECT_TRUE(contains(parseLayout("tq2_0").message(), "unknown layout"));
  for (Granularity g :
       {Granularity::Tensor, Granularity::Row, Granularity::Group})
    EXPECT_EQ(*parseGranularity(granularityName(g)), g);
  EXPECT_TRUE(contains(parseGranularity("rows").message(),
                       "unknown scale granularity"));
  EXPECT_EQ(scaleSpecName(ScaleSpec::group(128)), "group:128");
  EXPECT_EQ(numScales(ScaleSpec::group(128), 3, 512), 12);
  EXPECT_EQ(scaleIndex(ScaleSpec::group(128), 3, 512, 2, 300), 2 * 4 + 2);
}

} // namespace
