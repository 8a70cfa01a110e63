//===- TernarizeTest.cpp - The exact L2 projection ------------------------===//

#include "TestUtils.h"
#include "sherry/Format/Format.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <random>

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

/// A projection onto the format described by its zero lanes: zeroLane[m *
/// K/4 + g] is the lane of group g of row m (as `layout` groups K) that is 0;
/// the other weights become sign(w), sign(0) = +1.
struct Pattern {
  int64_t rows, cols;
  Layout layout;
  ScaleSpec spec;
  std::vector<int> zeroLane;

  bool isZero(int64_t m, int64_t k, const std::vector<int64_t> &laneOf) const {
    return laneOf[k] % 4 == zeroLane[m * (cols / 4) + laneOf[k] / 4];
  }
};

/// laneOf[k] = 4 * (group of k) + (lane of k) under `layout`.
static std::vector<int64_t> laneMap(Layout layout, int64_t cols) {
  std::vector<int64_t> laneOf(cols);
  for (int64_t g = 0; g < cols / 4; ++g)
    for (int p = 0; p < 4; ++p)
      laneOf[groupElements(layout, g)[p]] = 4 * g + p;
  return laneOf;
}

/// The L2-optimal scales of a pattern (mean |w| of the kept weights of each
/// region), in double.
static std::vector<double> optimalScales(const std::vector<float> &w,
                                         const Pattern &pat) {
  std::vector<int64_t> laneOf = laneMap(pat.layout, pat.cols);
  int64_t n = numScales(pat.spec, pat.rows, pat.cols);
  std::vector<double> sum(n, 0.0), count(n, 0.0);
  for (int64_t m = 0; m < pat.rows; ++m)
    for (int64_t k = 0; k < pat.cols; ++k)
      if (!pat.isZero(m, k, laneOf)) {
        int64_t s = scaleIndex(pat.spec, pat.rows, pat.cols, m, k);
        sum[s] += std::fabs(double(w[m * pat.cols + k]));
        count[s] += 1.0;
      }
  for (int64_t s = 0; s < n; ++s)
    sum[s] = count[s] ? sum[s] / count[s] : 0.0;
  return sum;
}

/// Squared L2 error of a pattern with the given scales, in double.
static double patternError(const std::vector<float> &w, const Pattern &pat,
                           const std::vector<double> &scales) {
  std::vector<int64_t> laneOf = laneMap(pat.layout, pat.cols);
  double err = 0;
  for (int64_t m = 0; m < pat.rows; ++m)
    for (int64_t k = 0; k < pat.cols; ++k) {
      double x = w[m * pat.cols + k];
      double t = pat.isZero(m, k, laneOf) ? 0.0 : (x < 0 ? -1.0 : 1.0);
      double d = x - scales[scaleIndex(pat.spec, pat.rows, pat.cols, m, k)] * t;
      err += d * d;
    }
  return err;
}

/// The pattern that ternarize() chose.
static Pattern patternOf(const TernaryMatrix &t) {
  Pattern pat{t.rows, t.cols, t.layout, t.scaleSpec, {}};
  pat.zeroLane.assign(t.rows * (t.cols / 4), -1);
  for (int64_t m = 0; m < t.rows; ++m)
    for (int64_t g = 0; g < t.cols / 4; ++g)
      for (int p = 0; p < 4; ++p)
        if (t.at(m, groupElements(t.layout, g)[p]) == 0)
          pat.zeroLane[m * (t.cols / 4) + g] = p;
  return pat;
}

TEST(Ternarize, BeatsEveryPatternOfARow) {
  // Brute force over all 4^8 zero choices of a K = 32 row, each with its own
  // optimal scales: the one ternarize() picks is the unique minimum (random
  // weights have no ties), and its scales are the optimal ones.
  for (ScaleSpec spec : {ScaleSpec::row(), ScaleSpec::group(16)})
    for (unsigned seed = 0; seed < 4; ++seed) {
      SCOPED_TRACE(scaleSpecName(spec) + ", seed " + std::to_string(seed));
      auto w = randomWeights(1, 32, 300 + seed);
      auto t = ternarize(w.data(), 1, 32, Layout::Sherry, spec);
      ASSERT_TRUE(t.ok()) << t.message();
      Pattern chosen = patternOf(*t);
      std::vector<double> chosenScales = optimalScales(w, chosen);
      for (size_t s = 0; s < chosenScales.size(); ++s)
        EXPECT_FLOAT_EQ(t->scales[s], float(chosenScales[s]));
      double best = patternError(w, chosen, chosenScales);
      EXPECT_NEAR(projectionError2(w.data(), *t), best, 1e-6 * best);
      Pattern other = chosen;
      int better = 0, equal = 0;
      for (int code = 0; code < (1 << 16); ++code) {
        for (int g = 0; g < 8; ++g)
          other.zeroLane[g] = (code >> (2 * g)) & 3;
        if (other.zeroLane == chosen.zeroLane)
          continue;
        double err = patternError(w, other, optimalScales(w, other));
        better += err < best;
        equal += err == best;
      }
      EXPECT_EQ(better, 0);
      EXPECT_EQ(equal, 0);
    }
}

struct OptimalityCase {
  Layout layout;
  int64_t rows, cols;
  ScaleSpec spec;
};

TEST(Ternarize, EveryOtherZeroOrScaleIsWorse) {
  // Local optimality on larger matrices, for per-tensor, per-row and
  // per-group scales and both groupings: moving the zero of any group, or of
  // several random groups (with re-fitted optimal scales), scaling any scale
  // region up or down, or flipping any sign strictly increases the error.
  const OptimalityCase cases[] = {
      {Layout::Sherry, 3, 64, ScaleSpec::tensor()},
      {Layout::Sherry, 3, 64, ScaleSpec::row()},
      {Layout::Sherry, 2, 128, ScaleSpec::group(32)},
      {Layout::Stq1_0, 2, 512, ScaleSpec::tensor()},
      {Layout::Stq1_0, 2, 256, ScaleSpec::row()},
      {Layout::Stq1_0, 1, 512, ScaleSpec::group(128)},
  };
  std::mt19937 rng(42);
  unsigned seed = 500;
  for (const OptimalityCase &c : cases) {
    SCOPED_TRACE(std::string(layoutName(c.layout)) + " " +
                 scaleSpecName(c.spec));
    auto w = randomWeights(c.rows, c.cols, ++seed);
    auto t = ternarize(w.data(), c.rows, c.cols, c.layout, c.spec);
    ASSERT_TRUE(t.ok()) << t.message();
    Pattern chosen = patternOf(*t);
    std::vector<double> scales = optimalScales(w, chosen);
    for (size_t s = 0; s < scales.size(); ++s)
      EXPECT_FLOAT_EQ(t->scales[s], float(scales[s])) << "scale " << s;
    double best = patternError(w, chosen, scales);
    EXPECT_NEAR(projectionError2(w.data(), *t), best, 1e-6 * best);

    // Every other lane of every group, one group at a time.
    for (size_t i = 0; i < chosen.zeroLane.size(); ++i)
      for (int p = 0; p < 4; ++p) {
        if (p == chosen.zeroLane[i])
          continue;
        Pattern other = chosen;
        other.zeroLane[i] = p;
        EXPECT_GT(patternError(w, other, optimalScales(w, other)), best)
            << "group " << i << ", lane " << p;
      }
    // Random re-picks of several groups at once.
    for (int trial = 0; trial < 50; ++trial) {
      Pattern other = chosen;
      int changes = 1 + trial % 8;
      for (int j = 0; j < changes; ++j) {
        size_t i = rng() % other.zeroLane.size();
        other.zeroLane[i] = (other.zeroLane[i] + 1 + int(rng() % 3)) % 4;
      }
      if (other.zeroLane == chosen.zeroLane)
        continue; // two moves of one group cancelled out
      EXPECT_GT(patternError(w, other, optimalScales(w, other)), best)
          << "trial " << trial;
    }
    // Any other scale, region by region.
    for (size_t s = 0; s < scales.size(); ++s)
      for (double f : {0.5, 0.9, 0.999, 1.001, 1.1, 2.0}) {
        std::vector<double> other = scales;
        other[s] *= f;
        EXPECT_GT(patternError(w, chosen, other), best)
            << "scale " << s << " times " << f;
      }
    // Flipping a kept sign.
    for (int64_t i = 0; i < c.rows * c.cols; i += 7) {
      if (t->values[i] == 0)
        continue;
      TernaryMatrix flipped = *t;
      flipped.values[i] = int8_t(-flipped.values[i]);
      EXPECT_GT(projectionError2(w.data(), flipped),
                projectionError2(w.data(), *t));
    }
  }
}

TEST(Ternarize, ScaleIsNotTheMeanOverAllWeights) {
  // The known mistake averages |w| over the zeros too (3/4 of the right
  // scale); the sparse absmean is what the error is smallest for.
  std::vector<float> w;
  for (int g = 0; g < 8; ++g)
    w.insert(w.end(), {0.1f, -0.5f, 0.9f, -0.2f});
  auto t = ternarize(w.data(), 1, 32, Layout::Sherry, ScaleSpec::row());
  ASSERT_TRUE(t.ok());
  TernaryMatrix dense = *t;
  dense.scales[0] = (0.1f + 0.5f + 0.9f + 0.2f) / 4.0f;
  EXPECT_GT(projectionError2(w.data(), dense), projectionError2(w.data(), *t));
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
  auto noCols = ternarize(w.data(), 1, 0, Layout::Sherry, ScaleSpec::row());
  ASSERT_FALSE(noCols.ok());
  EXPECT_TRUE(contains(noCols.message(), "K = 0 columns"));
  auto negRows = ternarize(w.data(), -3, 32, Layout::Stq1_0, ScaleSpec::row());
  ASSERT_FALSE(negRows.ok());
  EXPECT_TRUE(contains(negRows.message(), "M = -3"));
  for (int64_t g : {0, -4}) {
    auto badG = ternarize(w.data(), 1, 64, Layout::Sherry, ScaleSpec::group(g));
    ASSERT_FALSE(badG.ok());
    EXPECT_TRUE(contains(badG.message(), "G = " + std::to_string(g) +
                                             " is not a positive multiple"));
  }
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

TEST(Layout, ShapeChecks) {
  EXPECT_TRUE(checkShape(Layout::Sherry, 1, 32).ok());
  EXPECT_TRUE(checkShape(Layout::Stq1_0, 3, 768).ok());
  EXPECT_TRUE(contains(checkShape(Layout::Stq1_0, 1, 288).message(),
                       "K = 288 is not a multiple of 256, which the stq1_0 "
                       "layout requires"));
  // M * K must not overflow: sizes are computed from it.
  EXPECT_TRUE(contains(checkShape(Layout::Sherry, INT64_MAX / 16, 32).message(),
                       "do not fit in memory"));
  EXPECT_TRUE(checkScaleSpec(ScaleSpec::row(), 32).ok());
  EXPECT_TRUE(checkScaleSpec(ScaleSpec::group(4), 32).ok());
  EXPECT_TRUE(contains(checkScaleSpec(ScaleSpec::group(12), 32).message(),
                       "K = 32 is not a multiple of the scale group size "
                       "G = 12"));
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
