//===- TestUtils.h - Shared helpers of the format unit tests ----*- C++ -*-===//

#ifndef SHERRY_UNITTESTS_FORMAT_TESTUTILS_H
#define SHERRY_UNITTESTS_FORMAT_TESTUTILS_H

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace sherry::format::test {

/// Seeded normal weights, so every run sees the same matrices.
inline std::vector<float> randomWeights(int64_t rows, int64_t cols,
                                        unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = dist(rng);
  return w;
}

inline bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace sherry::format::test

#endif // SHERRY_UNITTESTS_FORMAT_TESTUTILS_H
