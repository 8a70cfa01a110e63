//===- checker.cpp - Runs compiled sherry.matmul cases on AArch64 ---------===//
//
// Linked with the object sherry-compile made from aarch64_cases.py's module
// (header cases.h, calls and case table cases.inc) and with the format
// library, all cross-compiled for AArch64 and run under qemu. Per case it
// makes seeded weights (ternarized and packed by the format library, in the
// case's layout and scales), activations and an accumulator, calls the
// compiled function and compares with the format library's reference read
// back from the packed bytes: (acc + matmulInt8) + bias bit for bit in int8
// mode, (acc + matmulExact) + bias within 1e-4 * (1 + |y|) + 2^-16 * M in
// exact mode, where M = |acc| + |bias| + sum |t * scale * x| is the size of
// what the kernel adds in f32 (the reference sums in double: where the terms
// cancel, f32 sums in another order differ by some ulps of M, while one
// wrong weight moves y by |scale * x|, about M / K).
//
// The activations reach the int8 extremes: row 0 is constant (+127
// everywhere after quantization), row 1 its negation (-127), row 2 has an
// outlier that squeezes the rest of its row, row 3 is all zeros (int8 scale
// 0). Weight row 0 is all positive and row 1 all negative, so that
// y[0][0] and y[0][1] are the largest sums the shape allows (|isum| =
// 127 * 3K/4, far past int16).
//
// Prints one line per case and "all N cases passed" at the end; exits 1
// on any mismatch.
//
//===----------------------------------------------------------------------===//

#include "cases.h"
#include "checker_support.h"

#include "sherry/Format/Format.h"
#include "sherry/Format/Half.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <vector>

namespace fmt = sherry::format;

namespace {

using checker::CaseData;
using checker::Output;
using checker::view;

struct Case {
  const char *name;
  const char *what;
  fmt::Layout layout;
  fmt::ScaleSpec spec;
  bool int8;
  bool halfScales;
  int64_t n, m, k;
  bool bias;
  float xScale;
  void (*run)(const CaseData &, Output &);
};

#include "cases.inc"

/// Seeded pseudo-random values, triangular on (-1, 1): xorshift and plain
/// integer arithmetic, so that making 4M weights stays fast under qemu's
/// floating-point emulation (std::normal_distribution calls log and sqrt).
struct Random {
  uint64_t state;
  uint32_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return uint32_t(state >> 32);
  }
  float operator()() {
    int64_t sum = int64_t(next() >> 8) + int64_t(next() >> 8) - (1 << 24);
    return float(sum) * (1.0f / (1 << 24));
  }
};

template <typename T> T orDie(fmt::Result<T> r, const char *what) {
  if (!r.ok()) {
    std::printf("%s: %s\n", what, r.message().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

/// Runs one case; returns the number of mismatching elements (or -1 for a
/// result of the wrong shape).
int64_t runCase(const Case &c, Random &random) {
  const int64_t n = c.n, m = c.m, k = c.k;

  std::vector<float> w(m * k);
  for (float &v : w)
    v = 0.05f * random();
  for (int64_t j = 0; j < k; ++j) {
    w[j] = std::fabs(w[j]) + 1e-3f;
    if (m > 1)
      w[k + j] = -std::fabs(w[k + j]) - 1e-3f;
  }
  fmt::TernaryMatrix t =
      orDie(fmt::ternarize(w.data(), m, k, c.layout, c.spec), "ternarize");
  if (c.halfScales) // the kernel reads f16 scales: the reference uses them
    for (float &s : t.scales)
      s = fmt::halfToFloat(fmt::floatToHalf(s));
  fmt::PackedWeights packed = orDie(fmt::pack(t, c.layout), "pack");
  // The reference reads the weights back from the bytes, as the kernel does.
  fmt::TernaryMatrix ref = orDie(fmt::unpack(packed), "unpack");

  std::vector<float> x(n * k);
  for (float &v : x)
    v = random();
  for (int64_t j = 0; j < k; ++j) {
    x[j] = 3.0f;
    if (n > 1)
      x[k + j] = -3.0f;
    if (n > 3)
      x[3 * k + j] = 0.0f;
  }
  if (n > 2)
    x[2 * k + 5] = 40.0f;
  for (float &v : x)
    v *= c.xScale;
  std::vector<float> acc(n * m), bias(m);
  for (float &v : acc)
    v = random();
  for (float &v : bias)
    v = random();

  Output out = checker::callPacked(c.run, x, packed, c.halfScales, bias, acc);

  std::vector<float> y =
      orDie(c.int8 ? fmt::matmulInt8(x.data(), n, ref)
                   : fmt::matmulExact(x.data(), n, ref),
            "reference");
  if (out.rows != n || out.cols != m) {
    std::printf("%-7s %-44s result is %lld x %lld, want %lld x %lld\n", c.name,
                c.what, (long long)out.rows, (long long)out.cols, (long long)n,
                (long long)m);
    return -1;
  }
  // The size of each exact-mode sum's terms.
  auto magnitude = [&](int64_t i, int64_t j) {
    double sum = std::fabs(double(acc[i * m + j])) +
                 (c.bias ? std::fabs(double(bias[j])) : 0.0);
    for (int64_t kk = 0; kk < k; ++kk)
      if (ref.at(j, kk))
        sum += std::fabs(double(ref.scaleAt(j, kk)) * double(x[i * k + kk]));
    return sum;
  };
  int64_t bad = 0;
  double worst = 0.0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      float want = acc[i * m + j] + y[i * m + j];
      if (c.bias)
        want += bias[j];
      float got = out.values[i * m + j];
      double err = std::fabs(double(got) - double(want));
      bool ok = c.int8 ? (got == want || (std::isnan(got) && std::isnan(want)))
                       : err <= 1e-4 * (1.0 + std::fabs(double(want))) +
                                    std::ldexp(magnitude(i, j), -16);
      if (!ok && bad < 3)
        std::printf("  %s y[%lld][%lld] = %.9g, want %.9g\n", c.name,
                    (long long)i, (long long)j, got, want);
      bad += !ok;
      if (!std::isnan(err) && err > worst)
        worst = err;
    }
  std::printf("%-7s %-44s %3lldx%4lldx%4lld%s: %lld mismatches (max |diff| "
              "%.3g)\n",
              c.name, c.what, (long long)n, (long long)m, (long long)k,
              c.bias ? " bias" : "     ", (long long)bad, worst);
  return bad;
}

} // namespace

int main() {
  Random rng{0x5eed2026012500ffull};
  int failed = 0;
  int total = sizeof(kCases) / sizeof(kCases[0]);
  for (const Case &c : kCases)
    failed += runCase(c, rng) != 0;
  if (failed) {
    std::printf("%d of %d cases FAILED\n", failed, total);
    return 1;
  }
  std::printf("all %d cases passed\n", total);
  return 0;
}
