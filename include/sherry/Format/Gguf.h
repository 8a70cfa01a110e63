//===- Gguf.h - GGUF files: llama.cpp interchange ---------------*- C++ -*-===//
//
// Reads and writes GGUF (version 2 and 3, little endian) files, the container
// of llama.cpp, so that published STQ1_0 models can be compiled and packed
// weights can go back to llama.cpp. Everything in a file is kept: the
// metadata (every value type, in file order) and every tensor's bytes, so a
// parse followed by a serialize gives the same bytes for any file laid out as
// llama.cpp and gguf-py write them (tensors in info order, each padded to the
// alignment with zeros).
//
// The parser takes arbitrary bytes (it is fuzzed): every count, length, size
// and offset is checked against the bytes that remain before anything is
// allocated, with arithmetic that cannot overflow; a malformed file is an
// error with a message, never a crash.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_FORMAT_GGUF_H
#define SHERRY_FORMAT_GGUF_H

#include "sherry/Format/Format.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sherry::format {

/// The ggml type id of STQ1_0 tensors. STQ1_0 is not in upstream ggml; the
/// GGUF files published with it (Tencent's AngelSlim 1.25-bit models) were
/// written by an early revision of llama.cpp PR #22836, which numbered it 42.
/// Upstream has since given 42 to Q2_0 and the rebased PR uses 43, so the id
/// is an option (GgufOptions::stq1Type, `--stq1_0-type`, `stq1_0_type=`);
/// this constant is the default and the only place it is spelled.
constexpr uint32_t kGgmlTypeStq1_0 = 42;

/// ggml type ids of the tensors that convert to and from floats.
constexpr uint32_t kGgmlTypeF32 = 0;
constexpr uint32_t kGgmlTypeF16 = 1;
constexpr uint32_t kGgmlTypeBF16 = 30;

/// The default of `general.alignment`.
constexpr uint64_t kGgufDefaultAlignment = 32;
/// The largest `general.alignment` accepted: a 2 MiB huge page, the most a
/// loader that maps tensors could want. ggml asks only for a power of two;
/// without a bound, a 109-byte file made the writer pad its header to
/// 2 GiB.
constexpr uint64_t kGgufMaxAlignment = uint64_t(1) << 21;

struct GgufOptions {
  /// Which ggml type id means STQ1_0 (it must not be a known upstream type).
  uint32_t stq1Type = kGgmlTypeStq1_0;
};

/// Block geometry of a ggml tensor type.
struct GgmlTypeInfo {
  std::string_view name; ///< as ggml spells it: "f32", "q4_K", "stq1_0"
  int64_t blockSize = 1; ///< elements per block (ne[0] % blockSize == 0)
  int64_t typeSize = 4;  ///< bytes per block
};

/// The geometry of a ggml type id: the upstream types (F32 .. Q1_0) and
/// STQ1_0 under `options.stq1Type`. Fails on an unknown id, and when
/// `options.stq1Type` names an upstream type.
Result<GgmlTypeInfo> ggmlTypeInfo(uint32_t type, const GgufOptions &options);

/// Where a ggml that postdates the STQ1_0 files gives `stq1Type`, the
/// STQ1_0 type id in use, to a type of its own: what that type is, in a
/// phrase that follows "type id N is" (its name, since when, its geometry;
/// e.g. the default 42 is upstream's Q2_0 since July 2026); empty
/// otherwise. Such a file reads as STQ1_0 here and as the other type there.
std::string stq1TypeCollision(uint32_t stq1Type);

/// GGUF metadata value types (values as in the file).
enum class GgufType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

/// "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string",
/// "array", "u64", "i64", "f64".
std::string_view ggufTypeName(GgufType type);
/// Bytes of a scalar type; 0 for String and Array.
size_t ggufScalarSize(GgufType type);

/// One metadata value. Scalars keep their exact bits (a float's NaN payload,
/// a bool byte), so values round-trip bit for bit.
struct GgufValue {
  GgufType type = GgufType::UInt32;
  /// Scalar: the little-endian value, zero-extended to 64 bits.
  uint64_t bits = 0;
  /// String.
  std::string string;
  /// Array: the element type and the elements, in one of the three vectors
  /// below according to it.
  GgufType elementType = GgufType::UInt8;
  /// Array of scalars: count * ggufScalarSize(elementType) bytes, as stored.
  std::vector<uint8_t> raw;
  /// Array of strings.
  std::vector<std::string> strings;
  /// Array of arrays.
  std::vector<GgufValue> arrays;

  /// Elements of an array (0 for a scalar or a string).
  uint64_t size() const;

  static GgufValue scalar(GgufType type, uint64_t bits);
  static GgufValue u32(uint32_t v) { return scalar(GgufType::UInt32, v); }
  static GgufValue u64(uint64_t v) { return scalar(GgufType::UInt64, v); }
  static GgufValue i32(int32_t v);
  static GgufValue i64(int64_t v);
  static GgufValue f32(float v);
  static GgufValue f64(double v);
  static GgufValue boolean(bool v) { return scalar(GgufType::Bool, v); }
  static GgufValue str(std::string v);
  /// Array of scalars from their little-endian bytes.
  static GgufValue scalarArray(GgufType elementType, std::vector<uint8_t> raw);
  static GgufValue stringArray(std::vector<std::string> strings);
  static GgufValue arrayArray(std::vector<GgufValue> arrays);

  /// An unsigned or non-negative signed integer scalar, widened; fails on
  /// other types and negative values.
  Result<uint64_t> asUnsigned() const;
  /// Human-readable text: `u32 7`, `string "llama"`, `array[u8] (3) [1, 2,
  /// 3]` with at most `maxElements` array elements shown.
  std::string toString(size_t maxElements = 8) const;

  bool operator==(const GgufValue &o) const;
  bool operator!=(const GgufValue &o) const { return !(*this == o); }
};

/// One value as GGUF encodes it after a key: u32 value type, then the value.
/// The C API hands metadata across in this form.
std::vector<uint8_t> serializeGgufValue(const GgufValue &value);
/// Parses exactly one encoded value (all of `size`), with the checks of
/// parseGguf().
Result<GgufValue> parseGgufValue(const uint8_t *data, size_t size);

/// One tensor: its info and its bytes (without padding).
struct GgufTensor {
  std::string name;
  /// As GGUF lists them: innermost (contiguous) first, so an M x K row-major
  /// matrix is {K, M}.
  std::vector<uint64_t> dims;
  uint32_t type = kGgmlTypeF32;
  std::vector<uint8_t> data;

  /// Product of the dims (1 for no dims).
  uint64_t numElements() const;
};

/// The bytes a tensor's data must have for its dims and type; fails on
/// what parseGguf() refuses (over 4 dims, an element count beyond int64, an
/// unknown type, ne[0] not a multiple of the type's block).
Result<uint64_t> tensorDataSize(const GgufTensor &tensor,
                                const GgufOptions &options = {});

/// A whole GGUF file.
struct GgufFile {
  uint32_t version = 3;
  /// In file order; keys are unique.
  std::vector<std::pair<std::string, GgufValue>> metadata;
  /// In file order (which is also the order of their data); names are
  /// unique.
  std::vector<GgufTensor> tensors;

  const GgufValue *findMetadata(std::string_view key) const;
  /// Replaces the value of `key` in place, or appends it.
  void setMetadata(const std::string &key, GgufValue value);
  /// Removes `key`; false when absent.
  bool eraseMetadata(std::string_view key);
  const GgufTensor *findTensor(std::string_view name) const;
  /// Replaces the tensor of the same name in place, or appends it.
  void setTensor(GgufTensor tensor);
  /// `general.alignment`, or 32 when absent. Fails when it is not a u32
  /// power of two of at most kGgufMaxAlignment.
  Result<uint64_t> alignment() const;
};

/// Parses a GGUF file from memory. Checks: magic, version (2 or 3; big
/// endian and version 1 are refused), every count, string and array length
/// against the remaining bytes, value types, array nesting (at most 16
/// deep), unique keys and tensor names, `general.alignment`, dims (at most
/// 4, element count without overflow, ne[0] a multiple of the type's
/// block), known tensor types, and that tensor data sits where llama.cpp
/// puts it: tensor i at the aligned end of tensor i-1, inside the file. The
/// zero padding after the last tensor may be missing; anything after it is
/// an error.
Result<GgufFile> parseGguf(const uint8_t *data, size_t size,
                           const GgufOptions &options = {});
Result<GgufFile> readGguf(const std::string &path,
                          const GgufOptions &options = {});

/// The bytes of a GGUF file: header, metadata, tensor infos, zero padding to
/// the alignment, then each tensor's data padded to the alignment. Fails
/// (without writing anything) on what parseGguf() would refuse: a bad
/// alignment, duplicate keys or names, a name over 64 bytes, more than 4
/// dims, data whose size does not match its dims and type.
Result<std::vector<uint8_t>> serializeGguf(const GgufFile &file,
                                           const GgufOptions &options = {});
Status writeGguf(const std::string &path, const GgufFile &file,
                 const GgufOptions &options = {});

/// The packed weights of an STQ1_0 tensor: dims {K, M} (or {K}: M = 1) give
/// an M x K Stq1_0 matrix whose data is the tensor's bytes. Fails on another
/// type, more than 2 dims, a shape the layout refuses, or an f16 block scale
/// that is NaN or infinite (the message names the row and block).
Result<PackedWeights> tensorToPacked(const GgufTensor &tensor,
                                     const GgufOptions &options = {});

/// An STQ1_0 tensor named `name` holding `packed` (dims {K, M}); fails
/// unless `packed` is valid stq1_0 weights (convert sherry-layout weights
/// first, or pack them with --layout=stq1_0).
Result<GgufTensor> packedToTensor(const std::string &name,
                                  const PackedWeights &packed,
                                  const GgufOptions &options = {});

/// The elements of an F32, F16 or BF16 tensor widened to f32 (exactly), in
/// the tensor's order (row-major with the dims reversed).
Result<std::vector<float>> tensorToFloats(const GgufTensor &tensor);

/// An F32 (type kGgmlTypeF32) or F16 (kGgmlTypeF16, rounded to nearest
/// even) tensor; `dims` innermost first and `values` of their product.
Result<GgufTensor> floatsToTensor(const std::string &name,
                                  std::vector<uint64_t> dims,
                                  const std::vector<float> &values,
                                  uint32_t type = kGgmlTypeF32);

} // namespace sherry::format

#endif // SHERRY_FORMAT_GGUF_H
