//===- Gguf.cpp - GGUF files: llama.cpp interchange -----------------------===//
//
// The GGUF container (ggml's docs/gguf.md), all little endian:
//
//   u32 magic "GGUF", u32 version, u64 tensor count, u64 metadata count
//   metadata: string key, u32 value type, value
//   tensor infos: string name, u32 n_dims, u64 dims[n_dims] (innermost
//     first), u32 ggml type, u64 offset into the data section
//   zero padding to the alignment, then the data section: each tensor's
//     bytes padded with zeros to the alignment
//
// A string is a u64 length and that many bytes; an array is a u32 element
// type, a u64 count and the elements. The parser treats every field as
// hostile: lengths and counts are compared with the bytes that remain
// (dividing, never multiplying) before anything is allocated.
//
//===----------------------------------------------------------------------===//

#include "sherry/Format/Gguf.h"

#include "sherry/Format/FileIO.h"
#include "sherry/Format/Half.h"

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sherry::format {

namespace {

constexpr uint8_t kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint32_t kMaxDims = 4;
constexpr size_t kMaxNameBytes = 64;
constexpr int kMaxArrayDepth = 16;
constexpr uint32_t kLastValueType = 12;
constexpr uint64_t kInt64Max = uint64_t(std::numeric_limits<int64_t>::max());

template <typename T> T load(const uint8_t *p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v |= uint64_t(p[i]) << (8 * i);
  return T(v);
}

void storeBits(std::vector<uint8_t> &out, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i)
    out.push_back(uint8_t(v >> (8 * i)));
}

void storeString(std::vector<uint8_t> &out, const std::string &s) {
  storeBits(out, s.size(), 8);
  out.insert(out.end(), s.begin(), s.end());
}

std::string dec(uint64_t v) { return std::to_string(v); }

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

/// The upstream ggml types (ggml.h's enum ggml_type; the removed ids 4, 5,
/// 31-33 and 36-38 are absent).
struct KnownType {
  uint32_t id;
  GgmlTypeInfo info;
};
constexpr KnownType kKnownTypes[] = {
    {0, {"f32", 1, 4}},         {1, {"f16", 1, 2}},
    {2, {"q4_0", 32, 18}},      {3, {"q4_1", 32, 20}},
    {6, {"q5_0", 32, 22}},      {7, {"q5_1", 32, 24}},
    {8, {"q8_0", 32, 34}},      {9, {"q8_1", 32, 36}},
    {10, {"q2_K", 256, 84}},    {11, {"q3_K", 256, 110}},
    {12, {"q4_K", 256, 144}},   {13, {"q5_K", 256, 176}},
    {14, {"q6_K", 256, 210}},   {15, {"q8_K", 256, 292}},
    {16, {"iq2_xxs", 256, 66}}, {17, {"iq2_xs", 256, 74}},
    {18, {"iq3_xxs", 256, 98}}, {19, {"iq1_s", 256, 50}},
    {20, {"iq4_nl", 32, 18}},   {21, {"iq3_s", 256, 110}},
    {22, {"iq2_s", 256, 82}},   {23, {"iq4_xs", 256, 136}},
    {24, {"i8", 1, 1}},         {25, {"i16", 1, 2}},
    {26, {"i32", 1, 4}},        {27, {"i64", 1, 8}},
    {28, {"f64", 1, 8}},        {29, {"iq1_m", 256, 56}},
    {30, {"bf16", 1, 2}},       {34, {"tq1_0", 256, 54}},
    {35, {"tq2_0", 256, 66}},   {39, {"mxfp4", 32, 17}},
    {40, {"nvfp4", 64, 36}},    {41, {"q1_0", 128, 18}},
};
constexpr GgmlTypeInfo kStq1Info = {"stq1_0", 256, 42};

/// Upstream types whose ids an STQ1_0 id may take: ggml gave them out after
/// the STQ1_0 files were written, so they stay selectable (42 is the
/// default) but are named wherever a file's sizes disagree.
struct LaterType {
  uint32_t id;
  GgmlTypeInfo info;
  const char *since;
};
constexpr LaterType kLaterTypes[] = {
    {42, {"q2_0", 64, 18}, "ggml since July 2026 (GGML_TYPE_Q2_0)"},
};

/// A forward reader over untrusted bytes; every read is bounds-checked.
class Cursor {
public:
  Cursor(const uint8_t *data, size_t size) : data(data), size(size) {}

  size_t offset() const { return pos; }
  size_t remaining() const { return size - pos; }

  /// Fails when fewer than `n` bytes remain; `what()` says what was read.
  template <typename What> Status need(uint64_t n, What &&what) const {
    if (n <= remaining())
      return Status::success();
    return Status::error("truncated at byte " + dec(pos) + ": " + what() +
                         " needs " + dec(n) + " bytes, " + dec(remaining()) +
                         " remain");
  }

  template <typename T, typename What> Status read(T &out, What &&what) {
    if (Status s = need(sizeof(T), what); !s.ok())
      return s;
    out = load<T>(data + pos);
    pos += sizeof(T);
    return Status::success();
  }

  /// A u64 length and that many bytes.
  template <typename What> Status readString(std::string &out, What &&what) {
    uint64_t len;
    if (Status s = read(len, [&] { return "the length of " + what(); });
        !s.ok())
      return s;
    if (len > remaining())
      return Status::error("truncated at byte " + dec(pos) + ": " + what() +
                           " claims " + dec(len) + " bytes, " +
                           dec(remaining()) + " remain");
    out.assign(reinterpret_cast<const char *>(data + pos), len);
    pos += len;
    return Status::success();
  }

  const uint8_t *take(size_t n) {
    const uint8_t *p = data + pos;
    pos += n;
    return p;
  }

private:
  const uint8_t *data;
  size_t size;
  size_t pos = 0;
};

Status readValue(Cursor &c, uint32_t rawType, GgufValue &out, int depth,
                 const std::string &where) {
  if (rawType > kLastValueType)
    return Status::error(where + " has unknown value type " + dec(rawType) +
                         " (GGUF defines 0..12)");
  out.type = GgufType(rawType);
  if (size_t bytes = ggufScalarSize(out.type)) {
    if (Status s = c.need(bytes, [&] { return where; }); !s.ok())
      return s;
    const uint8_t *p = c.take(bytes);
    out.bits = 0;
    for (size_t i = 0; i < bytes; ++i)
      out.bits |= uint64_t(p[i]) << (8 * i);
    return Status::success();
  }
  if (out.type == GgufType::String)
    return c.readString(out.string, [&] { return where; });

  // An array.
  uint32_t elementType;
  uint64_t count;
  if (Status s =
          c.read(elementType, [&] { return "the element type of " + where; });
      !s.ok())
    return s;
  if (Status s = c.read(count, [&] { return "the length of " + where; });
      !s.ok())
    return s;
  if (elementType > kLastValueType)
    return Status::error(where + " is an array of unknown value type " +
                         dec(elementType) + " (GGUF defines 0..12)");
  out.elementType = GgufType(elementType);
  // The smallest encoding of one element bounds the count by the bytes left.
  size_t minBytes = ggufScalarSize(out.elementType);
  if (out.elementType == GgufType::String)
    minBytes = 8;
  else if (out.elementType == GgufType::Array)
    minBytes = 12;
  if (count > c.remaining() / minBytes)
    return Status::error("truncated at byte " + dec(c.offset()) + ": " + where +
                         " claims " + dec(count) + " elements of " +
                         std::string(ggufTypeName(out.elementType)) +
                         " (at least " + dec(minBytes) + " bytes each), " +
                         dec(c.remaining()) + " bytes remain");
  if (out.elementType == GgufType::String) {
    out.strings.resize(count);
    for (uint64_t i = 0; i < count; ++i)
      if (Status s =
              c.readString(out.strings[i],
                           [&] { return "string " + dec(i) + " of " + where; });
          !s.ok())
        return s;
    return Status::success();
  }
  if (out.elementType == GgufType::Array) {
    if (depth >= kMaxArrayDepth)
      return Status::error(where + " nests arrays more than " +
                           dec(kMaxArrayDepth) + " deep");
    out.arrays.resize(count);
    for (uint64_t i = 0; i < count; ++i)
      if (Status s = readValue(c, uint32_t(GgufType::Array), out.arrays[i],
                               depth + 1, "element " + dec(i) + " of " + where);
          !s.ok())
        return s;
    return Status::success();
  }
  const uint8_t *p = c.take(count * minBytes);
  out.raw.assign(p, p + count * minBytes);
  return Status::success();
}

/// What serializeGguf() needs of a value built in memory.
Status checkValue(const GgufValue &v, int depth, const std::string &where) {
  if (uint32_t(v.type) > kLastValueType)
    return Status::error(where + " has unknown value type " +
                         dec(uint32_t(v.type)));
  if (v.type != GgufType::Array)
    return Status::success();
  if (uint32_t(v.elementType) > kLastValueType)
    return Status::error(where + " is an array of unknown value type " +
                         dec(uint32_t(v.elementType)));
  size_t bytes = ggufScalarSize(v.elementType);
  bool isStrings = v.elementType == GgufType::String;
  bool isArrays = v.elementType == GgufType::Array;
  if ((!isStrings && !v.strings.empty()) || (!isArrays && !v.arrays.empty()) ||
      (bytes == 0 && !v.raw.empty()))
    return Status::error(where + " holds elements of another type than " +
                         std::string(ggufTypeName(v.elementType)));
  if (bytes && v.raw.size() % bytes != 0)
    return Status::error(where + " has " + dec(v.raw.size()) +
                         " bytes of elements, not a multiple of " + dec(bytes));
  if (isArrays) {
    if (depth >= kMaxArrayDepth)
      return Status::error(where + " nests arrays more than " +
                           dec(kMaxArrayDepth) + " deep");
    for (size_t i = 0; i < v.arrays.size(); ++i) {
      if (v.arrays[i].type != GgufType::Array)
        return Status::error("element " + dec(i) + " of " + where +
                             " is not an array");
      if (Status s = checkValue(v.arrays[i], depth + 1,
                                "element " + dec(i) + " of " + where);
          !s.ok())
        return s;
    }
  }
  return Status::success();
}

void writeValue(std::vector<uint8_t> &out, const GgufValue &v) {
  if (size_t bytes = ggufScalarSize(v.type)) {
    storeBits(out, v.bits, bytes);
    return;
  }
  if (v.type == GgufType::String) {
    storeString(out, v.string);
    return;
  }
  storeBits(out, uint32_t(v.elementType), 4);
  storeBits(out, v.size(), 8);
  if (v.elementType == GgufType::String) {
    for (const std::string &s : v.strings)
      storeString(out, s);
  } else if (v.elementType == GgufType::Array) {
    // Each element is an array without a type tag of its own: element
    // type, count, elements, exactly what writeValue() writes for it.
    for (const GgufValue &a : v.arrays)
      writeValue(out, a);
  } else {
    out.insert(out.end(), v.raw.begin(), v.raw.end());
  }
}

std::string tensorWhere(const std::string &name) {
  return "tensor '" + name + "'";
}

/// The byte size of a tensor's data from its dims and type, with every
/// check the parser and the writer share.
Result<uint64_t> tensorBytes(const std::string &name,
                             const std::vector<uint64_t> &dims, uint32_t type,
                             const GgufOptions &options) {
  using R = Result<uint64_t>;
  if (dims.size() > kMaxDims)
    return R::error(tensorWhere(name) + " has " + dec(dims.size()) +
                    " dims; ggml tensors have at most 4");
  uint64_t elements = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] > kInt64Max)
      return R::error(tensorWhere(name) + " has dim " + dec(d) + " = " +
                      dec(dims[d]) + ", beyond int64");
    if (dims[d] != 0 && elements > kInt64Max / dims[d])
      return R::error(tensorWhere(name) +
                      " has more elements than int64 can count");
    elements *= dims[d];
  }
  auto info = ggmlTypeInfo(type, options);
  if (!info.ok())
    return R::error(tensorWhere(name) + ": " + info.message());
  uint64_t inner = dims.empty() ? 1 : dims[0];
  if (inner % uint64_t(info->blockSize) != 0)
    return R::error(tensorWhere(name) + " of type " + std::string(info->name) +
                    " has ne[0] = " + dec(inner) +
                    ", not a multiple of its block of " + dec(info->blockSize) +
                    " elements");
  uint64_t blocks = elements / uint64_t(info->blockSize);
  if (blocks > std::numeric_limits<uint64_t>::max() / uint64_t(info->typeSize))
    return R::error(tensorWhere(name) +
                    " has more data bytes than 64 bits can count");
  return blocks * uint64_t(info->typeSize);
}

/// Bytes of zero padding after `n` bytes to reach a multiple of `align`.
uint64_t paddingFor(uint64_t n, uint64_t align) {
  return (align - n % align) % align;
}

Status checkFloatScales(const PackedWeights &p, const std::string &name) {
  int64_t blocks = p.cols / 256, rowBytes = p.rowBytes();
  for (int64_t m = 0; m < p.rows; ++m)
    for (int64_t b = 0; b < blocks; ++b) {
      float scale = halfToFloat(
          load<uint16_t>(p.data.data() + m * rowBytes + b * 42 + 40));
      if (!std::isfinite(scale))
        return Status::error(tensorWhere(name) + ": the f16 scale of row " +
                             dec(m) + ", block " + dec(b) + " is " +
                             (std::isnan(scale) ? "NaN" : "infinite"));
    }
  return Status::success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

Result<GgmlTypeInfo> ggmlTypeInfo(uint32_t type, const GgufOptions &options) {
  using R = Result<GgmlTypeInfo>;
  for (const KnownType &k : kKnownTypes)
    if (k.id == options.stq1Type)
      return R::error("the stq1_0 type id " + dec(options.stq1Type) +
                      " is upstream ggml's " + std::string(k.info.name) +
                      "; choose a free id (default " + dec(kGgmlTypeStq1_0) +
                      ")");
  if (type == options.stq1Type)
    return kStq1Info;
  for (const KnownType &k : kKnownTypes)
    if (k.id == type)
      return k.info;
  return R::error("unknown ggml type " + dec(type) + " (stq1_0 is read as " +
                  dec(options.stq1Type) + "; see --stq1_0-type)");
}

std::string stq1TypeCollision(uint32_t stq1Type) {
  for (const LaterType &k : kLaterTypes)
    if (k.id == stq1Type)
      return std::string(k.info.name) + " in " + k.since + ", blocks of " +
             dec(k.info.blockSize) + " weights in " + dec(k.info.typeSize) +
             " bytes where STQ1_0 has 256 in " + dec(kStq1Info.typeSize);
  return "";
}

std::string_view ggufTypeName(GgufType type) {
  switch (type) {
  case GgufType::UInt8:
    return "u8";
  case GgufType::Int8:
    return "i8";
  case GgufType::UInt16:
    return "u16";
  case GgufType::Int16:
    return "i16";
  case GgufType::UInt32:
    return "u32";
  case GgufType::Int32:
    return "i32";
  case GgufType::Float32:
    return "f32";
  case GgufType::Bool:
    return "bool";
  case GgufType::String:
    return "string";
  case GgufType::Array:
    return "array";
  case GgufType::UInt64:
    return "u64";
  case GgufType::Int64:
    return "i64";
  case GgufType::Float64:
    return "f64";
  }
  return "unknown";
}

size_t ggufScalarSize(GgufType type) {
  switch (type) {
  case GgufType::UInt8:
  case GgufType::Int8:
  case GgufType::Bool:
    return 1;
  case GgufType::UInt16:
  case GgufType::Int16:
    return 2;
  case GgufType::UInt32:
  case GgufType::Int32:
  case GgufType::Float32:
    return 4;
  case GgufType::UInt64:
  case GgufType::Int64:
  case GgufType::Float64:
    return 8;
  case GgufType::String:
  case GgufType::Array:
    return 0;
  }
  return 0;
}

//===----------------------------------------------------------------------===//
// GgufValue
//===----------------------------------------------------------------------===//

uint64_t GgufValue::size() const {
  if (type != GgufType::Array)
    return 0;
  if (elementType == GgufType::String)
    return strings.size();
  if (elementType == GgufType::Array)
    return arrays.size();
  size_t bytes = ggufScalarSize(elementType);
  return bytes ? raw.size() / bytes : 0;
}

GgufValue GgufValue::scalar(GgufType type, uint64_t bits) {
  GgufValue v;
  v.type = type;
  size_t bytes = ggufScalarSize(type);
  v.bits = bytes >= 8 ? bits : bits & ((uint64_t(1) << (8 * bytes)) - 1);
  return v;
}

GgufValue GgufValue::i32(int32_t v) {
  return scalar(GgufType::Int32, uint32_t(v));
}

GgufValue GgufValue::i64(int64_t v) {
  return scalar(GgufType::Int64, uint64_t(v));
}

GgufValue GgufValue::f32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return scalar(GgufType::Float32, bits);
}

GgufValue GgufValue::f64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  return scalar(GgufType::Float64, bits);
}

GgufValue GgufValue::str(std::string s) {
  GgufValue v;
  v.type = GgufType::String;
  v.string = std::move(s);
  return v;
}

GgufValue GgufValue::scalarArray(GgufType elementType,
                                 std::vector<uint8_t> raw) {
  GgufValue v;
  v.type = GgufType::Array;
  v.elementType = elementType;
  v.raw = std::move(raw);
  return v;
}

GgufValue GgufValue::stringArray(std::vector<std::string> strings) {
  GgufValue v;
  v.type = GgufType::Array;
  v.elementType = GgufType::String;
  v.strings = std::move(strings);
  return v;
}

GgufValue GgufValue::arrayArray(std::vector<GgufValue> arrays) {
  GgufValue v;
  v.type = GgufType::Array;
  v.elementType = GgufType::Array;
  v.arrays = std::move(arrays);
  return v;
}

Result<uint64_t> GgufValue::asUnsigned() const {
  using R = Result<uint64_t>;
  size_t bytes = ggufScalarSize(type);
  switch (type) {
  case GgufType::UInt8:
  case GgufType::UInt16:
  case GgufType::UInt32:
  case GgufType::UInt64:
    return bits;
  case GgufType::Int8:
  case GgufType::Int16:
  case GgufType::Int32:
  case GgufType::Int64:
    if ((bits >> (8 * bytes - 1)) & 1)
      return R::error("negative " + std::string(ggufTypeName(type)));
    return bits;
  default:
    return R::error("a " + std::string(ggufTypeName(type)) +
                    ", not an integer");
  }
}

/// One scalar as text (without its type).
static std::string scalarText(GgufType type, uint64_t bits) {
  size_t bytes = ggufScalarSize(type);
  char buf[40];
  switch (type) {
  case GgufType::Int8:
  case GgufType::Int16:
  case GgufType::Int32:
  case GgufType::Int64: {
    // Sign-extend from the type's width.
    unsigned shift = unsigned(64 - 8 * bytes);
    int64_t v = int64_t(bits << shift) >> shift;
    return std::to_string(v);
  }
  case GgufType::Float32: {
    float f;
    uint32_t b = uint32_t(bits);
    std::memcpy(&f, &b, 4);
    std::snprintf(buf, sizeof(buf), "%.9g", double(f));
    return buf;
  }
  case GgufType::Float64: {
    double d;
    std::memcpy(&d, &bits, 8);
    std::snprintf(buf, sizeof(buf), "%.17g", d);
    return buf;
  }
  case GgufType::Bool:
    return bits == 0 ? "false" : bits == 1 ? "true" : "bool(" + dec(bits) + ")";
  default:
    return std::to_string(bits);
  }
}

std::string GgufValue::toString(size_t maxElements) const {
  std::string type = std::string(ggufTypeName(this->type));
  if (size_t bytes = ggufScalarSize(this->type); bytes)
    return type + " " + scalarText(this->type, bits);
  if (this->type == GgufType::String)
    return type + " " + quoted(string);
  uint64_t n = size();
  std::string out = "array[" + std::string(ggufTypeName(elementType)) + "] (" +
                    dec(n) + ") [";
  size_t shown = n < maxElements ? size_t(n) : maxElements;
  size_t bytes = ggufScalarSize(elementType);
  for (size_t i = 0; i < shown; ++i) {
    if (i)
      out += ", ";
    if (elementType == GgufType::String) {
      out += quoted(strings[i]);
    } else if (elementType == GgufType::Array) {
      out += arrays[i].toString(maxElements);
    } else {
      uint64_t b = 0;
      for (size_t k = 0; k < bytes; ++k)
        b |= uint64_t(raw[i * bytes + k]) << (8 * k);
      out += scalarText(elementType, b);
    }
  }
  if (shown < n)
    out += shown ? ", ..." : "...";
  return out + "]";
}

bool GgufValue::operator==(const GgufValue &o) const {
  if (type != o.type)
    return false;
  if (ggufScalarSize(type))
    return bits == o.bits;
  if (type == GgufType::String)
    return string == o.string;
  return elementType == o.elementType && raw == o.raw && strings == o.strings &&
         arrays == o.arrays;
}

std::vector<uint8_t> serializeGgufValue(const GgufValue &value) {
  std::vector<uint8_t> out;
  storeBits(out, uint32_t(value.type), 4);
  writeValue(out, value);
  return out;
}

Result<GgufValue> parseGgufValue(const uint8_t *data, size_t size) {
  using R = Result<GgufValue>;
  if (!data)
    size = 0;
  Cursor c(data, size);
  uint32_t type;
  if (Status s = c.read(type, [] { return std::string("the value type"); });
      !s.ok())
    return s;
  GgufValue value;
  if (Status s = readValue(c, type, value, 0, "the value"); !s.ok())
    return s;
  if (c.remaining())
    return R::error(dec(c.remaining()) + " unexpected bytes after the value");
  if (Status s = checkValue(value, 0, "the value"); !s.ok())
    return s;
  return value;
}

//===----------------------------------------------------------------------===//
// GgufTensor, GgufFile
//===----------------------------------------------------------------------===//

uint64_t GgufTensor::numElements() const {
  uint64_t n = 1;
  for (uint64_t d : dims)
    n *= d;
  return n;
}

Result<uint64_t> tensorDataSize(const GgufTensor &tensor,
                                const GgufOptions &options) {
  return tensorBytes(tensor.name, tensor.dims, tensor.type, options);
}

const GgufValue *GgufFile::findMetadata(std::string_view key) const {
  for (const auto &[k, v] : metadata)
    if (k == key)
      return &v;
  return nullptr;
}

void GgufFile::setMetadata(const std::string &key, GgufValue value) {
  for (auto &[k, v] : metadata)
    if (k == key) {
      v = std::move(value);
      return;
    }
  metadata.emplace_back(key, std::move(value));
}

bool GgufFile::eraseMetadata(std::string_view key) {
  for (auto it = metadata.begin(); it != metadata.end(); ++it)
    if (it->first == key) {
      metadata.erase(it);
      return true;
    }
  return false;
}

const GgufTensor *GgufFile::findTensor(std::string_view name) const {
  for (const GgufTensor &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

void GgufFile::setTensor(GgufTensor tensor) {
  for (GgufTensor &t : tensors)
    if (t.name == tensor.name) {
      t = std::move(tensor);
      return;
    }
  tensors.push_back(std::move(tensor));
}

Result<uint64_t> GgufFile::alignment() const {
  using R = Result<uint64_t>;
  const GgufValue *v = findMetadata("general.alignment");
  if (!v)
    return kGgufDefaultAlignment;
  if (v->type != GgufType::UInt32)
    return R::error("general.alignment is a " +
                    std::string(ggufTypeName(v->type)) + ", not a u32");
  if (v->bits == 0 || (v->bits & (v->bits - 1)) != 0)
    return R::error("general.alignment = " + dec(v->bits) +
                    " is not a power of two");
  if (v->bits > kGgufMaxAlignment)
    return R::error("general.alignment = " + dec(v->bits) +
                    " is more than the " + dec(kGgufMaxAlignment) +
                    " bytes this library accepts (2 MiB, a huge page)");
  return v->bits;
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

/// Why the data of the tensors before `end` may not be where their sizes
/// say: the last of them with the STQ1_0 type id, where another ggml
/// numbers that id as another type ("" when there is none).
static std::string stq1SizeHint(const std::vector<GgufTensor> &tensors,
                                uint64_t end, const GgufOptions &options) {
  std::string collision = stq1TypeCollision(options.stq1Type);
  for (uint64_t i = end; i-- > 0;)
    if (tensors[i].type == options.stq1Type)
      return "; " + tensorWhere(tensors[i].name) + " was read as " +
             "STQ1_0 (type id " + dec(options.stq1Type) + ")" +
             (collision.empty() ? ""
                                : ", but type id " + dec(options.stq1Type) +
                                      " is " + collision) +
             ": if the file's STQ1_0 tensors have another id, pass it with "
             "--stq1_0-type (stq1_0_type= in Python)";
  return "";
}

namespace {
/// A parsed file whose tensors have no data yet: where each one's bytes
/// are (from the start of the file) and how many.
struct GgufLayout {
  GgufFile file;
  std::vector<uint64_t> starts, sizes;
};
} // namespace

/// Everything parseGguf checks, but the tensors' data stays where it is:
/// `data` needs only to hold the header (metadata and tensor infos);
/// `size` is the whole file's.
static Result<GgufLayout> parseGgufLayout(const uint8_t *data, size_t size,
                                          const GgufOptions &options) {
  using R = Result<GgufLayout>;
  if (!data)
    size = 0;
  if (std::memcmp(data ? data : kMagic, kMagic, size < 4 ? size : 4) != 0)
    return R::error("not a GGUF file (bad magic)");
  Cursor c(data, size);
  uint32_t magic, version;
  uint64_t tensorCount, kvCount;
  auto header = [] { return std::string("the 24-byte GGUF header"); };
  if (Status s = c.read(magic, header); !s.ok())
    return s;
  if (Status s = c.read(version, header); !s.ok())
    return s;
  if (version == 0x02000000 || version == 0x03000000)
    return R::error("big-endian GGUF files are not supported");
  if (version != 2 && version != 3)
    return R::error("unsupported GGUF version " + dec(version) +
                    " (this build reads versions 2 and 3)");
  if (Status s = c.read(tensorCount, header); !s.ok())
    return s;
  if (Status s = c.read(kvCount, header); !s.ok())
    return s;

  GgufFile file;
  file.version = version;
  // A key/value takes at least 13 bytes (key length, type, a u8); bound the
  // count before reserving memory for it.
  if (kvCount > c.remaining() / 13)
    return R::error("the header claims " + dec(kvCount) +
                    " metadata entries, more than the " + dec(c.remaining()) +
                    " remaining bytes can hold");
  std::set<std::string, std::less<>> keys;
  file.metadata.reserve(kvCount);
  for (uint64_t i = 0; i < kvCount; ++i) {
    std::string key;
    if (Status s = c.readString(
            key, [&] { return "the key of metadata entry " + dec(i); });
        !s.ok())
      return s;
    if (!keys.insert(key).second)
      return R::error("duplicate metadata key '" + key + "'");
    std::string where = "metadata '" + key + "'";
    uint32_t type;
    if (Status s = c.read(type, [&] { return "the type of " + where; });
        !s.ok())
      return s;
    GgufValue value;
    if (Status s = readValue(c, type, value, 0, where); !s.ok())
      return s;
    file.metadata.emplace_back(std::move(key), std::move(value));
  }
  auto alignment = file.alignment();
  if (!alignment.ok())
    return alignment.getStatus();

  // A tensor info takes at least 24 bytes (name length, n_dims, type,
  // offset).
  if (tensorCount > c.remaining() / 24)
    return R::error("the header claims " + dec(tensorCount) +
                    " tensors, more than the " + dec(c.remaining()) +
                    " remaining bytes can describe");
  std::set<std::string, std::less<>> names;
  std::vector<uint64_t> offsets(tensorCount), sizes(tensorCount);
  file.tensors.resize(tensorCount);
  uint64_t running = 0;
  for (uint64_t i = 0; i < tensorCount; ++i) {
    GgufTensor &t = file.tensors[i];
    if (Status s = c.readString(t.name,
                                [&] { return "the name of tensor " + dec(i); });
        !s.ok())
      return s;
    if (t.name.size() > kMaxNameBytes)
      return R::error("the name of tensor " + dec(i) + " has " +
                      dec(t.name.size()) + " bytes; GGUF allows " +
                      dec(kMaxNameBytes));
    if (!names.insert(t.name).second)
      return R::error("duplicate tensor name '" + t.name + "'");
    std::string where = tensorWhere(t.name);
    uint32_t nDims;
    if (Status s = c.read(nDims, [&] { return "the rank of " + where; });
        !s.ok())
      return s;
    if (nDims > kMaxDims)
      return R::error(where + " has " + dec(nDims) +
                      " dims; ggml tensors have at most 4");
    t.dims.resize(nDims);
    for (uint32_t d = 0; d < nDims; ++d)
      if (Status s = c.read(t.dims[d],
                            [&] { return "dim " + dec(d) + " of " + where; });
          !s.ok())
        return s;
    if (Status s = c.read(t.type, [&] { return "the type of " + where; });
        !s.ok())
      return s;
    if (Status s =
            c.read(offsets[i], [&] { return "the data offset of " + where; });
        !s.ok())
      return s;
    auto bytes = tensorBytes(t.name, t.dims, t.type, options);
    if (!bytes.ok())
      return bytes.getStatus();
    sizes[i] = *bytes;
    // llama.cpp stores tensors in info order, each at the aligned end of
    // the previous one, and refuses anything else.
    if (offsets[i] != running)
      return R::error(where + " has data offset " + dec(offsets[i]) +
                      ", expected " + dec(running) +
                      " (tensors are stored in order, each aligned to " +
                      dec(*alignment) + " bytes)" +
                      stq1SizeHint(file.tensors, i, options));
    uint64_t padded = *bytes + paddingFor(*bytes, *alignment);
    if (padded < *bytes ||
        padded > std::numeric_limits<uint64_t>::max() - running)
      return R::error(where + ": the tensor data overflows 64 bits");
    running += padded;
  }

  // The data section starts at the aligned end of the infos.
  uint64_t dataStart = c.offset() + paddingFor(c.offset(), *alignment);
  uint64_t minEnd = dataStart, maxEnd = dataStart;
  if (tensorCount > 0) {
    uint64_t last = tensorCount - 1;
    if (running > std::numeric_limits<uint64_t>::max() - dataStart)
      return R::error("the tensor data overflows 64 bits");
    minEnd = dataStart + offsets[last] + sizes[last];
    maxEnd = dataStart + running;
  } else {
    minEnd = c.offset();
  }
  if (size < minEnd)
    return R::error("truncated: the tensor data ends at byte " + dec(minEnd) +
                    ", the file has " + dec(size) + " bytes");
  if (size > maxEnd)
    return R::error(dec(size - maxEnd) +
                    " unexpected bytes after the tensor data (which ends at "
                    "byte " +
                    dec(maxEnd) + ")" +
                    stq1SizeHint(file.tensors, tensorCount, options));
  GgufLayout layout{std::move(file), std::move(offsets), std::move(sizes)};
  for (uint64_t &start : layout.starts)
    start += dataStart;
  return layout;
}

Result<GgufFile> parseGguf(const uint8_t *data, size_t size,
                           const GgufOptions &options) {
  Result<GgufLayout> layout = parseGgufLayout(data, size, options);
  if (!layout.ok())
    return layout.getStatus();
  GgufFile &file = layout->file;
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    const uint8_t *p = data + layout->starts[i];
    file.tensors[i].data.assign(p, p + layout->sizes[i]);
  }
  return std::move(file);
}

namespace {
/// An open file, closed when it goes.
struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0)
      ::close(fd);
  }
};
} // namespace

Result<GgufFile> readGguf(const std::string &path, const GgufOptions &options) {
  using R = Result<GgufFile>;
  auto fail = [&](const std::string &what) {
    return R::error("'" + path + "': " + what);
  };
  // The header is parsed from a read-only mapping, which only its pages
  // are read from; each tensor's bytes are then read into its own buffer.
  // Reading the whole file into memory first held the file twice at the
  // peak (a 295 MiB model peaked at 717 MiB).
  FileDescriptor f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0)
    return R::error("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st;
  if (::fstat(f.fd, &st) != 0)
    return fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    // Not a regular file (a pipe, a directory): read it whole.
    Result<std::vector<uint8_t>> bytes = readFileBytes(path);
    if (!bytes.ok())
      return bytes.getStatus();
    Result<GgufFile> file = parseGguf(bytes->data(), bytes->size(), options);
    return file.ok() ? std::move(file) : fail(file.message());
  }
  size_t size = static_cast<size_t>(st.st_size);
  void *map = size ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, f.fd, 0)
                   : nullptr;
  if (map == MAP_FAILED)
    return fail(std::string("cannot map it: ") + std::strerror(errno));
  Result<GgufLayout> layout =
      parseGgufLayout(static_cast<const uint8_t *>(map), size, options);
  if (map)
    ::munmap(map, size);
  if (!layout.ok())
    return fail(layout.message());
  GgufFile &file = layout->file;
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    std::vector<uint8_t> &data = file.tensors[i].data;
    data.resize(layout->sizes[i]);
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pread(f.fd, data.data() + done, data.size() - done,
                          static_cast<off_t>(layout->starts[i] + done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return fail("cannot read " + tensorWhere(file.tensors[i].name) +
                    (n < 0 ? std::string(": ") + std::strerror(errno)
                           : std::string(": the file shrank while read")));
      done += static_cast<size_t>(n);
    }
  }
  return std::move(file);
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

Result<std::vector<uint8_t>> serializeGguf(const GgufFile &file,
                                           const GgufOptions &options) {
  using R = Result<std::vector<uint8_t>>;
  if (file.version != 2 && file.version != 3)
    return R::error("cannot write GGUF version " + dec(file.version) +
                    " (versions 2 and 3 are supported)");
  std::set<std::string, std::less<>> keys, names;
  for (const auto &[key, value] : file.metadata) {
    if (!keys.insert(key).second)
      return R::error("duplicate metadata key '" + key + "'");
    if (Status s = checkValue(value, 0, "metadata '" + key + "'"); !s.ok())
      return s;
  }
  auto alignment = file.alignment();
  if (!alignment.ok())
    return alignment.getStatus();
  for (const GgufTensor &t : file.tensors) {
    if (t.name.size() > kMaxNameBytes)
      return R::error(tensorWhere(t.name) + ": the name has " +
                      dec(t.name.size()) + " bytes; GGUF allows " +
                      dec(kMaxNameBytes));
    if (!names.insert(t.name).second)
      return R::error("duplicate tensor name '" + t.name + "'");
    auto bytes = tensorBytes(t.name, t.dims, t.type, options);
    if (!bytes.ok())
      return bytes.getStatus();
    if (t.data.size() != *bytes)
      return R::error(tensorWhere(t.name) + " has " + dec(t.data.size()) +
                      " data bytes; its dims and type need " + dec(*bytes));
  }

  std::vector<uint8_t> out(kMagic, kMagic + 4);
  storeBits(out, file.version, 4);
  storeBits(out, file.tensors.size(), 8);
  storeBits(out, file.metadata.size(), 8);
  for (const auto &[key, value] : file.metadata) {
    storeString(out, key);
    storeBits(out, uint32_t(value.type), 4);
    writeValue(out, value);
  }
  uint64_t offset = 0;
  for (const GgufTensor &t : file.tensors) {
    storeString(out, t.name);
    storeBits(out, t.dims.size(), 4);
    for (uint64_t d : t.dims)
      storeBits(out, d, 8);
    storeBits(out, t.type, 4);
    storeBits(out, offset, 8);
    offset += t.data.size() + paddingFor(t.data.size(), *alignment);
  }
  out.resize(out.size() + paddingFor(out.size(), *alignment), 0);
  for (const GgufTensor &t : file.tensors) {
    out.insert(out.end(), t.data.begin(), t.data.end());
    out.resize(out.size() + paddingFor(t.data.size(), *alignment), 0);
  }
  return out;
}

Status writeGguf(const std::string &path, const GgufFile &file,
                 const GgufOptions &options) {
  auto bytes = serializeGguf(file, options);
  if (!bytes.ok())
    return Status::error("refusing to write '" + path +
                         "': " + bytes.message());
  return writeFileBytes(path, *bytes);
}

//===----------------------------------------------------------------------===//
// Tensors as weights
//===----------------------------------------------------------------------===//

Result<PackedWeights> tensorToPacked(const GgufTensor &tensor,
                                     const GgufOptions &options) {
  using R = Result<PackedWeights>;
  std::string where = tensorWhere(tensor.name);
  if (tensor.type != options.stq1Type) {
    auto info = ggmlTypeInfo(tensor.type, options);
    return R::error(
        where + " has type " +
        (info.ok() ? std::string(info->name) : "id " + dec(tensor.type)) +
        ", not stq1_0 (type id " + dec(options.stq1Type) + ")");
  }
  if (tensor.dims.empty() || tensor.dims.size() > 2)
    return R::error(where + " has " + dec(tensor.dims.size()) +
                    " dims; stq1_0 weights are a K-vector or a {K, M} "
                    "matrix");
  uint64_t cols = tensor.dims[0];
  uint64_t rows = tensor.dims.size() == 2 ? tensor.dims[1] : 1;
  if (cols > kInt64Max || rows > kInt64Max)
    return R::error(where + " has dims beyond int64");
  PackedWeights p;
  p.layout = Layout::Stq1_0;
  p.rows = int64_t(rows);
  p.cols = int64_t(cols);
  p.scaleSpec = ScaleSpec::group(256);
  if (Status s = checkShape(p.layout, p.rows, p.cols); !s.ok())
    return R::error(where + ": " + s.message());
  if (uint64_t(p.rowBytes()) * rows != tensor.data.size())
    return R::error(where + " has " + dec(tensor.data.size()) +
                    " data bytes; " + dec(rows) + " x " + dec(cols) +
                    " stq1_0 needs " + dec(uint64_t(p.rowBytes()) * rows));
  p.data = tensor.data;
  if (Status s = p.verify(); !s.ok())
    return R::error(where + ": " + s.message());
  if (Status s = checkFloatScales(p, tensor.name); !s.ok())
    return s;
  return p;
}

Result<GgufTensor> packedToTensor(const std::string &name,
                                  const PackedWeights &packed,
                                  const GgufOptions &options) {
  using R = Result<GgufTensor>;
  std::string where = tensorWhere(name);
  if (packed.layout != Layout::Stq1_0 || packed.tables)
    return R::error(where + ": the weights are in the " +
                    packed.layoutDescription() +
                    " layout; GGUF holds stq1_0 blocks (pack with "
                    "--layout=stq1_0 or convert them)");
  if (Status s = packed.verify(); !s.ok())
    return R::error(where + ": " + s.message());
  if (Status s = checkFloatScales(packed, name); !s.ok())
    return s;
  if (name.size() > kMaxNameBytes)
    return R::error(where + ": the name has " + dec(name.size()) +
                    " bytes; GGUF allows " + dec(kMaxNameBytes));
  if (auto info = ggmlTypeInfo(options.stq1Type, options); !info.ok())
    return info.getStatus();
  GgufTensor t;
  t.name = name;
  t.dims = {uint64_t(packed.cols), uint64_t(packed.rows)};
  t.type = options.stq1Type;
  t.data = packed.data;
  return t;
}

Result<std::vector<float>> tensorToFloats(const GgufTensor &tensor) {
  using R = Result<std::vector<float>>;
  std::string where = tensorWhere(tensor.name);
  size_t bytes;
  switch (tensor.type) {
  case kGgmlTypeF32:
    bytes = 4;
    break;
  case kGgmlTypeF16:
  case kGgmlTypeBF16:
    bytes = 2;
    break;
  default:
    return R::error(where + " has ggml type " + dec(tensor.type) +
                    "; only f32, f16 and bf16 tensors convert to floats");
  }
  if (tensor.data.size() % bytes != 0 ||
      tensor.data.size() / bytes != tensor.numElements())
    return R::error(where + " has " + dec(tensor.data.size()) +
                    " data bytes for " + dec(tensor.numElements()) +
                    " elements");
  std::vector<float> out(tensor.data.size() / bytes);
  const uint8_t *p = tensor.data.data();
  for (size_t i = 0; i < out.size(); ++i) {
    if (tensor.type == kGgmlTypeF32) {
      uint32_t b = load<uint32_t>(p + 4 * i);
      std::memcpy(&out[i], &b, 4);
    } else if (tensor.type == kGgmlTypeF16) {
      out[i] = halfToFloat(load<uint16_t>(p + 2 * i));
    } else {
      uint32_t b = uint32_t(load<uint16_t>(p + 2 * i)) << 16;
      std::memcpy(&out[i], &b, 4);
    }
  }
  return out;
}

Result<GgufTensor> floatsToTensor(const std::string &name,
                                  std::vector<uint64_t> dims,
                                  const std::vector<float> &values,
                                  uint32_t type) {
  using R = Result<GgufTensor>;
  std::string where = tensorWhere(name);
  if (type != kGgmlTypeF32 && type != kGgmlTypeF16)
    return R::error(where +
                    ": floats are written as f32 (0) or f16 (1), "
                    "not ggml type " +
                    dec(type));
  auto bytes = tensorBytes(name, dims, type, GgufOptions());
  if (!bytes.ok())
    return bytes.getStatus();
  uint64_t elements = *bytes / (type == kGgmlTypeF32 ? 4 : 2);
  if (elements != values.size())
    return R::error(where + " has dims of " + dec(elements) + " elements but " +
                    dec(values.size()) + " values");
  GgufTensor t;
  t.name = name;
  t.dims = std::move(dims);
  t.type = type;
  t.data.reserve(*bytes);
  for (float f : values) {
    if (type == kGgmlTypeF32) {
      uint32_t b;
      std::memcpy(&b, &f, 4);
      storeBits(t.data, b, 4);
    } else {
      storeBits(t.data, floatToHalf(f), 2);
    }
  }
  return t;
}

} // namespace sherry::format
