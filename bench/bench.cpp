//===- bench.cpp - Timing harness for sherry-mlir kernels -----------------===//
//
// Google Benchmark harness, built by bench/run.sh together with the kernels
// that bench/gen_kernels.py generates (kernels.h). One process runs one
// family of benchmarks (--family=...), so that the OpenMP threads of our
// kernels and OpenBLAS's own threads never spin against each other:
//
//   bw       read bandwidth of this machine (AVX-512 loads where available)
//            over 4 MiB, 16 MiB and 512 MiB, on 1 and 2 threads
//   sherry   every generated sherry.matmul kernel (int8 mode, row scales):
//            weights <sherry, row> as arguments or compiled in, or passed
//            in a tables layout (format::toTables of the same weights)
//   blas     dense f32 OpenBLAS sgemv (N=1) / sgemm (N>1), 1 and 2 threads
//   mlirf32  upstream MLIR linalg.matmul on f32 weights, tiled + vectorized
//   decode   one decode step (N=1) through LLaMA-3.2-1B's 16 x 7 linear
//            weights, distinct buffers per matrix (a DRAM-sized working set),
//            each step right after a read of bw's 512 MiB buffer, whose
//            bandwidth it reports next to the step's
//
// Before timing, every kernel of the family is run once and checked: sherry
// kernels bit for bit against the format library's int8 reference
// (sherry::format::matmulInt8), f32 kernels within 1e-4 relative of a double
// reference. A failed check exits with status 1 and times nothing.
//
// Every timed call includes all the kernel itself does: for sherry.matmul,
// quantizing the f32 activations to int8 and the matmul, accumulating into
// the output in place (no allocation of the result).
//
//===----------------------------------------------------------------------===//

#include "kernels.h"
#include "memref.h"

#include "sherry/Format/Format.h"

#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace fmt = sherry::format;

namespace {

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};

/// 64-byte aligned, zero-filled storage for `count` elements of T.
template <typename T> struct Buffer {
  std::unique_ptr<T, FreeDeleter> ptr;
  size_t count = 0;

  explicit Buffer(size_t n = 0) : count(n) {
    if (!n)
      return;
    size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    ptr.reset(static_cast<T *>(std::aligned_alloc(64, bytes)));
    if (!ptr) {
      std::fprintf(stderr, "sherry-bench: out of memory (%zu bytes)\n", bytes);
      std::exit(2);
    }
    std::memset(ptr.get(), 0, bytes);
  }
  T *data() const { return ptr.get(); }
  size_t bytes() const { return count * sizeof(T); }
};

/// xorshift64*: fast, seeded, good enough for test data.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  /// Uniform in [-1, 1).
  float uniform() {
    return float(int64_t(next() >> 40) - (1 << 23)) / (1 << 23);
  }
};

/// Every byte value is a valid pair of slots / eight sign bits, so random
/// bytes are valid packed <sherry, row> weights.
void fillBytes(int8_t *p, size_t n, Rng &rng) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng.next();
    std::memcpy(p + i, &v, 8);
  }
  for (; i < n; ++i)
    p[i] = int8_t(rng.next());
}

void fillFloats(float *p, size_t n, Rng &rng, float lo, float hi) {
  for (size_t i = 0; i < n; ++i)
    p[i] = lo + (hi - lo) * 0.5f * (rng.uniform() + 1.0f);
}

int64_t rowBytes(int64_t k) { return k / 8 + k / 32; }

/// The tables layout a variant's weights are passed in, or null.
const TablesVariant *tablesVariant(const std::string &variant) {
  for (const TablesVariant *tv = kTablesVariants; tv->variant; ++tv)
    if (variant == tv->variant)
      return tv;
  return nullptr;
}

/// Packed weights and row scales of one M x K matrix, <sherry, row>, and
/// on demand the same weights in a tables layout (format::toTables).
struct SherryWeights {
  int64_t m, k;
  Buffer<int8_t> packed;
  Buffer<float> scales;
  SherryWeights(int64_t m, int64_t k, uint64_t seed)
      : m(m), k(k), packed(size_t(m * rowBytes(k))), scales(size_t(m)) {
    Rng rng(seed);
    fillBytes(packed.data(), packed.count, rng);
    fillFloats(scales.data(), scales.count, rng, 0.01f, 0.05f);
  }
  size_t bytes() const { return packed.bytes() + scales.bytes(); }
  MemRef<int8_t, 2> packedRef() const {
    return viewOf<int8_t, 2>(packed.data(), {m, rowBytes(k)});
  }
  MemRef<float, 1> scalesRef() const {
    return viewOf<float, 1>(scales.data(), {m});
  }
  /// The format library's view of the packed weights.
  fmt::PackedWeights packedWeights() const {
    fmt::PackedWeights p;
    p.layout = fmt::Layout::Sherry;
    p.rows = m;
    p.cols = k;
    p.scaleSpec = fmt::ScaleSpec::row();
    p.data.assign(reinterpret_cast<const uint8_t *>(packed.data()),
                  reinterpret_cast<const uint8_t *>(packed.data()) +
                      packed.count);
    p.scales.assign(scales.data(), scales.data() + scales.count);
    return p;
  }
  /// The bytes of these weights in the tables layout of `tv`, made once.
  const Buffer<int8_t> &tables(const TablesVariant &tv) const {
    auto key = std::make_pair(std::string(tv.order), tv.tileBlock);
    auto it = tablesBytes.find(key);
    if (it != tablesBytes.end())
      return it->second;
    fmt::Result<fmt::TableOrder> order = fmt::parseTableOrder(tv.order);
    fmt::Result<fmt::PackedWeights> t =
        order ? fmt::toTables(packedWeights(),
                              fmt::TableLayout{*order, tv.tileBlock})
              : fmt::Result<fmt::PackedWeights>(order.getStatus());
    if (!t) {
      std::fprintf(stderr, "sherry-bench: tables layout: %s\n",
                   t.message().c_str());
      std::exit(2);
    }
    Buffer<int8_t> buf(t->data.size());
    std::memcpy(buf.data(), t->data.data(), t->data.size());
    return tablesBytes.emplace(key, std::move(buf)).first->second;
  }
  MemRef<int8_t, 1> tablesRef(const TablesVariant &tv) const {
    const Buffer<int8_t> &b = tables(tv);
    return viewOf<int8_t, 1>(b.data(), {int64_t(b.count)});
  }
  /// Bytes a kernel reads: packed weights (in `tv`'s layout if set) and
  /// scales.
  size_t bytes(const TablesVariant *tv) const {
    return tv ? tables(*tv).bytes() + scales.bytes() : bytes();
  }

private:
  mutable std::map<std::pair<std::string, int>, Buffer<int8_t>> tablesBytes;
};

/// Calls a generated kernel on `w`: its <sherry, row> bytes, or their
/// tables layout for a variant that takes it.
void callSherry(const SherryKernel &kern, const SherryWeights &w,
                MemRef<float, 2> *x, MemRef<float, 2> *out) {
  MemRef<float, 1> s = w.scalesRef();
  if (kern.tablesFn) {
    MemRef<int8_t, 1> p = w.tablesRef(*tablesVariant(kern.variant));
    kern.tablesFn(x, &p, &s, out);
    return;
  }
  MemRef<int8_t, 2> p = w.packedRef();
  kern.fn(x, &p, &s, out);
}

/// The dequantized f32 weights of the same matrix (for dense baselines).
struct DenseWeights {
  int64_t m, k;
  Buffer<float> w;
  DenseWeights(const SherryWeights &sw)
      : m(sw.m), k(sw.k), w(size_t(sw.m * sw.k)) {
    fmt::TernaryMatrix t = ternary(sw);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < k; ++c)
        w.data()[r * k + c] = t.scales[r] * t.values[r * k + c];
  }
  static fmt::TernaryMatrix ternary(const SherryWeights &sw) {
    fmt::Result<fmt::TernaryMatrix> t = fmt::unpack(sw.packedWeights());
    if (!t) {
      std::fprintf(stderr, "sherry-bench: unpack: %s\n", t.message().c_str());
      std::exit(2);
    }
    return std::move(t).value();
  }
};

/// Seeded activations of N x K; an output of N x M.
struct Activations {
  int64_t n, k;
  Buffer<float> x;
  Activations(int64_t n, int64_t k, uint64_t seed)
      : n(n), k(k), x(size_t(n * k)) {
    Rng rng(seed);
    fillFloats(x.data(), x.count, rng, -2.0f, 2.0f);
  }
  MemRef<float, 2> ref() const { return viewOf<float, 2>(x.data(), {n, k}); }
};

// One set of weights per shape and one of activations per (N, K), made on
// first use and shared by every variant.
std::map<std::pair<int64_t, int64_t>, std::unique_ptr<SherryWeights>> gWeights;
std::map<std::pair<int64_t, int64_t>, std::unique_ptr<DenseWeights>> gDense;
std::map<std::pair<int64_t, int64_t>, std::unique_ptr<Activations>> gActs;

const SherryWeights &weights(int64_t m, int64_t k) {
  auto &p = gWeights[{m, k}];
  if (!p)
    p = std::make_unique<SherryWeights>(m, k, uint64_t(m * 131 + k));
  return *p;
}
const DenseWeights &dense(int64_t m, int64_t k) {
  auto &p = gDense[{m, k}];
  if (!p)
    p = std::make_unique<DenseWeights>(weights(m, k));
  return *p;
}
const Activations &acts(int64_t n, int64_t k) {
  auto &p = gActs[{n, k}];
  if (!p)
    p = std::make_unique<Activations>(n, k, uint64_t(n * 7 + k));
  return *p;
}

//===----------------------------------------------------------------------===//
// Checks
//===----------------------------------------------------------------------===//

/// Rows of the output that a check compares (all of them for small N).
std::vector<int64_t> checkedRows(int64_t n) {
  if (n <= 4) {
    std::vector<int64_t> r;
    for (int64_t i = 0; i < n; ++i)
      r.push_back(i);
    return r;
  }
  return {0, 1, n / 2, n - 1};
}

/// Compares the checked rows of `out` (n x m) with the format library's
/// int8 reference for activations acts(n, k), bit for bit.
bool checkSherryOutput(const char *name, const float *out,
                       const SherryWeights &w, int64_t n) {
  int64_t m = w.m, k = w.k;
  const Activations &a = acts(n, k);
  static std::map<const SherryWeights *, fmt::TernaryMatrix> ternaries;
  auto it = ternaries.find(&w);
  if (it == ternaries.end())
    it = ternaries.emplace(&w, DenseWeights::ternary(w)).first;
  int64_t bad = 0;
  for (int64_t row : checkedRows(n)) {
    fmt::Result<std::vector<float>> ref =
        fmt::matmulInt8(a.x.data() + row * k, 1, it->second);
    if (!ref) {
      std::fprintf(stderr, "%s: reference failed: %s\n", name,
                   ref.message().c_str());
      return false;
    }
    for (int64_t j = 0; j < m; ++j) {
      float got = out[row * m + j], want = (*ref)[j];
      if (std::memcmp(&got, &want, sizeof(float)) != 0 && bad++ < 3)
        std::fprintf(stderr, "%s: y[%lld,%lld] = %.9g, reference %.9g\n", name,
                     (long long)row, (long long)j, got, want);
    }
  }
  if (bad)
    std::fprintf(stderr, "%s: %lld results differ from the reference\n", name,
                 (long long)bad);
  return bad == 0;
}

/// Runs `kern` once from a zero output and compares the checked rows with
/// the format library's int8 reference, bit for bit.
bool checkSherry(const SherryKernel &kern) {
  const SherryWeights &w = weights(kern.m, kern.k);
  Buffer<float> out(size_t(kern.n * w.m));
  MemRef<float, 2> x = acts(kern.n, w.k).ref(),
                   o = viewOf<float, 2>(out.data(), {kern.n, w.m});
  callSherry(kern, w, &x, &o);
  return checkSherryOutput(kern.name, out.data(), w, kern.n);
}

/// Compares the checked rows of an f32 result with a double reference.
bool checkF32(const char *name, const float *out, int64_t m, int64_t k,
              int64_t n) {
  const DenseWeights &w = dense(m, k);
  const Activations &a = acts(n, k);
  int64_t bad = 0;
  for (int64_t row : checkedRows(n)) {
    for (int64_t j = 0; j < m; ++j) {
      double ref = 0, mag = 0;
      for (int64_t c = 0; c < k; ++c) {
        double t = double(a.x.data()[row * k + c]) * w.w.data()[j * k + c];
        ref += t;
        mag += std::fabs(t);
      }
      double got = out[row * m + j];
      if (std::fabs(got - ref) > 1e-4 * (1 + mag) && bad++ < 3)
        std::fprintf(stderr, "%s: y[%lld,%lld] = %.9g, reference %.9g\n", name,
                     (long long)row, (long long)j, got, ref);
    }
  }
  if (bad)
    std::fprintf(stderr, "%s: %lld results differ from the reference\n", name,
                 (long long)bad);
  return bad == 0;
}

void blasCall(const float *x, const float *w, float *y, int64_t m, int64_t k,
              int64_t n) {
  if (n == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(m), int(k), 1.0f, w, int(k), x,
                1, 1.0f, y, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(m), int(k),
                1.0f, x, int(k), w, int(k), 1.0f, y, int(m));
}

//===----------------------------------------------------------------------===//
// Benchmarks
//===----------------------------------------------------------------------===//

struct Settings {
  double minTime = 0.1;
  int reps = 5;
  bool smoke = false;
};
Settings gSettings;

/// Our settings; `manual`: the benchmark times itself (SetIterationTime).
benchmark::internal::Benchmark *common(benchmark::internal::Benchmark *b,
                                       bool manual = false) {
  if (manual)
    b->UseManualTime();
  else
    b->UseRealTime();
  b->Unit(benchmark::kMicrosecond)
      ->MinTime(gSettings.minTime)
      ->Repetitions(gSettings.reps)
      ->ReportAggregatesOnly(true)
      ->ComputeStatistics("min", [](const std::vector<double> &v) {
        return *std::min_element(v.begin(), v.end());
      });
  return b;
}

/// Sum of 64-byte words (xor), eight independent chains.
uint64_t readSlice(const char *p, size_t bytes) {
#if defined(__AVX512F__)
  __m512i acc[8];
  for (auto &v : acc)
    v = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 512 <= bytes; i += 512)
    for (int j = 0; j < 8; ++j)
      acc[j] = _mm512_xor_si512(
          acc[j],
          _mm512_load_si512(reinterpret_cast<const void *>(p + i + 64 * j)));
  for (int j = 1; j < 8; ++j)
    acc[0] = _mm512_xor_si512(acc[0], acc[j]);
  uint64_t lanes[8];
  _mm512_storeu_si512(lanes, acc[0]);
  uint64_t r = 0;
  for (uint64_t l : lanes)
    r ^= l;
  return r;
#else
  const uint64_t *q = reinterpret_cast<const uint64_t *>(p);
  uint64_t a[8] = {0};
  for (size_t i = 0; i + 8 <= bytes / 8; i += 8)
    for (int j = 0; j < 8; ++j)
      a[j] ^= q[i + j];
  return a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7];
#endif
}

constexpr size_t kMiB = size_t(1) << 20;
/// The DRAM-sized working set of the read bandwidth figure.
constexpr size_t kDramBytes = 512 * kMiB;

/// A buffer of `bytes` to read, one per size, written once.
const char *readBuffer(size_t bytes) {
  static std::map<size_t, std::unique_ptr<Buffer<char>>> bufs;
  auto &buf = bufs[bytes];
  if (!buf) {
    buf = std::make_unique<Buffer<char>>(bytes);
    std::memset(buf->data(), 1, bytes);
  }
  return buf->data();
}

/// Reads `bytes` from `p`, split evenly between `threads` (OpenMP).
uint64_t readParallel(const char *p, size_t bytes, int threads) {
  uint64_t sink = 0;
#pragma omp parallel num_threads(threads) reduction(^ : sink)
  {
    size_t per = bytes / size_t(omp_get_num_threads());
    sink ^= readSlice(p + per * size_t(omp_get_thread_num()), per);
  }
  return sink;
}

void registerBandwidth() {
  std::vector<size_t> sizes = {4 * kMiB, 16 * kMiB, kDramBytes};
  if (gSettings.smoke)
    sizes = {4 * kMiB};
  for (size_t bytes : sizes)
    for (int t : {1, 2}) {
      std::string name = "bw/read/" + std::to_string(bytes / kMiB) +
                         "MiB/threads:" + std::to_string(t);
      auto *b = benchmark::RegisterBenchmark(
          name.c_str(), [bytes, t](benchmark::State &st) {
            const char *p = readBuffer(bytes);
            for (auto _ : st)
              benchmark::DoNotOptimize(readParallel(p, bytes, t));
            st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(bytes));
          });
      common(b);
    }
}

void registerSherry() {
  for (const SherryKernel *kp = kSherryKernels; kp->name; ++kp) {
    const SherryKernel kern = *kp;
    std::string name = std::string("sherry/") + kern.variant + "/" +
                       std::to_string(kern.m) + "x" + std::to_string(kern.k) +
                       "/n" + std::to_string(kern.n);
    auto *b = benchmark::RegisterBenchmark(
        name.c_str(), [kern](benchmark::State &st) {
          const SherryWeights &w = weights(kern.m, kern.k);
          const Activations &a = acts(kern.n, kern.k);
          Buffer<float> out(size_t(kern.n * kern.m));
          MemRef<float, 2> x = a.ref(),
                           o = viewOf<float, 2>(out.data(), {kern.n, kern.m});
          MemRef<float, 1> s = w.scalesRef();
          MemRef<int8_t, 2> p = w.packedRef();
          const TablesVariant *tv = tablesVariant(kern.variant);
          MemRef<int8_t, 1> pt = tv ? w.tablesRef(*tv) : MemRef<int8_t, 1>{};
          for (auto _ : st) {
            if (kern.tablesFn)
              kern.tablesFn(&x, &pt, &s, &o);
            else
              kern.fn(&x, &p, &s, &o);
            benchmark::ClobberMemory();
          }
          st.SetBytesProcessed(int64_t(st.iterations()) *
                               int64_t(w.bytes(tv)));
          st.counters["weight_bytes"] = double(w.bytes(tv));
        });
    common(b);
  }
}

void registerBlas() {
  std::vector<std::tuple<int64_t, int64_t, int64_t>> shapes;
  for (const SherryKernel *kp = kSherryKernels; kp->name; ++kp) {
    auto s = std::make_tuple(kp->m, kp->k, kp->n);
    if (std::find(shapes.begin(), shapes.end(), s) == shapes.end())
      shapes.push_back(s);
  }
  for (auto [m, k, n] : shapes)
    for (int t : {1, 2}) {
      std::string name = "blas/t" + std::to_string(t) + "/" +
                         std::to_string(m) + "x" + std::to_string(k) + "/n" +
                         std::to_string(n);
      auto *b = benchmark::RegisterBenchmark(
          name.c_str(), [m = m, k = k, n = n, t](benchmark::State &st) {
            openblas_set_num_threads(t);
            const DenseWeights &w = dense(m, k);
            const Activations &a = acts(n, k);
            Buffer<float> out(size_t(n * m));
            for (auto _ : st) {
              blasCall(a.x.data(), w.w.data(), out.data(), m, k, n);
              benchmark::ClobberMemory();
            }
            st.SetBytesProcessed(int64_t(st.iterations()) *
                                 int64_t(w.w.bytes()));
          });
      common(b);
    }
}

void registerMlirF32() {
  for (const F32Kernel *kp = kF32Kernels; kp->name; ++kp) {
    const F32Kernel kern = *kp;
    std::string name = "mlirf32/t1/" + std::to_string(kern.m) + "x" +
                       std::to_string(kern.k) + "/n" + std::to_string(kern.n);
    auto *b = benchmark::RegisterBenchmark(
        name.c_str(), [kern](benchmark::State &st) {
          const DenseWeights &w = dense(kern.m, kern.k);
          const Activations &a = acts(kern.n, kern.k);
          Buffer<float> out(size_t(kern.n * kern.m));
          MemRef<float, 2> x = a.ref(),
                           wr = viewOf<float, 2>(w.w.data(), {kern.m, kern.k}),
                           o = viewOf<float, 2>(out.data(), {kern.n, kern.m});
          for (auto _ : st) {
            kern.fn(&x, &wr, &o);
            benchmark::ClobberMemory();
          }
          st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(w.w.bytes()));
        });
    common(b);
  }
}

// LLaMA-3.2-1B: 16 layers of q, k, v, o, gate, up, down.
constexpr int kLayers = 16;
constexpr int64_t kLayerShapes[7][2] = {
    {2048, 2048}, {512, 2048},  {512, 2048}, {2048, 2048},
    {8192, 2048}, {8192, 2048}, {2048, 8192}};

struct Model {
  std::vector<std::unique_ptr<SherryWeights>> mats; // layer-major
  int64_t params = 0;
};

const Model &model() {
  static Model mdl;
  if (mdl.mats.empty())
    for (int l = 0; l < kLayers; ++l)
      for (int j = 0; j < 7; ++j) {
        int64_t m = kLayerShapes[j][0], k = kLayerShapes[j][1];
        mdl.mats.push_back(
            std::make_unique<SherryWeights>(m, k, uint64_t(1000 + 7 * l + j)));
        mdl.params += m * k;
      }
  return mdl;
}

/// The operands of one layer's 7 matmuls: the activations of q/k/v, o,
/// gate/up and down, then per matrix its packed bytes, scales and output.
struct LayerOperands {
  MemRef<float, 2> *in[4];
  MemRef<int8_t, 2> *packed[7];
  MemRef<float, 1> *scales[7];
  MemRef<float, 2> *out[7];
};
/// Runs one layer of the decode step.
using LayerStep = std::function<void(const LayerOperands &)>;

/// Which of LayerOperands::in matrix j (q, k, v, o, gate, up, down) reads.
constexpr int kLayerInput[7] = {0, 0, 0, 1, 2, 2, 3};

/// Every matrix's bytes in the tables layout of `tv`, back to back in one
/// buffer (64-byte aligned, layer-major), as a loader holds a model read
/// from one weights file, as the compiled-in weights are one block of the
/// executable.
struct TablesModel {
  Buffer<int8_t> bytes;
  std::vector<MemRef<int8_t, 1>> refs;

  explicit TablesModel(const TablesVariant &tv) {
    std::vector<size_t> offsets;
    size_t total = 0;
    for (auto &w : model().mats) {
      offsets.push_back(total);
      total += (w->tables(tv).count + 63) / 64 * 64;
    }
    bytes = Buffer<int8_t>(total);
    for (size_t i = 0; i < offsets.size(); ++i) {
      const Buffer<int8_t> &t = model().mats[i]->tables(tv);
      std::memcpy(bytes.data() + offsets[i], t.data(), t.count);
      refs.push_back(
          viewOf<int8_t, 1>(bytes.data() + offsets[i], {int64_t(t.count)}));
    }
  }
};

/// The decode step of each variant, one LayerStep per layer: the variant's
/// kernel per shape for <sherry, row> weights passed as arguments, one
/// layer function on every layer's weights for those passed in the tables
/// layout (kTablesLayerKernels), a function per layer for variants with
/// their weights compiled in (kLayerKernels).
std::map<std::string, std::vector<LayerStep>> decodeFunctions() {
  std::map<std::string, std::vector<LayerStep>> out;
  std::map<std::string, std::vector<LayerFn>> compiledIn;
  for (const LayerKernel *lp = kLayerKernels; lp->name; ++lp) {
    auto &v = compiledIn[lp->variant];
    v.resize(kLayers);
    v[lp->layer] = lp->fn;
  }
  for (const TablesLayerKernel *lp = kTablesLayerKernels; lp->name; ++lp) {
    auto model = std::make_shared<TablesModel>(*tablesVariant(lp->variant));
    std::vector<LayerStep> steps;
    for (int l = 0; l < kLayers; ++l)
      steps.push_back([fn = lp->fn, model, l](const LayerOperands &o) {
        MemRef<int8_t, 1> *w = model->refs.data() + l * 7;
        fn(o.in[0], o.in[1], o.in[2], o.in[3], w, w + 1, w + 2, w + 3, w + 4,
           w + 5, w + 6, o.scales[0], o.scales[1], o.scales[2], o.scales[3],
           o.scales[4], o.scales[5], o.scales[6], o.out[0], o.out[1],
           o.out[2], o.out[3], o.out[4], o.out[5], o.out[6]);
      });
    out[lp->variant] = steps;
  }
  std::map<std::string, std::map<std::pair<int64_t, int64_t>, SherryFn>> fns;
  for (const char *const *v = kCompiledInVariants; *v; ++v)
    compiledIn[*v];
  for (const SherryKernel *kp = kSherryKernels; kp->name; ++kp)
    if (kp->n == 1 && kp->fn && !compiledIn.count(kp->variant))
      fns[kp->variant][{kp->m, kp->k}] = kp->fn;
  for (auto &[variant, byShape] : fns) {
    std::vector<SherryFn> mats;
    for (auto &s : kLayerShapes) {
      auto it = byShape.find({s[0], s[1]});
      if (it == byShape.end())
        break;
      mats.push_back(it->second);
    }
    if (mats.size() != 7)
      continue;
    LayerStep step = [mats](const LayerOperands &o) {
      for (int j = 0; j < 7; ++j)
        mats[j](o.in[kLayerInput[j]], o.packed[j], o.scales[j], o.out[j]);
    };
    out[variant] = std::vector<LayerStep>(kLayers, step);
  }
  for (auto &[variant, fns] : compiledIn) {
    if (fns.empty() || std::count(fns.begin(), fns.end(), nullptr))
      continue;
    std::vector<LayerStep> steps;
    for (LayerFn fn : fns)
      steps.push_back([fn](const LayerOperands &o) {
        fn(o.in[0], o.in[1], o.in[2], o.in[3], o.scales[0], o.scales[1],
           o.scales[2], o.scales[3], o.scales[4], o.scales[5], o.scales[6],
           o.out[0], o.out[1], o.out[2], o.out[3], o.out[4], o.out[5],
           o.out[6]);
      });
    out[variant] = steps;
  }
  return out;
}

/// The buffers of one decode step: activations (the same ones for every
/// layer), every matrix's weights and one output per matrix of a layer (the
/// same ones for every layer). Siblings run at once on different threads,
/// so they must not share an output: gate and up writing one buffer made
/// both threads update the same cache lines, as no model does.
struct DecodeBuffers {
  const Activations &x2 = acts(1, 2048), &x8 = acts(1, 8192);
  MemRef<float, 2> in2 = x2.ref(), in8 = x8.ref();
  Buffer<float> ys[7];
  MemRef<float, 2> outs[7];
  std::vector<MemRef<int8_t, 2>> ps;
  std::vector<MemRef<float, 1>> ss;

  DecodeBuffers() {
    for (int j = 0; j < 7; ++j) {
      ys[j] = Buffer<float>(size_t(kLayerShapes[j][0]));
      outs[j] = viewOf<float, 2>(ys[j].data(), {1, kLayerShapes[j][0]});
    }
    for (auto &w : model().mats) {
      ps.push_back(w->packedRef());
      ss.push_back(w->scalesRef());
    }
  }
  /// Layer `l`'s operands writing into `outs` (7 outputs).
  LayerOperands layer(int l, MemRef<float, 2> *const outs[7]) {
    LayerOperands o{{&in2, &in2, &in2, &in8}, {}, {}, {}};
    for (int j = 0; j < 7; ++j) {
      o.packed[j] = &ps[l * 7 + j];
      o.scales[j] = &ss[l * 7 + j];
      o.out[j] = outs[j];
    }
    return o;
  }
  /// Layer `l`'s operands writing into the step's outputs.
  LayerOperands layer(int l) {
    MemRef<float, 2> *refs[7];
    for (int j = 0; j < 7; ++j)
      refs[j] = &outs[j];
    return layer(l, refs);
  }
};

/// Threads of each variant's kernels.
std::map<std::string, int> variantThreads() {
  std::map<std::string, int> threads;
  for (const SherryKernel *kp = kSherryKernels; kp->name; ++kp)
    threads[kp->variant] = kp->threads;
  return threads;
}

/// Each iteration reads the 512 MiB buffer of the bw family on the
/// variant's threads, then runs one decode step; only the step is timed
/// (manual time). Counters: the read bandwidth of the iterations' reads
/// and the step's weight bytes per second as a share of it, both taken
/// seconds apart under the same load (this machine is shared).
void registerDecode() {
  std::map<std::string, int> threads = variantThreads();
  for (auto &entry : decodeFunctions()) {
    const std::string &variant = entry.first;
    std::vector<LayerStep> lf = entry.second;
    std::string name = "decode/" + variant;
    int t = threads.count(variant) ? threads[variant] : 1;
    const TablesVariant *tv = tablesVariant(variant);
    auto *b = benchmark::RegisterBenchmark(
        name.c_str(), [lf, t, tv](benchmark::State &st) {
          const Model &mdl = model();
          size_t weightBytes = 0;
          for (auto &w : mdl.mats)
            weightBytes += w->bytes(tv);
          DecodeBuffers bufs;
          std::vector<LayerOperands> ops;
          for (int l = 0; l < kLayers; ++l)
            ops.push_back(bufs.layer(l));
          auto step = [&] {
            for (int l = 0; l < kLayers; ++l)
              lf[l](ops[l]);
            benchmark::ClobberMemory();
          };
          const char *dram = readBuffer(kDramBytes);
          using Clock = std::chrono::steady_clock;
          double readSeconds = 0, stepSeconds = 0;
          for (auto _ : st) {
            Clock::time_point t0 = Clock::now();
            benchmark::DoNotOptimize(readParallel(dram, kDramBytes, t));
            Clock::time_point t1 = Clock::now();
            // An untimed step first: the read evicts the page tables of
            // the weights too, which a step after a step finds cached.
            step();
            Clock::time_point t2 = Clock::now();
            step();
            Clock::time_point t3 = Clock::now();
            double seconds = std::chrono::duration<double>(t3 - t2).count();
            st.SetIterationTime(seconds);
            readSeconds += std::chrono::duration<double>(t1 - t0).count();
            stepSeconds += seconds;
          }
          double iters = double(st.iterations());
          st.SetBytesProcessed(int64_t(st.iterations()) *
                               int64_t(weightBytes));
          st.counters["weight_bytes"] = double(weightBytes);
          st.counters["params"] = double(mdl.params);
          if (readSeconds > 0 && stepSeconds > 0) {
            double readRate = iters * double(kDramBytes) / readSeconds;
            st.counters["read_bytes_per_second"] = readRate;
            st.counters["read_share"] =
                iters * double(weightBytes) / stepSeconds / readRate;
          }
        });
    common(b, /*manual=*/true);
  }
}

bool runChecks(const std::string &family) {
  int ok = 0, total = 0;
  if (family == "sherry") {
    for (const SherryKernel *kp = kSherryKernels; kp->name; ++kp) {
      ++total;
      ok += checkSherry(*kp);
    }
  } else if (family == "decode") {
    // Every matrix of the step as it runs, against its own weights: each
    // layer into 7 zeroed outputs of its own.
    const Model &mdl = model();
    DecodeBuffers bufs;
    for (auto &[variant, lf] : decodeFunctions())
      for (int l = 0; l < kLayers; ++l) {
        Buffer<float> ys[7];
        MemRef<float, 2> refs[7], *outs[7];
        for (int j = 0; j < 7; ++j) {
          ys[j] = Buffer<float>(size_t(kLayerShapes[j][0]));
          refs[j] = viewOf<float, 2>(ys[j].data(), {1, kLayerShapes[j][0]});
          outs[j] = &refs[j];
        }
        lf[l](bufs.layer(l, outs));
        for (int j = 0; j < 7; ++j) {
          std::string name = "decode/" + variant + "/" + std::to_string(l) +
                             "/" + std::to_string(j);
          ++total;
          ok += checkSherryOutput(name.c_str(), ys[j].data(),
                                  *mdl.mats[l * 7 + j], 1);
        }
      }
  } else if (family == "mlirf32") {
    for (const F32Kernel *kp = kF32Kernels; kp->name; ++kp) {
      Buffer<float> out(size_t(kp->n * kp->m));
      MemRef<float, 2> x = acts(kp->n, kp->k).ref(),
                       w = viewOf<float, 2>(dense(kp->m, kp->k).w.data(),
                                            {kp->m, kp->k}),
                       o = viewOf<float, 2>(out.data(), {kp->n, kp->m});
      kp->fn(&x, &w, &o);
      ++total;
      ok += checkF32(kp->name, out.data(), kp->m, kp->k, kp->n);
    }
  } else if (family == "blas") {
    for (const SherryKernel *kp = kSherryKernels; kp->name; ++kp) {
      if (std::string(kp->variant) != kSherryKernels[0].variant)
        continue;
      Buffer<float> out(size_t(kp->n * kp->m));
      blasCall(acts(kp->n, kp->k).x.data(), dense(kp->m, kp->k).w.data(),
               out.data(), kp->m, kp->k, kp->n);
      ++total;
      ok += checkF32("openblas", out.data(), kp->m, kp->k, kp->n);
    }
  }
  std::string summary = std::to_string(ok) + "/" + std::to_string(total);
  benchmark::AddCustomContext("checks_passed", summary);
  std::fprintf(stderr, "sherry-bench: %s: %s kernels match the reference\n",
               family.c_str(), summary.c_str());
  return ok == total;
}

} // namespace

int main(int argc, char **argv) {
  std::string family;
  std::vector<char *> rest;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char *flag) -> const char * {
      size_t l = std::strlen(flag);
      return a.compare(0, l, flag) == 0 ? argv[i] + l : nullptr;
    };
    if (const char *v = value("--family="))
      family = v;
    else if (const char *v = value("--min-time="))
      gSettings.minTime = std::atof(v);
    else if (const char *v = value("--reps="))
      gSettings.reps = std::atoi(v);
    else if (a == "--smoke")
      gSettings.smoke = true;
    else
      rest.push_back(argv[i]);
  }
  if (family != "bw" && family != "sherry" && family != "blas" &&
      family != "mlirf32" && family != "decode") {
    std::fprintf(stderr,
                 "usage: sherry-bench --family=bw|sherry|blas|mlirf32|decode "
                 "[--min-time=S] [--reps=R] [--smoke] [benchmark flags]\n");
    return 2;
  }
  int rc = int(rest.size());
  benchmark::Initialize(&rc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rc, rest.data()))
    return 2;
  benchmark::AddCustomContext("family", family);
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::AddCustomContext("min_time_s", std::to_string(gSettings.minTime));
  if (!runChecks(family))
    return 1;
  if (family == "bw")
    registerBandwidth();
  else if (family == "sherry")
    registerSherry();
  else if (family == "blas")
    registerBlas();
  else if (family == "mlirf32")
    registerMlirF32();
  else
    registerDecode();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
