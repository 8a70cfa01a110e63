//===- difftest_checker.cpp - Runs difftest.py's cases, e.g. under qemu ---===//
//
// Linked with an object that sherry-compile made from a batch of
// utils/difftest.py (header batch.h; calls and case table batch.inc) and
// with the format library, all compiled for the same target (AArch64 under
// qemu, or the host). argv[1] is the batch's data file: per case, in the
// order of the table, the f32 activations (N x K), float weights (M x K),
// accumulator (N x M) and bias (M), little-endian, as difftest.py drew them.
//
// Per case the weights are ternarized and packed by the format library in
// the case's layout and scales (f16 scales rounded as the kernel reads
// them), the compiled function is called on the packed bytes, and the
// result is compared with the format library's reference read back from the
// packed bytes: (acc + matmulInt8) + bias bit for bit in int8 mode,
// (acc + matmulExact) + bias within 1e-4 * (F + |y|) in exact mode, where F
// is the scale of the case's data (1 as in test/Integration unless the
// activations are scaled; the rule of difftest.py's x86 programs).
//
// Prints "case I: N mismatches" per case (and the first differences) and
// "all N cases passed" at the end; exits 1 on any mismatch.
//
//===----------------------------------------------------------------------===//

#include "batch.h"
#include "checker_support.h"

#include "sherry/Format/Format.h"
#include "sherry/Format/Half.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <vector>

namespace fmt = sherry::format;

namespace {

using checker::CaseData;
using checker::Output;
using checker::view;

struct Case {
  int index;
  const char *what;
  fmt::Layout layout;
  fmt::ScaleSpec spec;
  bool int8;
  bool halfScales;
  /// Set: the kernel takes the weights in this tables layout.
  std::optional<fmt::TableLayout> tables;
  int64_t n, m, k;
  bool bias;
  double floor;   // exact mode: |got - want| <= 1e-4 * (floor + |want|)
  int64_t offset; // in floats, into the data file
  void (*run)(const CaseData &, Output &);
};

#include "batch.inc"

template <typename T> T orDie(fmt::Result<T> r, const char *what) {
  if (!r.ok()) {
    std::printf("%s: %s\n", what, r.message().c_str());
    std::exit(2);
  }
  return std::move(*r);
}

/// Runs one case; returns the number of mismatching elements (or -1 for a
/// result of the wrong shape).
int64_t runCase(const Case &c, const std::vector<float> &file) {
  const int64_t n = c.n, m = c.m, k = c.k;
  const float *base = file.data() + c.offset;
  std::vector<float> x(base, base + n * k);
  base += n * k;
  std::vector<float> w(base, base + m * k);
  base += m * k;
  std::vector<float> acc(base, base + n * m);
  base += n * m;
  std::vector<float> bias(base, base + m);

  fmt::TernaryMatrix t =
      orDie(fmt::ternarize(w.data(), m, k, c.layout, c.spec), "ternarize");
  if (c.halfScales) // the kernel reads f16 scales: the reference uses them
    for (float &s : t.scales)
      s = fmt::halfToFloat(fmt::floatToHalf(s));
  fmt::PackedWeights packed = orDie(fmt::pack(t, c.layout), "pack");
  // The reference reads the weights back from the bytes, as the kernel does.
  fmt::TernaryMatrix ref = orDie(fmt::unpack(packed), "unpack");

  fmt::PackedWeights passed = packed;
  if (c.tables)
    passed = orDie(fmt::toTables(packed, *c.tables), "toTables");
  Output out = checker::callPacked(c.run, x, passed, c.halfScales, bias, acc);

  std::vector<float> y =
      orDie(c.int8 ? fmt::matmulInt8(x.data(), n, ref)
                   : fmt::matmulExact(x.data(), n, ref),
            "reference");
  if (out.rows != n || out.cols != m) {
    std::printf("case %d: result is %lld x %lld, want %lld x %lld\n", c.index,
                (long long)out.rows, (long long)out.cols, (long long)n,
                (long long)m);
    return -1;
  }
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
                       : err <= 1e-4 * (c.floor + std::fabs(double(want)));
      if (!ok && bad < 3)
        std::printf("  case %d: y[%lld][%lld] = %.9g, want %.9g\n", c.index,
                    (long long)i, (long long)j, got, want);
      bad += !ok;
      if (!std::isnan(err) && err > worst)
        worst = err;
    }
  std::printf("case %d: %lld mismatches (max |diff| %.3g) %s\n", c.index,
              (long long)bad, worst, c.what);
  return bad;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::printf("usage: %s BATCH.bin\n", argv[0]);
    return 2;
  }
  std::FILE *f = std::fopen(argv[1], "rb");
  if (!f) {
    std::printf("cannot open %s\n", argv[1]);
    return 2;
  }
  std::vector<float> file;
  float chunk[4096];
  size_t got;
  while ((got = std::fread(chunk, sizeof(float), 4096, f)) > 0)
    file.insert(file.end(), chunk, chunk + got);
  std::fclose(f);
  if (file.size() != size_t(kFloats)) {
    std::printf("%s holds %zu floats, the batch needs %lld\n", argv[1],
                file.size(), (long long)kFloats);
    return 2;
  }

  int failed = 0;
  int total = sizeof(kCases) / sizeof(kCases[0]);
  for (const Case &c : kCases)
    failed += runCase(c, file) != 0;
  if (failed) {
    std::printf("%d of %d cases FAILED\n", failed, total);
    return 1;
  }
  std::printf("all %d cases passed\n", total);
  return 0;
}
