//===- Half.h - IEEE binary16 conversions -----------------------*- C++ -*-===//

#ifndef SHERRY_FORMAT_HALF_H
#define SHERRY_FORMAT_HALF_H

#include <cstdint>

namespace sherry::format {

/// IEEE half from float, round to nearest even (as F16C / FCVT do);
/// overflow gives Inf, NaN stays NaN.
uint16_t floatToHalf(float f);
/// IEEE half to float (exact).
float halfToFloat(uint16_t h);

} // namespace sherry::format

#endif // SHERRY_FORMAT_HALF_H
