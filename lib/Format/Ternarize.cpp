//===- Ternarize.cpp - The exact L2 projection onto the format ------------===//

#include "sherry/Format/Format.h"

#include <cmath>
#include <string>

namespace sherry::format {

Result<TernaryMatrix> ternarize(const float *weights, int64_t rows,
                                int64_t cols, Layout layout,
                                const ScaleSpec &spec) {
  if (Status s = checkShape(layout, rows, cols); !s.ok())
    return s;
  if (Status s = checkScaleSpec(spec, cols); !s.ok())
    return s;
  if (!weights)
    return Result<TernaryMatrix>::error("no weights given (null pointer)");
  for (int64_t i = 0; i < rows * cols; ++i)
    if (!std::isfinite(weights[i]))
      return Result<TernaryMatrix>::error(
          std::string(std::isnan(weights[i]) ? "NaN" : "infinite") +
          " weight at row " + std::to_string(i / cols) + ", column " +
          std::to_string(i % cols));

  TernaryMatrix t;
  t.rows = rows;
  t.cols = cols;
  t.layout = layout;
  t.scaleSpec = spec;
  t.values.assign(rows * cols, 0);
  int64_t nScales = numScales(spec, rows, cols);
  std::vector<double> sums(nScales, 0.0);
  std::vector<int64_t> counts(nScales, 0);

  for (int64_t m = 0; m < rows; ++m) {
    const float *w = weights + m * cols;
    int8_t *out = t.values.data() + m * cols;
    for (int64_t g = 0; g < cols / 4; ++g) {
      std::array<int64_t, 4> ks = groupElements(layout, g);
      // The smallest |w| becomes the zero; strict < keeps the lowest lane on
      // ties.
      int zero = 0;
      for (int p = 1; p < 4; ++p)
        if (std::fabs(w[ks[p]]) < std::fabs(w[ks[zero]]))
          zero = p;
      for (int p = 0; p < 4; ++p) {
        int64_t k = ks[p];
        if (p == zero)
          continue;
        out[k] = w[k] < 0 ? -1 : 1;
        int64_t s = scaleIndex(spec, rows, cols, m, k);
        sums[s] += std::fabs(double(w[k]));
        ++counts[s];
      }
    }
  }
  t.scales.resize(nScales);
  for (int64_t s = 0; s < nScales; ++s)
    t.scales[s] = counts[s] ? float(sums[s] / double(counts[s])) : 0.0f;
  return t;
}

std::vector<float> dequantize(const TernaryMatrix &matrix) {
  std::vector<float> w(matrix.rows * matrix.cols);
  for (int64_t m = 0; m < matrix.rows; ++m)
    for (int64_t k = 0; k < matrix.cols; ++k)
      w[m * matrix.cols + k] = matrix.scaleAt(m, k) * float(matrix.at(m, k));
  return w;
}

double projectionError2(const float *weights, const TernaryMatrix &matrix) {
  double err = 0.0;
  for (int64_t m = 0; m < matrix.rows; ++m)
    for (int64_t k = 0; k < matrix.cols; ++k) {
      double d = double(weights[m * matrix.cols + k]) -
                 double(matrix.scaleAt(m, k)) * double(matrix.at(m, k));
      err += d * d;
    }
  return err;
}

} // namespace sherry::format
