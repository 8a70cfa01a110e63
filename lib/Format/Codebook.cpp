//===- Codebook.cpp - The 5-bit group code --------------------------------===//

#include "sherry/Format/Format.h"

#include <string>

namespace sherry::format {

const std::array<uint8_t, 32> kCodebook = {
    0xA9, 0x89, 0x29, 0x09, 0xA6, 0x86, 0x26, 0x06, 0x9A, 0x92, 0x1A,
    0x12, 0x6A, 0x62, 0x4A, 0x42, 0x01, 0x21, 0x81, 0xA1, 0x04, 0x24,
    0x84, 0xA4, 0x10, 0x18, 0x90, 0x98, 0x40, 0x48, 0x60, 0x68};

Result<uint8_t> encodeGroup(const Group &group) {
  int zeros = 0, zeroLane = -1;
  for (int p = 0; p < 4; ++p) {
    if (group[p] < -1 || group[p] > 1)
      return Result<uint8_t>::error("lane " + std::to_string(p) + " holds " +
                                    std::to_string(group[p]) +
                                    ", not a ternary value");
    if (group[p] == 0) {
      ++zeros;
      zeroLane = p;
    }
  }
  if (zeros != 1)
    return Result<uint8_t>::error(
        "a group must hold exactly one zero, this one holds " +
        std::to_string(zeros));
  int nz[3], n = 0;
  for (int p = 0; p < 4; ++p)
    if (p != zeroLane)
      nz[n++] = p;
  unsigned sign = group[nz[0]] < 0;
  unsigned b0 = group[nz[1]] != group[nz[0]];
  unsigned b1 = group[nz[2]] != group[nz[0]];
  unsigned slot = (unsigned(zeroLane) << 2) | (b1 << 1) | b0;
  return uint8_t((sign << 4) | slot);
}

Result<Group> decodeGroup(uint8_t code) {
  if (code > 31)
    return Result<Group>::error("code " + std::to_string(code) +
                                " is not a 5-bit group code");
  Group g;
  for (int p = 0; p < 4; ++p)
    g[p] = int8_t(((kCodebook[code] >> (2 * p)) & 3) - 1);
  return g;
}

} // namespace sherry::format
