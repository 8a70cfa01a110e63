//===- Npy.cpp - .npy arrays and whole-file I/O ---------------------------===//
//
// The .npy format: a magic string, a version, a little-endian header length,
// a Python-literal dict (descr, fortran_order, shape), then the raw elements.
// The reader takes arbitrary bytes; the writer produces the same bytes as
// numpy's np.save, so files round-trip bit for bit through Python.
//
//===----------------------------------------------------------------------===//

#include "sherry/Format/FileIO.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

namespace sherry::format {

//===----------------------------------------------------------------------===//
// Whole files
//===----------------------------------------------------------------------===//

Result<std::vector<uint8_t>> readFileBytes(const std::string &path) {
  using R = Result<std::vector<uint8_t>>;
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return R::error("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  size_t n;
  errno = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    bytes.insert(bytes.end(), buf, buf + n);
  // fopen() succeeds on a directory on Linux; the read then fails (EISDIR).
  int readErrno = errno;
  bool failed = std::ferror(f);
  std::fclose(f);
  if (failed)
    return R::error("cannot read '" + path + "'" +
                    (readErrno ? std::string(": ") + std::strerror(readErrno)
                               : std::string()));
  return bytes;
}

Status writeFileBytes(const std::string &path, const std::vector<uint8_t> &b) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return Status::error("cannot create '" + path +
                         "': " + std::strerror(errno));
  errno = 0;
  size_t n = b.empty() ? 0 : std::fwrite(b.data(), 1, b.size(), f);
  bool failed = n != b.size();
  // fclose() flushes; a full disk may only show up here.
  failed |= std::fclose(f) != 0;
  if (failed)
    return Status::error(
        "cannot write '" + path + "'" +
        (errno ? std::string(": ") + std::strerror(errno) : std::string()));
  return Status::success();
}

//===----------------------------------------------------------------------===//
// NpyArray
//===----------------------------------------------------------------------===//

static size_t dtypeSize(NpyDType t) {
  switch (t) {
  case NpyDType::F32:
    return 4;
  case NpyDType::F16:
    return 2;
  case NpyDType::I8:
    return 1;
  }
  return 1;
}

static const char *dtypeDescr(NpyDType t) {
  switch (t) {
  case NpyDType::F32:
    return "<f4";
  case NpyDType::F16:
    return "<f2";
  case NpyDType::I8:
    return "|i1";
  }
  return "|i1";
}

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::vector<float> NpyArray::toFloat() const {
  // Never read past `bytes`, even for an array built by hand with a shape
  // that does not match its data.
  size_t n = std::min<size_t>(size_t(std::max<int64_t>(numElements(), 0)),
                              bytes.size() / dtypeSize(dtype));
  std::vector<float> out(n);
  const uint8_t *b = bytes.data();
  for (size_t i = 0; i < n; ++i) {
    switch (dtype) {
    case NpyDType::F32: {
      // Assemble little-endian bits explicitly: correct on any host.
      uint32_t bits = uint32_t(b[4 * i]) | (uint32_t(b[4 * i + 1]) << 8) |
                      (uint32_t(b[4 * i + 2]) << 16) |
                      (uint32_t(b[4 * i + 3]) << 24);
      std::memcpy(&out[i], &bits, 4);
      break;
    }
    case NpyDType::F16:
      out[i] = halfToFloat(uint16_t(b[2 * i] | (b[2 * i + 1] << 8)));
      break;
    case NpyDType::I8:
      out[i] = float(int8_t(b[i]));
      break;
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {

/// A reader for the Python-literal dict of a .npy header. It accepts what
/// numpy writes (and what Python's literal syntax allows for these three
/// keys), nothing else.
struct HeaderParser {
  std::string_view s;
  size_t pos = 0;

  void skipSpace() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' ||
                              s[pos] == '\n' || s[pos] == '\r'))
      ++pos;
  }
  bool peek(char c) {
    skipSpace();
    return pos < s.size() && s[pos] == c;
  }
  bool eat(char c) {
    if (!peek(c))
      return false;
    ++pos;
    return true;
  }
  bool string(std::string &out) {
    skipSpace();
    if (pos >= s.size() || (s[pos] != '\'' && s[pos] != '"'))
      return false;
    char q = s[pos++];
    size_t end = s.find(q, pos);
    if (end == std::string_view::npos)
      return false;
    out = std::string(s.substr(pos, end - pos));
    pos = end + 1;
    return true;
  }
  bool word(std::string &out) {
    skipSpace();
    size_t start = pos;
    while (pos < s.size() && std::isalpha((unsigned char)s[pos]))
      ++pos;
    out = std::string(s.substr(start, pos - start));
    return !out.empty();
  }
  /// A non-negative decimal that fits in int64_t; Python 2's numpy wrote a
  /// trailing 'L' on some dimensions, which numpy still reads.
  bool integer(int64_t &out) {
    skipSpace();
    size_t start = pos;
    out = 0;
    while (pos < s.size() && std::isdigit((unsigned char)s[pos])) {
      int digit = s[pos++] - '0';
      if (out > (std::numeric_limits<int64_t>::max() - digit) / 10)
        return false;
      out = out * 10 + digit;
    }
    if (pos == start)
      return false;
    if (pos < s.size() && s[pos] == 'L')
      ++pos;
    return true;
  }
  bool atEnd() {
    skipSpace();
    return pos == s.size();
  }
};

} // namespace

Result<NpyArray> parseNpy(const uint8_t *data, size_t size) {
  using R = Result<NpyArray>;
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (!data || size < 8 || std::memcmp(data, magic, 6) != 0)
    return R::error("not a .npy file (bad magic)");
  uint8_t major = data[6];
  size_t headerLen, offset;
  if (major == 1) {
    if (size < 10)
      return R::error("truncated .npy header: " + std::to_string(size) +
                      " bytes");
    headerLen = data[8] | (size_t(data[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12)
      return R::error("truncated .npy header: " + std::to_string(size) +
                      " bytes");
    headerLen = data[8] | (size_t(data[9]) << 8) | (size_t(data[10]) << 16) |
                (size_t(data[11]) << 24);
    offset = 12;
  } else {
    return R::error("unsupported .npy format version " + std::to_string(major) +
                    "." + std::to_string(data[7]) +
                    " (this build reads 1.0, 2.0 and 3.0)");
  }
  if (headerLen > size - offset)
    return R::error("truncated .npy header: it claims " +
                    std::to_string(headerLen) + " bytes, " +
                    std::to_string(size - offset) + " remain");

  HeaderParser p{std::string_view(reinterpret_cast<const char *>(data + offset),
                                  headerLen)};
  std::string descr;
  bool fortran = false, sawDescr = false, sawOrder = false, sawShape = false;
  NpyArray array;
  if (!p.eat('{'))
    return R::error("malformed .npy header: expected a dict");
  while (!p.eat('}')) {
    std::string key;
    if (!p.string(key) || !p.eat(':'))
      return R::error("malformed .npy header: expected 'key': value");
    if (key == "descr") {
      if (!p.string(descr))
        return R::error("malformed .npy header: descr is not a string "
                        "(structured dtypes are not supported)");
      sawDescr = true;
    } else if (key == "fortran_order") {
      std::string w;
      if (!p.word(w) || (w != "True" && w != "False"))
        return R::error("malformed .npy header: fortran_order is not a bool");
      fortran = w == "True";
      sawOrder = true;
    } else if (key == "shape") {
      if (!p.eat('('))
        return R::error("malformed .npy header: shape is not a tuple");
      array.shape.clear();
      while (!p.eat(')')) {
        int64_t d;
        if (!p.integer(d))
          return R::error("malformed .npy header: bad dimension in shape");
        array.shape.push_back(d);
        // Python needs the comma of a 1-tuple; numpy always writes it.
        if (!p.eat(',') && !p.peek(')'))
          return R::error("malformed .npy header: bad shape tuple");
      }
      sawShape = true;
    } else {
      return R::error("malformed .npy header: unknown key '" + key + "'");
    }
    if (!p.eat(',')) {
      if (!p.eat('}'))
        return R::error("malformed .npy header: expected ',' or '}'");
      break;
    }
  }
  if (!p.atEnd())
    return R::error("malformed .npy header: unexpected text after the dict");
  if (!sawDescr || !sawOrder || !sawShape)
    return R::error("malformed .npy header: descr, fortran_order and shape "
                    "are all required");
  if (fortran)
    return R::error("Fortran-order .npy arrays are not supported; save the "
                    "array in C order (np.ascontiguousarray)");
  if (descr == "<f4")
    array.dtype = NpyDType::F32;
  else if (descr == "<f2")
    array.dtype = NpyDType::F16;
  else if (descr == "|i1" || descr == "<i1")
    array.dtype = NpyDType::I8;
  else
    return R::error("unsupported .npy dtype '" + descr +
                    "'; expected '<f4', '<f2' or '|i1'");

  // The byte count is computed in uint64_t with every step bounded, so a
  // hostile shape cannot overflow it.
  uint64_t count = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / 8 / d)
      return R::error(".npy shape is too large");
    count *= uint64_t(d);
  }
  uint64_t want = count * dtypeSize(array.dtype);
  size_t dataOffset = offset + headerLen;
  uint64_t have = size - dataOffset;
  if (want != have)
    return R::error(std::string(want > have ? "truncated" : "oversized") +
                    " .npy data: the shape needs " + std::to_string(want) +
                    " bytes, the file holds " + std::to_string(have));
  array.bytes.assign(data + dataOffset, data + size);
  return array;
}

Result<NpyArray> readNpy(const std::string &path) {
  Result<std::vector<uint8_t>> bytes = readFileBytes(path);
  if (!bytes.ok())
    return bytes.getStatus();
  Result<NpyArray> a = parseNpy(bytes->data(), bytes->size());
  if (!a.ok())
    return Result<NpyArray>::error("'" + path + "': " + a.message());
  return a;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

std::vector<uint8_t> serializeNpy(const NpyArray &array) {
  // Python's repr of the shape tuple: "()", "(4,)", "(2, 3)".
  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    if (i)
      shape += ", ";
    shape += std::to_string(array.shape[i]);
  }
  if (array.shape.size() == 1)
    shape += ",";
  shape += ")";
  std::string header = std::string("{'descr': '") + dtypeDescr(array.dtype) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // numpy (1.24+) leaves room for the first dimension to grow to 21 digits,
  // so that appending rows can rewrite the header in place.
  if (!array.shape.empty()) {
    size_t digits = std::to_string(array.shape[0]).size();
    if (digits < 21)
      header.append(21 - digits, ' ');
  }
  // Version 1.0 while the header length fits in 16 bits, else 2.0. Spaces
  // and a final '\n' make the data start 64-byte aligned; like numpy, at
  // least one space.
  size_t hlen = header.size() + 1;
  size_t pad = 64 - (10 + hlen) % 64;
  int version = hlen + pad <= 0xFFFF ? 1 : 2;
  if (version == 2)
    pad = 64 - (12 + hlen) % 64;
  header.append(pad, ' ');
  header += '\n';

  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(version),
                              0};
  size_t len = header.size();
  out.push_back(uint8_t(len));
  out.push_back(uint8_t(len >> 8));
  if (version == 2) {
    out.push_back(uint8_t(len >> 16));
    out.push_back(uint8_t(len >> 24));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), array.bytes.begin(), array.bytes.end());
  return out;
}

Status writeNpy(const std::string &path, const NpyArray &array) {
  return writeFileBytes(path, serializeNpy(array));
}

NpyArray makeNpyF32(std::vector<int64_t> shape, const std::vector<float> &v) {
  NpyArray a;
  a.dtype = NpyDType::F32;
  a.shape = std::move(shape);
  a.bytes.reserve(v.size() * 4);
  for (float f : v) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    for (int i = 0; i < 4; ++i)
      a.bytes.push_back(uint8_t(bits >> (8 * i)));
  }
  return a;
}

NpyArray makeNpyF16(std::vector<int64_t> shape, const std::vector<float> &v) {
  NpyArray a;
  a.dtype = NpyDType::F16;
  a.shape = std::move(shape);
  a.bytes.reserve(v.size() * 2);
  for (float f : v) {
    uint16_t h = floatToHalf(f);
    a.bytes.push_back(uint8_t(h));
    a.bytes.push_back(uint8_t(h >> 8));
  }
  return a;
}

NpyArray makeNpyI8(std::vector<int64_t> shape, const std::vector<int8_t> &v) {
  NpyArray a;
  a.dtype = NpyDType::I8;
  a.shape = std::move(shape);
  a.bytes.assign(v.begin(), v.end());
  return a;
}

} // namespace sherry::format
