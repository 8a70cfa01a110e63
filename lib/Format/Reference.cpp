//===- Reference.cpp - The reference matmuls (the kernels' oracle) --------===//

#include "sherry/Format/Format.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sherry::format {

namespace {

Status checkActivations(const float *x, int64_t n, int64_t k) {
  if (n <= 0)
    return Status::error("N = " + std::to_string(n) +
                         ": activations need at least one row");
  if (!x)
    return Status::error("no activations given (null pointer)");
  for (int64_t i = 0; i < n * k; ++i)
    if (!std::isfinite(x[i]))
      return Status::error(std::string(std::isnan(x[i]) ? "NaN" : "infinite") +
                           " activation at row " + std::to_string(i / k) +
                           ", column " + std::to_string(i % k));
  return Status::success();
}

} // namespace

Result<std::vector<float>> matmulExact(const float *x, int64_t n,
                                       const TernaryMatrix &w) {
  if (Status s = w.verify(); !s.ok())
    return s;
  if (Status s = checkActivations(x, n, w.cols); !s.ok())
    return s;
  std::vector<float> y(n * w.rows);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t m = 0; m < w.rows; ++m) {
      double acc = 0.0;
      for (int64_t k = 0; k < w.cols; ++k)
        if (int8_t t = w.at(m, k))
          acc +=
              double(t) * double(w.scaleAt(m, k)) * double(x[i * w.cols + k]);
      y[i * w.rows + m] = float(acc);
    }
  return y;
}

Result<QuantizedActivations> quantizeActivations(const float *x, int64_t rows,
                                                 int64_t cols,
                                                 int64_t blockSize) {
  if (cols <= 0)
    return Result<QuantizedActivations>::error(
        "K = " + std::to_string(cols) + ": activations need a positive K");
  if (blockSize == 0)
    blockSize = cols;
  if (blockSize < 0 || cols % blockSize != 0)
    return Result<QuantizedActivations>::error(
        "activation block size " + std::to_string(blockSize) +
        " does not divide K = " + std::to_string(cols));
  if (Status s = checkActivations(x, rows, cols); !s.ok())
    return s;

  QuantizedActivations q;
  q.rows = rows;
  q.cols = cols;
  q.blockSize = blockSize;
  q.values.resize(rows * cols);
  int64_t blocks = cols / blockSize;
  q.scales.resize(rows * blocks);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < blocks; ++b) {
      const float *in = x + r * cols + b * blockSize;
      int8_t *out = q.values.data() + r * cols + b * blockSize;
      float absmax = 0.0f;
      for (int64_t i = 0; i < blockSize; ++i)
        absmax = std::max(absmax, std::fabs(in[i]));
      // All zero, or so small (below 127 / FLT_MAX, about 3.7e-37) that
      // 127 / absmax overflows: the block counts as zero.
      float mult = 127.0f / absmax;
      if (std::isinf(mult)) {
        q.scales[r * blocks + b] = 0.0f;
        std::fill(out, out + blockSize, int8_t(0));
        continue;
      }
      q.scales[r * blocks + b] = absmax / 127.0f;
      for (int64_t i = 0; i < blockSize; ++i) {
        // nearbyint rounds half to even in the default rounding mode, as
        // vcvtps2dq and fcvtns do.
        float v = std::nearbyint(in[i] * mult);
        out[i] = int8_t(std::clamp(v, -127.0f, 127.0f));
      }
    }
  return q;
}

Result<std::vector<float>> matmulInt8(const QuantizedActivations &x,
                                      const TernaryMatrix &w) {
  if (Status s = w.verify(); !s.ok())
    return s;
  if (x.cols != w.cols)
    return Result<std::vector<float>>::error(
        "activations have K = " + std::to_string(x.cols) +
        " but the weights have K = " + std::to_string(w.cols));
  if (x.rows <= 0 || x.blockSize <= 0 || x.cols % x.blockSize != 0 ||
      int64_t(x.values.size()) != x.rows * x.cols ||
      int64_t(x.scales.size()) != x.rows * (x.cols / x.blockSize))
    return Result<std::vector<float>>::error(
        "quantized activations are inconsistent: sizes do not match their "
        "shape and block size");

  // Segment boundaries: every start of a weight-scale region and of an
  // activation block.
  int64_t k = w.cols;
  int64_t wStep =
      w.scaleSpec.granularity == Granularity::Group ? w.scaleSpec.groupSize : k;
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < k; ++i)
    if (i % wStep == 0 || i % x.blockSize == 0)
      starts.push_back(i);
  starts.push_back(k);

  int64_t blocks = x.cols / x.blockSize;
  std::vector<float> y(x.rows * w.rows);
  for (int64_t n = 0; n < x.rows; ++n)
    for (int64_t m = 0; m < w.rows; ++m) {
      float acc = 0.0f;
      for (size_t s = 0; s + 1 < starts.size(); ++s) {
        int32_t isum = 0;
        for (int64_t i = starts[s]; i < starts[s + 1]; ++i)
          isum += int32_t(x.values[n * k + i]) * int32_t(w.at(m, i));
        float alpha = w.scaleAt(m, starts[s]);
        float xs = x.scales[n * blocks + starts[s] / x.blockSize];
        // One operation per statement: no FMA contraction may change the
        // documented rounding.
        float term = float(isum) * alpha;
        term = term * xs;
        acc = acc + term;
      }
      y[n * w.rows + m] = acc;
    }
  return y;
}

Result<std::vector<float>> matmulInt8(const float *x, int64_t n,
                                      const TernaryMatrix &w,
                                      int64_t actBlockSize) {
  Result<QuantizedActivations> q =
      quantizeActivations(x, n, w.cols, actBlockSize);
  if (!q.ok())
    return q.getStatus();
  return matmulInt8(*q, w);
}

} // namespace sherry::format
