//===- checker_support.h - Calling sherry-compile's functions from C++ ----===//
//
// What the checkers that call a sherry-compile object share (checker.cpp
// here, utils/difftest_checker.cpp): the operands of a call, copying a
// returned memref out, and descriptors of contiguous buffers. Include it
// after the header sherry-compile wrote (its memref descriptor types).
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_TEST_CHECKER_SUPPORT_H
#define SHERRY_TEST_CHECKER_SUPPORT_H

#include "sherry/Format/Format.h"
#include "sherry/Format/Half.h"

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <vector>

namespace checker {

/// The operands of one call, row-major and contiguous.
struct CaseData {
  float *x;
  uint8_t *w;
  void *s; // f32 scales, or f16 bit patterns
  float *b;
  float *acc;
};

/// The result of one call, copied out of the returned buffer.
struct Output {
  int64_t rows = -1, cols = -1;
  std::vector<float> values;

  void take(sherry_memref_f32_2d &y) {
    rows = y.sizes[0];
    cols = y.sizes[1];
    values.resize(rows * cols);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        values[i * cols + j] =
            y.aligned[y.offset + i * y.strides[0] + j * y.strides[1]];
    std::free(y.allocated);
  }
};

/// A descriptor of a contiguous row-major buffer of shape `sizes`.
template <typename Desc>
Desc view(void *data, std::initializer_list<int64_t> sizes) {
  Desc d;
  d.allocated = d.aligned = static_cast<decltype(d.aligned)>(data);
  d.offset = 0;
  int64_t rank = 0;
  for (int64_t size : sizes)
    d.sizes[rank++] = size;
  int64_t stride = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    d.strides[i] = stride;
    stride *= d.sizes[i];
  }
  return d;
}

/// Calls `run` (a case's generated call) on `packed`, with its scales as
/// f16 bit patterns where `halfScales` (as the kernel reads them), on copies
/// of `x` and `acc` (the call may write them), and returns what it computed.
template <typename RunFn>
Output callPacked(RunFn run, const std::vector<float> &x,
                  sherry::format::PackedWeights &packed, bool halfScales,
                  std::vector<float> &bias, const std::vector<float> &acc) {
  std::vector<uint16_t> halves;
  for (float s : packed.scales)
    halves.push_back(sherry::format::floatToHalf(s));
  std::vector<float> xCopy = x, accCopy = acc;
  CaseData data{xCopy.data(), packed.data.data(),
                halfScales ? static_cast<void *>(halves.data())
                           : static_cast<void *>(packed.scales.data()),
                bias.data(), accCopy.data()};
  Output out;
  run(data, out);
  return out;
}

} // namespace checker

#endif // SHERRY_TEST_CHECKER_SUPPORT_H
