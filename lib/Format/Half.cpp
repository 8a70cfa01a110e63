//===- Half.cpp - IEEE binary16 conversions -------------------------------===//

#include "sherry/Format/Half.h"

#include <cstring>

namespace sherry::format {

uint16_t floatToHalf(float f) {
  // Inf and NaN keep their class; NaN stays quiet and non-zero.
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xFFu;
  uint32_t man = x & 0x7FFFFFu;
  if (exp == 0xFF)
    return uint16_t(sign | 0x7C00u | (man ? 0x200u | (man >> 13) : 0));
  int32_t e = int32_t(exp) - 127 + 15;
  if (e >= 31)
    return uint16_t(sign | 0x7C00u);
  if (e <= 0) {
    // A subnormal half: shift the full mantissa, rounding to nearest even.
    if (e < -10)
      return uint16_t(sign);
    uint32_t m = man | 0x800000u;
    uint32_t shift = uint32_t(14 - e);
    uint32_t half = m >> shift;
    uint32_t rest = m & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rest > mid || (rest == mid && (half & 1)))
      ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = (uint32_t(e) << 10) | (man >> 13);
  uint32_t rest = man & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1)))
    ++half; // May carry into the exponent, up to Inf: still correct.
  return uint16_t(sign | half);
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  uint32_t x;
  if (exp == 0) {
    if (man == 0) {
      x = sign;
    } else {
      // Normalize the subnormal.
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400u));
      x = sign | (uint32_t(127 - 15 - e) << 23) | ((man & 0x3FFu) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7F800000u | (man << 13);
  } else {
    x = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

} // namespace sherry::format
