//===- Npy.cpp - .npy arrays, whole-file I/O and half floats --------------===//

#include "sherry/Format/FileIO.h"

#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

namespace sherry::format {

//===----------------------------------------------------------------------===//
// Whole files
//===----------------------------------------------------------------------===//

Result<std::vector<uint8_t>> readFileBytes(const std::string &path) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return Result<std::vector<uint8_t>>::error("cannot open '" + path +
                                               "': " + std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    bytes.insert(bytes.end(), buf, buf + n);
  bool failed = std::ferror(f);
  std::fclose(f);
  if (failed)
    return Result<std::vector<uint8_t>>::error("cannot read '" + path + "'");
  return bytes;
}

Status writeFileBytes(const std::string &path, const std::vector<uint8_t> &b) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return Status::error("cannot create '" + path +
                         "': " + std::strerror(errno));
  size_t n = b.empty() ? 0 : std::fwrite(b.data(), 1, b.size(), f);
  bool failed = n != b.size() || std::fclose(f) != 0;
  if (failed)
    return Status::error("cannot write '" + path + "'");
  return Status::success();
}

//===----------------------------------------------------------------------===//
// .npy
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

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::vector<float> NpyArray::toFloat() const {
  int64_t n = numElements();
  std::vector<float> out(n);
  for (int64_t i = 0; i < n; ++i) {
    switch (dtype) {
    case NpyDType::F32:
      std::memcpy(&out[i], &bytes[4 * i], 4);
      break;
    case NpyDType::F16:
      out[i] = halfToFloat(uint16_t(bytes[2 * i] | (bytes[2 * i + 1] << 8)));
      break;
    case NpyDType::I8:
      out[i] = float(int8_t(bytes[i]));
      break;
    }
  }
  return out;
}

namespace {

/// A tiny reader for the Python-literal header dict of .npy files.
struct HeaderParser {
  std::string_view s;
  size_t pos = 0;

  void skipSpace() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n'))
      ++pos;
  }
  bool eat(char c) {
    skipSpace();
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
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
  bool integer(int64_t &out) {
    skipSpace();
    size_t start = pos;
    out = 0;
    while (pos < s.size() && std::isdigit((unsigned char)s[pos])) {
      if (out > (std::numeric_limits<int64_t>::max() - 9) / 10)
        return false;
      out = out * 10 + (s[pos++] - '0');
    }
    return pos > start;
  }
};

} // namespace

Result<NpyArray> parseNpy(const uint8_t *data, size_t size) {
  using R = Result<NpyArray>;
  static const char magic[] = "\x93NUMPY";
  if (size < 10 || std::memcmp(data, magic, 6) != 0)
    return R::error("not a .npy file (bad magic)");
  uint8_t major = data[6];
  size_t headerLen, offset;
  if (major == 1) {
    headerLen = data[8] | (size_t(data[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12)
      return R::error("truncated .npy header");
    headerLen = data[8] | (size_t(data[9]) << 8) | (size_t(data[10]) << 16) |
                (size_t(data[11]) << 24);
    offset = 12;
  } else {
    return R::error("unsupported .npy format version " + std::to_string(major));
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
        return R::error("malformed .npy header: descr is not a string");
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
      while (!p.eat(')')) {
        int64_t d;
        if (!p.integer(d))
          return R::error("malformed .npy header: bad dimension in shape");
        array.shape.push_back(d);
        if (!p.eat(',') &&
            !(p.skipSpace(), p.pos < p.s.size() && p.s[p.pos] == ')'))
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
  if (!sawDescr || !sawOrder || !sawShape)
    return R::error("malformed .npy header: descr, fortran_order and shape "
                    "are all required");
  if (fortran)
    return R::error("Fortran-order .npy arrays are not supported; save the "
                    "array in C order");
  if (descr == "<f4")
    array.dtype = NpyDType::F32;
  else if (descr == "<f2")
    array.dtype = NpyDType::F16;
  else if (descr == "|i1" || descr == "<i1")
    array.dtype = NpyDType::I8;
  else
    return R::error("unsupported .npy dtype '" + descr +
                    "'; expected '<f4', '<f2' or '|i1'");

  uint64_t count = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / 8 / d)
      return R::error(".npy shape is too large");
    count *= uint64_t(d);
  }
  uint64_t want = count * dtypeSize(array.dtype);
  size_t dataOffset = offset + headerLen;
  if (want != size - dataOffset)
    return R::error(
        std::string(want > size - dataOffset ? "truncated" : "oversized") +
        " .npy data: the shape needs " + std::to_string(want) +
        " bytes, the file holds " + std::to_string(size - dataOffset));
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

std::vector<uint8_t> serializeNpy(const NpyArray &array) {
  const char *descr = array.dtype == NpyDType::F32   ? "<f4"
                      : array.dtype == NpyDType::F16 ? "<f2"
                                                     : "|i1";
  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); ++i)
    shape += std::to_string(array.shape[i]) +
             (i + 1 < array.shape.size() || array.shape.size() == 1 ? "," : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that the data starts 64-byte aligned, then '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.push_back(uint8_t(header.size() & 0xFF));
  out.push_back(uint8_t(header.size() >> 8));
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
  a.bytes.resize(v.size() * 4);
  if (!v.empty())
    std::memcpy(a.bytes.data(), v.data(), v.size() * 4);
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
