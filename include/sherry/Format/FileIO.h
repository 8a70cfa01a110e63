//===- FileIO.h - .npy arrays and packed Sherry weight files ----*- C++ -*-===//
//
// Readers and writers for the files `sherry-pack` and the Python package
// exchange. Readers take arbitrary bytes (they are fuzzed): a malformed or
// truncated file is an error with a message, never a crash.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_FORMAT_FILEIO_H
#define SHERRY_FORMAT_FILEIO_H

#include "sherry/Format/Format.h"
#include "sherry/Format/Half.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sherry::format {

/// Element types of .npy arrays the tools read and write.
enum class NpyDType { F32, F16, I8 };

/// A numeric array of any rank (the tools use 1-D and 2-D).
struct NpyArray {
  NpyDType dtype = NpyDType::F32;
  std::vector<int64_t> shape;
  /// Little-endian element bytes in C order.
  std::vector<uint8_t> bytes;

  int64_t numElements() const;
  /// Elements widened to f32 (f16 converted exactly).
  std::vector<float> toFloat() const;
};

/// Parses a .npy (format version 1.0, 2.0 or 3.0) from memory. Accepts
/// '<f4', '<f2', '|i1' (and '<i1'), C order only; the data must be exactly
/// what the shape needs.
Result<NpyArray> parseNpy(const uint8_t *data, size_t size);
Result<NpyArray> readNpy(const std::string &path);
/// The bytes np.save writes for the same array (format 1.0, or 2.0 for a
/// header over 64 KiB).
std::vector<uint8_t> serializeNpy(const NpyArray &array);
Status writeNpy(const std::string &path, const NpyArray &array);
NpyArray makeNpyF32(std::vector<int64_t> shape, const std::vector<float> &v);
/// Rounds each value to f16 (nearest even).
NpyArray makeNpyF16(std::vector<int64_t> shape, const std::vector<float> &v);
NpyArray makeNpyI8(std::vector<int64_t> shape, const std::vector<int8_t> &v);

/// The packed weight file (".sherry"), all integers little endian:
///   0  char[8]  magic "SHERRYW\0"
///   8  u32      version (1)
///  12  u32      layout (0 = sherry, 1 = stq1_0)
///  16  u32      granularity (0 = tensor, 1 = row, 2 = group)
///  20  u32      reserved (0)
///  24  i64      rows M
///  32  i64      cols K
///  40  i64      group size G (0 unless granularity == group)
///  48  u64      data byte count
///  56  u64      scale count (f32 each)
///  64  data bytes, then scales as f32
/// The total size must be exactly 64 + data + 4 * scales.
Result<PackedWeights> parsePackedFile(const uint8_t *data, size_t size);
Result<PackedWeights> readPackedFile(const std::string &path);
std::vector<uint8_t> serializePackedFile(const PackedWeights &packed);
Status writePackedFile(const std::string &path, const PackedWeights &packed);

/// Reads a whole file; the error names the path and the reason.
Result<std::vector<uint8_t>> readFileBytes(const std::string &path);
Status writeFileBytes(const std::string &path, const std::vector<uint8_t> &b);

} // namespace sherry::format

#endif // SHERRY_FORMAT_FILEIO_H
