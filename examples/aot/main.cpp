//===- main.cpp - Calls an ahead-of-time compiled sherry model ------------===//
//
// Links the object that sherry-compile made from model.mlir, calls its
// functions through the generated header (model.h) and checks every result
// against the format library's reference matmul: bit for bit in int8 mode,
// within 1e-4 * (1 + |y|) in exact mode. Exits 1 on any mismatch.
//
//===----------------------------------------------------------------------===//

#include "model.h"

#include "sherry-c/Format.h"
#include "sherry/Format/FileIO.h"
#include "sherry/Format/Format.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace fmt = sherry::format;

/// call_from_c.c: @small_int8 called from C (3 x 96 activations, 7 x 15
/// packed bytes, 7 scales); writes the 3 x 7 result. Returns 0 on success.
extern "C" int small_int8_from_c(float *x, uint8_t *w, float *s, float *y);

namespace {

int failures = 0;

void check(bool ok, const std::string &what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what.c_str());
    ++failures;
  }
}

/// A descriptor for a contiguous row-major buffer (the layout a C or C++
/// program naturally has): offset 0, strides {cols, 1}.
template <typename Desc, typename T>
Desc view(T *data, int64_t rows, int64_t cols) {
  Desc d;
  d.allocated = data;
  d.aligned = data;
  d.offset = 0;
  d.sizes[0] = rows;
  d.sizes[1] = cols;
  d.strides[0] = cols;
  d.strides[1] = 1;
  return d;
}

template <typename Desc, typename T> Desc view(T *data, int64_t size) {
  Desc d;
  d.allocated = data;
  d.aligned = data;
  d.offset = 0;
  d.sizes[0] = size;
  d.strides[0] = 1;
  return d;
}

/// Packed bytes are uint8_t in the format library and i8 in the model.
sherry_memref_i8_2d viewBytes(fmt::PackedWeights &packed) {
  return view<sherry_memref_i8_2d>(
      reinterpret_cast<int8_t *>(packed.data.data()), packed.rows,
      packed.rowBytes());
}

std::vector<float> normal(std::mt19937 &rng, size_t count, float sigma) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> values(count);
  for (float &v : values)
    v = dist(rng);
  return values;
}

/// Seeded weights, ternarized and packed; the reference reads them back
/// from the packed bytes, as the compiled code does.
struct Weights {
  fmt::PackedWeights packed;
  fmt::TernaryMatrix unpacked;
};

Weights makeWeights(std::mt19937 &rng, int64_t rows, int64_t cols,
                    fmt::ScaleSpec spec) {
  std::vector<float> w = normal(rng, rows * cols, 0.05f);
  auto ternary =
      fmt::ternarize(w.data(), rows, cols, fmt::Layout::Sherry, spec);
  if (!ternary.ok()) {
    std::printf("ternarize: %s\n", ternary.message().c_str());
    std::exit(1);
  }
  auto packed = fmt::pack(*ternary, fmt::Layout::Sherry);
  if (!packed.ok()) {
    std::printf("pack: %s\n", packed.message().c_str());
    std::exit(1);
  }
  auto unpacked = fmt::unpack(*packed);
  if (!unpacked.ok()) {
    std::printf("unpack: %s\n", unpacked.message().c_str());
    std::exit(1);
  }
  return {std::move(*packed), std::move(*unpacked)};
}

/// Activations with an outlier in row 1 (squeezes the rest of that row's
/// int8 values) and a constant row 0 (all +127 after quantization: sums far
/// past int16).
std::vector<float> makeActivations(std::mt19937 &rng, int64_t n, int64_t k) {
  std::vector<float> x = normal(rng, n * k, 1.0f);
  for (int64_t j = 0; j < k; ++j)
    x[j] = 2.5f;
  if (n > 1)
    x[k + 5] = 30.0f;
  return x;
}

std::vector<float> reference(const std::vector<float> &x, int64_t n,
                             const fmt::TernaryMatrix &w, bool int8) {
  auto y =
      int8 ? fmt::matmulInt8(x.data(), n, w) : fmt::matmulExact(x.data(), n, w);
  if (!y.ok()) {
    std::printf("reference: %s\n", y.message().c_str());
    std::exit(1);
  }
  return *y;
}

/// Compares a returned N x M memref with the expected values, then frees
/// it: the compiled function allocated it with malloc.
void checkResult(const char *name, sherry_memref_f32_2d &result, int64_t n,
                 int64_t m, const std::vector<float> &expected, bool exact) {
  check(result.sizes[0] == n && result.sizes[1] == m,
        std::string(name) + ": result shape");
  int64_t bad = 0;
  double worst = 0.0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      float got = result.aligned[result.offset + i * result.strides[0] +
                                 j * result.strides[1]];
      float want = expected[i * m + j];
      double err = std::fabs(double(got) - double(want));
      worst = std::max(worst, err);
      bool ok = exact ? got == want : err <= 1e-4 * (1.0 + std::fabs(want));
      bad += !ok;
    }
  std::printf("%-12s %lld x %lld, %s: %lld mismatches (max |diff| %.3g)\n",
              name, (long long)n, (long long)m,
              exact ? "bit-exact" : "tolerance 1e-4*(1+|y|)", (long long)bad,
              worst);
  check(bad == 0, std::string(name) + ": values");
  std::free(result.allocated);
}

/// The C API's error callback: appends to a std::string.
void appendMessage(MlirStringRef message, void *userData) {
  static_cast<std::string *>(userData)->append(message.data, message.length);
}

/// The weights of @big_tables, `w` written as a .sherry file in the tables
/// layout (what `sherry-pack convert --layout=tables` writes), mapped with
/// the C API and checked against the function's layout, its descriptors
/// filled from the mapping.
void runMappedTables(std::mt19937 &rng) {
  const int64_t n = 5, m = 300, k = 1024;
  std::vector<float> x = makeActivations(rng, n, k);
  auto xd = view<sherry_memref_f32_2d>(x.data(), n, k);
  Weights w = makeWeights(rng, m, k, fmt::ScaleSpec::row());
  std::vector<float> bias = normal(rng, m, 1.0f);
  auto bd = view<sherry_memref_f32_1d>(bias.data(), m);

  std::string dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  // Each process its own files: ctest runs the variants at once.
  std::string tablesPath = dir + "/aot-example-" + std::to_string(getpid()) +
                           ".tables.sherry";
  std::string canonicalPath = tablesPath + ".canonical";
  auto tables = fmt::toTables(w.packed, {fmt::TableOrder::Lanes, 2});
  check(tables.ok(), "toTables");
  check(fmt::writePackedFile(tablesPath, *tables).ok() &&
            fmt::writePackedFile(canonicalPath, w.packed).ok(),
        "write the .sherry files");

  // What @big_tables takes.
  SherryWeightsSpec spec = {m,
                            k,
                            SherryLayoutTables,
                            SherryLayoutSherry,
                            SherryTableOrderLanes,
                            2,
                            SherryGranularityRow,
                            0};
  std::string error;
  SherryMappedWeights mapped;
  if (mlirLogicalResultIsFailure(sherryMappedWeightsOpen(
          mlirStringRefCreateFromCString(tablesPath.c_str()), &mapped,
          appendMessage, &error)) ||
      mlirLogicalResultIsFailure(
          sherryMappedWeightsExpect(mapped, &spec, appendMessage, &error))) {
    check(false, "map " + tablesPath + ": " + error);
    return;
  }
  sherry_memref_i8_1d wd;
  sherry_memref_f32_1d sd;
  check(mlirLogicalResultIsSuccess(sherryMappedWeightsGetData(
                mapped, 1, &wd, appendMessage, &error)) &&
            mlirLogicalResultIsSuccess(sherryMappedWeightsGetScales(
                mapped, 1, &sd, appendMessage, &error)),
        "descriptors: " + error);
  std::vector<float> expected = reference(x, n, w.unpacked, true);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j)
      expected[i * m + j] += bias[j];
  sherry_memref_f32_2d y;
  _mlir_ciface_big_tables(&y, &xd, &wd, &sd, &bd);
  checkResult("big_tables", y, n, m, expected, true);
  sherryMappedWeightsClose(mapped);

  // A file in another layout than the function takes is refused, by name.
  error.clear();
  SherryMappedWeights other;
  bool opened = mlirLogicalResultIsSuccess(sherryMappedWeightsOpen(
      mlirStringRefCreateFromCString(canonicalPath.c_str()), &other,
      appendMessage, &error));
  check(opened, "map " + canonicalPath + ": " + error);
  if (opened) {
    bool refused = mlirLogicalResultIsFailure(
        sherryMappedWeightsExpect(other, &spec, appendMessage, &error));
    std::printf("%-12s the canonical file refused: %s\n", "big_tables",
                error.c_str());
    check(refused && error.find("the function takes") != std::string::npos,
          "a file in another layout is refused");
    sherryMappedWeightsClose(other);
  }
  std::remove(tablesPath.c_str());
  std::remove(canonicalPath.c_str());
}

} // namespace

int main() {
  std::mt19937 rng(20240607);

  // Small layer: N = 3, M = 7, K = 96, per-row scales.
  {
    const int64_t n = 3, m = 7, k = 96;
    Weights w = makeWeights(rng, m, k, fmt::ScaleSpec::row());
    std::vector<float> x = makeActivations(rng, n, k);
    auto xd = view<sherry_memref_f32_2d>(x.data(), n, k);
    auto wd = viewBytes(w.packed);
    auto sd = view<sherry_memref_f32_1d>(w.packed.scales.data(), m);

    sherry_memref_f32_2d y;
    _mlir_ciface_small_int8(&y, &xd, &wd, &sd);
    checkResult("small_int8", y, n, m, reference(x, n, w.unpacked, true), true);
    // The same call from C.
    std::vector<float> fromC(n * m);
    check(small_int8_from_c(x.data(), w.packed.data.data(),
                            w.packed.scales.data(), fromC.data()) == 0,
          "small_int8 from C: result shape");
    auto expected = reference(x, n, w.unpacked, true);
    int64_t badC = 0;
    for (int64_t i = 0; i < n * m; ++i)
      badC += fromC[i] != expected[i];
    std::printf("%-12s %lld x %lld, bit-exact: %lld mismatches\n",
                "small_int8 from C", (long long)n, (long long)m,
                (long long)badC);
    check(badC == 0, "small_int8 from C: values");

    _mlir_ciface_small_exact(&y, &xd, &wd, &sd);
    checkResult("small_exact", y, n, m, reference(x, n, w.unpacked, false),
                false);
  }

  // Bigger layer: N = 5, M = 300, K = 1024.
  {
    const int64_t n = 5, m = 300, k = 1024;
    std::vector<float> x = makeActivations(rng, n, k);
    auto xd = view<sherry_memref_f32_2d>(x.data(), n, k);

    // Per-row scales and a bias, int8.
    Weights w = makeWeights(rng, m, k, fmt::ScaleSpec::row());
    std::vector<float> bias = normal(rng, m, 1.0f);
    auto wd = viewBytes(w.packed);
    auto sd = view<sherry_memref_f32_1d>(w.packed.scales.data(), m);
    auto bd = view<sherry_memref_f32_1d>(bias.data(), m);
    std::vector<float> expected = reference(x, n, w.unpacked, true);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j)
        expected[i * m + j] += bias[j];
    sherry_memref_f32_2d y;
    _mlir_ciface_big_int8(&y, &xd, &wd, &sd, &bd);
    checkResult("big_int8", y, n, m, expected, true);

    // One scale per 128 weights of a row, exact.
    Weights g = makeWeights(rng, m, k, fmt::ScaleSpec::group(128));
    auto gd = viewBytes(g.packed);
    auto gs = view<sherry_memref_f32_2d>(g.packed.scales.data(), m, k / 128);
    _mlir_ciface_big_exact(&y, &xd, &gd, &gs);
    checkResult("big_exact", y, n, m, reference(x, n, g.unpacked, false),
                false);
  }

  // A dynamic batch: the sizes in the descriptors say how many rows.
  for (int64_t n : {1, 3, 11}) {
    const int64_t m = 7, k = 96;
    Weights w = makeWeights(rng, m, k, fmt::ScaleSpec::tensor());
    std::vector<float> x = makeActivations(rng, n, k);
    std::vector<float> bias = normal(rng, m, 1.0f);
    std::vector<float> acc = normal(rng, n * m, 1.0f);
    // The call may write into the accumulator: give it a copy.
    std::vector<float> accCopy = acc;
    auto xd = view<sherry_memref_f32_2d>(x.data(), n, k);
    auto wd = viewBytes(w.packed);
    auto sd = view<sherry_memref_f32_1d>(w.packed.scales.data(), 1);
    auto bd = view<sherry_memref_f32_1d>(bias.data(), m);
    auto ad = view<sherry_memref_f32_2d>(accCopy.data(), n, m);
    // (init + x * W'^T) + bias, each sum in f32.
    std::vector<float> expected = reference(x, n, w.unpacked, true);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j)
        expected[i * m + j] = (acc[i * m + j] + expected[i * m + j]) + bias[j];
    sherry_memref_f32_2d y;
    _mlir_ciface_batch_int8(&y, &xd, &wd, &sd, &bd, &ad);
    std::string name = "batch_int8/" + std::to_string(n);
    checkResult(name.c_str(), y, n, m, expected, true);
  }

  runMappedTables(rng);

  if (failures) {
    std::printf("aot example: %d check(s) FAILED\n", failures);
    return 1;
  }
  std::printf("aot example: OK\n");
  return 0;
}
