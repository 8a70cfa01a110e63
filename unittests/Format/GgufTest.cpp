//===- GgufTest.cpp - GGUF files: round trips and hostile bytes -----------===//
//
// Round trips keep every byte (metadata of every type, tensors of several
// ggml types, STQ1_0 weights); files written here byte by byte, without the
// library's writer, pin the layout; every truncation and many corruptions of
// a valid file give an error or a valid file, never a crash (run under
// ASan); every check of the parser and the writer has its own case.
//
//===----------------------------------------------------------------------===//

#include "sherry/Format/Gguf.h"
#include "TestUtils.h"
#include "sherry/Format/FileIO.h"
#include "sherry/Format/Half.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace sherry::format;
using namespace sherry::format::test;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Little-endian bytes written by hand, independent of the library.
struct Bytes {
  std::vector<uint8_t> b;
  Bytes &u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Bytes &u32(uint32_t v) {
    for (int i = 0; i < 4; ++i)
      b.push_back(uint8_t(v >> (8 * i)));
    return *this;
  }
  Bytes &u64(uint64_t v) {
    for (int i = 0; i < 8; ++i)
      b.push_back(uint8_t(v >> (8 * i)));
    return *this;
  }
  Bytes &s(const std::string &v) {
    u64(v.size());
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
  Bytes &header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    b.insert(b.end(), {'G', 'G', 'U', 'F'});
    return u32(version).u64(tensors).u64(kvs);
  }
  Bytes &pad(size_t align) {
    while (b.size() % align)
      b.push_back(0);
    return *this;
  }
};

Result<GgufFile> parse(const std::vector<uint8_t> &bytes,
                       const GgufOptions &options = {}) {
  return parseGguf(bytes.data(), bytes.size(), options);
}

/// STQ1_0 weights of random floats.
PackedWeights stqWeights(int64_t rows, int64_t cols, unsigned seed) {
  std::vector<float> w = randomWeights(rows, cols, seed);
  auto t =
      ternarize(w.data(), rows, cols, Layout::Stq1_0, ScaleSpec::group(256));
  EXPECT_TRUE(t.ok()) << t.message();
  auto p = pack(*t, Layout::Stq1_0);
  EXPECT_TRUE(p.ok()) << p.message();
  return *p;
}

std::vector<uint8_t> le(std::initializer_list<uint64_t> values, size_t bytes) {
  std::vector<uint8_t> out;
  for (uint64_t v : values)
    for (size_t i = 0; i < bytes; ++i)
      out.push_back(uint8_t(v >> (8 * i)));
  return out;
}

/// Metadata of every value type, arrays of every element type included.
GgufFile everyTypeFile() {
  GgufFile f;
  f.setMetadata("general.architecture", GgufValue::str("llama"));
  f.setMetadata("k.u8", GgufValue::scalar(GgufType::UInt8, 200));
  f.setMetadata("k.i8", GgufValue::scalar(GgufType::Int8, 0x80));
  f.setMetadata("k.u16", GgufValue::scalar(GgufType::UInt16, 65535));
  f.setMetadata("k.i16", GgufValue::scalar(GgufType::Int16, 0xFFFE));
  f.setMetadata("k.u32", GgufValue::u32(4000000000u));
  f.setMetadata("k.i32", GgufValue::i32(-7));
  f.setMetadata("k.f32", GgufValue::f32(0.1f));
  f.setMetadata("k.bool", GgufValue::boolean(true));
  f.setMetadata("k.u64", GgufValue::u64(~uint64_t(0)));
  f.setMetadata("k.i64", GgufValue::i64(std::numeric_limits<int64_t>::min()));
  f.setMetadata("k.f64", GgufValue::f64(-2.5e300));
  // A NaN with a payload keeps its bits.
  f.setMetadata("k.nan", GgufValue::scalar(GgufType::Float32, 0x7FC01234));
  f.setMetadata("k.empty", GgufValue::str(""));
  f.setMetadata("k.text", GgufValue::str(std::string("a\0\"b\n", 5)));
  f.setMetadata("a.u8", GgufValue::scalarArray(GgufType::UInt8, {1, 2, 3}));
  f.setMetadata("a.i8", GgufValue::scalarArray(GgufType::Int8, {0xFF}));
  f.setMetadata("a.u16",
                GgufValue::scalarArray(GgufType::UInt16, le({1, 65535}, 2)));
  f.setMetadata("a.i16", GgufValue::scalarArray(GgufType::Int16, le({2}, 2)));
  f.setMetadata("a.u32",
                GgufValue::scalarArray(GgufType::UInt32, le({7, 8, 9}, 4)));
  f.setMetadata("a.i32",
                GgufValue::scalarArray(GgufType::Int32, le({0xFFFFFFFF}, 4)));
  f.setMetadata("a.f32",
                GgufValue::scalarArray(GgufType::Float32, le({0x3F800000}, 4)));
  f.setMetadata("a.bool", GgufValue::scalarArray(GgufType::Bool, {1, 0}));
  f.setMetadata("a.u64",
                GgufValue::scalarArray(GgufType::UInt64, le({1ull << 40}, 8)));
  f.setMetadata("a.i64", GgufValue::scalarArray(GgufType::Int64, le({5}, 8)));
  f.setMetadata("a.f64", GgufValue::scalarArray(GgufType::Float64,
                                                le({0x3FF0000000000000}, 8)));
  f.setMetadata("a.str",
                GgufValue::stringArray({"<s>", "", "\xE2\x96\x81the"}));
  f.setMetadata("a.empty", GgufValue::scalarArray(GgufType::Int32, {}));
  f.setMetadata("a.nested",
                GgufValue::arrayArray(
                    {GgufValue::stringArray({"x", "y"}),
                     GgufValue::scalarArray(GgufType::UInt8, {9}),
                     GgufValue::arrayArray({GgufValue::stringArray({})})}));
  return f;
}

/// A model-like file: metadata of every type, STQ1_0 weights, f32, f16 and
/// q8_0 tensors.
GgufFile modelFile() {
  GgufFile f = everyTypeFile();
  auto w0 = packedToTensor("blk.0.attn_q.weight", stqWeights(8, 512, 1));
  auto w1 = packedToTensor("blk.0.ffn_up.weight", stqWeights(3, 256, 2));
  EXPECT_TRUE(w0.ok() && w1.ok());
  f.setTensor(*w0);
  auto norm = floatsToTensor("blk.0.attn_norm.weight", {5},
                             {1.0f, -2.0f, 0.5f, 3.25f, 1e-3f});
  auto emb = floatsToTensor("token_embd.weight", {3, 2}, {1, 2, 3, 4, 5, 6},
                            kGgmlTypeF16);
  EXPECT_TRUE(norm.ok() && emb.ok());
  f.setTensor(*norm);
  f.setTensor(*emb);
  GgufTensor q8;
  q8.name = "output.weight";
  q8.dims = {64, 2};
  q8.type = 8; // q8_0: 34 bytes per 32 elements
  for (int i = 0; i < 4 * 34; ++i)
    q8.data.push_back(uint8_t(i * 7));
  f.setTensor(q8);
  f.setTensor(*w1);
  return f;
}

std::vector<uint8_t> serialize(const GgufFile &f,
                               const GgufOptions &options = {}) {
  auto bytes = serializeGguf(f, options);
  EXPECT_TRUE(bytes.ok()) << bytes.message();
  return bytes.ok() ? *bytes : std::vector<uint8_t>();
}

void expectError(const Result<GgufFile> &r, const std::string &needle) {
  ASSERT_FALSE(r.ok()) << "expected an error containing: " << needle;
  EXPECT_TRUE(contains(r.message(), needle)) << r.message();
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

TEST(Gguf, RoundTripKeepsEveryByte) {
  GgufFile f = modelFile();
  std::vector<uint8_t> bytes = serialize(f);
  auto back = parse(bytes);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->version, 3u);
  ASSERT_EQ(back->metadata.size(), f.metadata.size());
  for (size_t i = 0; i < f.metadata.size(); ++i) {
    EXPECT_EQ(back->metadata[i].first, f.metadata[i].first);
    EXPECT_TRUE(back->metadata[i].second == f.metadata[i].second)
        << f.metadata[i].first << ": " << back->metadata[i].second.toString();
  }
  ASSERT_EQ(back->tensors.size(), f.tensors.size());
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    EXPECT_EQ(back->tensors[i].name, f.tensors[i].name);
    EXPECT_EQ(back->tensors[i].dims, f.tensors[i].dims);
    EXPECT_EQ(back->tensors[i].type, f.tensors[i].type);
    EXPECT_EQ(back->tensors[i].data, f.tensors[i].data);
  }
  EXPECT_EQ(serialize(*back), bytes);
}

TEST(Gguf, StqTensorRoundTripThroughPackedWeights) {
  PackedWeights p = stqWeights(4, 768, 3);
  auto t = packedToTensor("w", p);
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t->type, kGgmlTypeStq1_0);
  EXPECT_EQ(t->dims, (std::vector<uint64_t>{768, 4}));
  EXPECT_EQ(t->data.size(), size_t(4 * 3 * 42));
  GgufFile f;
  f.setTensor(*t);
  std::vector<uint8_t> bytes = serialize(f);
  auto back = parse(bytes);
  ASSERT_TRUE(back.ok()) << back.message();
  auto q = tensorToPacked(back->tensors[0]);
  ASSERT_TRUE(q.ok()) << q.message();
  EXPECT_EQ(q->layout, Layout::Stq1_0);
  EXPECT_EQ(q->rows, 4);
  EXPECT_EQ(q->cols, 768);
  EXPECT_EQ(q->scaleSpec, ScaleSpec::group(256));
  EXPECT_EQ(q->data, p.data);
  // The .sherry file of the extracted weights puts them back unchanged.
  auto reread = parsePackedFile(serializePackedFile(*q).data(),
                                serializePackedFile(*q).size());
  ASSERT_TRUE(reread.ok()) << reread.message();
  auto again = packedToTensor("w", *reread);
  ASSERT_TRUE(again.ok());
  f.setTensor(*again);
  EXPECT_EQ(serialize(f), bytes);
}

TEST(Gguf, OneDimensionalStqTensorIsOneRow) {
  PackedWeights p = stqWeights(1, 256, 4);
  GgufTensor t;
  t.name = "v";
  t.dims = {256};
  t.type = kGgmlTypeStq1_0;
  t.data = p.data;
  auto q = tensorToPacked(t);
  ASSERT_TRUE(q.ok()) << q.message();
  EXPECT_EQ(q->rows, 1);
  EXPECT_EQ(q->cols, 256);
}

TEST(Gguf, HandWrittenBytesParseAndReserialize) {
  // One u32 key, one string-array key; one f32 tensor of 3 elements (12
  // bytes, padded to 32) and one i8 tensor of 2 elements.
  Bytes b;
  b.header(2, 2);
  b.s("general.alignment").u32(4).u32(32);
  b.s("tok").u32(9).u32(8).u64(2).s("a").s("bc");
  b.s("x").u32(1).u64(3).u32(0).u64(0);
  b.s("y").u32(2).u64(1).u64(2).u32(24).u64(32);
  b.pad(32);
  b.u32(0x3F800000).u32(0x40000000).u32(0xC0400000).pad(32);
  b.u8(5).u8(0xFB).pad(32);
  auto f = parse(b.b);
  ASSERT_TRUE(f.ok()) << f.message();
  ASSERT_EQ(f->metadata.size(), 2u);
  EXPECT_EQ(f->metadata[1].second.toString(),
            "array[string] (2) [\"a\", \"bc\"]");
  ASSERT_EQ(f->tensors.size(), 2u);
  auto x = tensorToFloats(f->tensors[0]);
  ASSERT_TRUE(x.ok()) << x.message();
  EXPECT_EQ(*x, (std::vector<float>{1.0f, 2.0f, -3.0f}));
  EXPECT_EQ(f->tensors[1].dims, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(f->tensors[1].data, (std::vector<uint8_t>{5, 0xFB}));
  EXPECT_EQ(serialize(*f), b.b);
}

TEST(Gguf, AlignmentIsHonoured) {
  GgufFile f = modelFile();
  f.setMetadata("general.alignment", GgufValue::u32(64));
  std::vector<uint8_t> bytes = serialize(f);
  EXPECT_EQ(bytes.size() % 64, 0u);
  auto back = parse(bytes);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(*back->alignment(), 64u);
  EXPECT_EQ(serialize(*back), bytes);
  // The first tensor's bytes start at a multiple of 64.
  const std::vector<uint8_t> &first = f.tensors[0].data;
  size_t start = bytes.size() - 1;
  for (size_t at = 0; at + first.size() <= bytes.size(); at += 64)
    if (std::equal(first.begin(), first.end(), bytes.begin() + at)) {
      start = at;
      break;
    }
  EXPECT_EQ(start % 64, 0u);
  EXPECT_LT(start, bytes.size() - 1);
}

TEST(Gguf, VersionTwoIsKept) {
  GgufFile f = everyTypeFile();
  f.version = 2;
  std::vector<uint8_t> bytes = serialize(f);
  auto back = parse(bytes);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->version, 2u);
  EXPECT_EQ(serialize(*back), bytes);
}

TEST(Gguf, MissingFinalPaddingIsAccepted) {
  std::vector<uint8_t> bytes = serialize(modelFile());
  // The last tensor (3 x 256 stq1_0 = 126 bytes) is followed by 2 bytes of
  // padding to 32.
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 2);
  auto f = parse(cut);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(serialize(*f), bytes);
}

TEST(Gguf, Stq1TypeIsAnOption) {
  GgufOptions alt;
  alt.stq1Type = 43;
  auto t = packedToTensor("w", stqWeights(2, 256, 5), alt);
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t->type, 43u);
  GgufFile f;
  f.setTensor(*t);
  std::vector<uint8_t> bytes = serialize(f, alt);
  auto withAlt = parse(bytes, alt);
  ASSERT_TRUE(withAlt.ok()) << withAlt.message();
  EXPECT_TRUE(tensorToPacked(withAlt->tensors[0], alt).ok());
  expectError(parse(bytes), "unknown ggml type 43 (stq1_0 is read as 42");
  GgufOptions clash;
  clash.stq1Type = 14;
  expectError(parse(bytes, clash),
              "the stq1_0 type id 14 is upstream ggml's q6_K");
}

TEST(Gguf, FloatTensors) {
  auto f32 = floatsToTensor("a", {2, 2}, {1.5f, -0.0f, 3e30f, 1e-40f});
  ASSERT_TRUE(f32.ok());
  EXPECT_EQ(*tensorToFloats(*f32),
            (std::vector<float>{1.5f, -0.0f, 3e30f, 1e-40f}));
  auto f16 = floatsToTensor("b", {3}, {1.0f, 0.1f, 70000.0f}, kGgmlTypeF16);
  ASSERT_TRUE(f16.ok());
  std::vector<float> back = *tensorToFloats(*f16);
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], halfToFloat(floatToHalf(0.1f)));
  EXPECT_TRUE(std::isinf(back[2]));
  GgufTensor bf16;
  bf16.name = "c";
  bf16.dims = {2};
  bf16.type = kGgmlTypeBF16;
  bf16.data = {0x80, 0x3F, 0x40, 0xC0}; // 1.0, -3.0
  EXPECT_EQ(*tensorToFloats(bf16), (std::vector<float>{1.0f, -3.0f}));

  auto wrongCount = floatsToTensor("d", {4}, {1, 2, 3});
  ASSERT_FALSE(wrongCount.ok());
  EXPECT_TRUE(contains(wrongCount.message(),
                       "tensor 'd' has dims of 4 elements but 3 values"));
  auto wrongType = floatsToTensor("e", {1}, {1}, 8);
  ASSERT_FALSE(wrongType.ok());
  EXPECT_TRUE(contains(wrongType.message(), "not ggml type 8"));
  GgufTensor q;
  q.name = "q";
  q.type = 8;
  auto notFloat = tensorToFloats(q);
  ASSERT_FALSE(notFloat.ok());
  EXPECT_TRUE(contains(notFloat.message(),
                       "only f32, f16 and bf16 tensors convert to floats"));
}

TEST(Gguf, ValueText) {
  GgufFile f = everyTypeFile();
  auto text = [&](const char *key) { return f.findMetadata(key)->toString(); };
  EXPECT_EQ(text("general.architecture"), "string \"llama\"");
  EXPECT_EQ(text("k.i8"), "i8 -128");
  EXPECT_EQ(text("k.i16"), "i16 -2");
  EXPECT_EQ(text("k.u32"), "u32 4000000000");
  EXPECT_EQ(text("k.f32"), "f32 0.100000001");
  EXPECT_EQ(text("k.bool"), "bool true");
  EXPECT_EQ(text("k.i64"), "i64 -9223372036854775808");
  EXPECT_EQ(text("k.text"), "string \"a\\x00\\\"b\\n\"");
  EXPECT_EQ(text("a.i32"), "array[i32] (1) [-1]");
  EXPECT_EQ(text("a.f64"), "array[f64] (1) [1]");
  EXPECT_EQ(text("a.empty"), "array[i32] (0) []");
  EXPECT_EQ(text("a.nested"),
            "array[array] (3) [array[string] (2) [\"x\", \"y\"], array[u8] "
            "(1) [9], array[array] (1) [array[string] (0) []]]");
  EXPECT_EQ(f.findMetadata("a.u32")->toString(2), "array[u32] (3) [7, 8, ...]");
  EXPECT_EQ(*f.findMetadata("k.u16")->asUnsigned(), 65535u);
  EXPECT_FALSE(f.findMetadata("k.i32")->asUnsigned().ok());
  EXPECT_FALSE(f.findMetadata("k.f32")->asUnsigned().ok());
}

TEST(Gguf, ValueCodec) {
  GgufFile f = everyTypeFile();
  for (const auto &[key, value] : f.metadata) {
    std::vector<uint8_t> bytes = serializeGgufValue(value);
    auto back = parseGgufValue(bytes.data(), bytes.size());
    ASSERT_TRUE(back.ok()) << key << ": " << back.message();
    EXPECT_TRUE(*back == value) << key;
    for (size_t n = 0; n < bytes.size(); ++n)
      EXPECT_FALSE(parseGgufValue(bytes.data(), n).ok()) << key << " " << n;
  }
  std::vector<uint8_t> u32 = serializeGgufValue(GgufValue::u32(7));
  EXPECT_EQ(u32, (std::vector<uint8_t>{4, 0, 0, 0, 7, 0, 0, 0}));
  u32.push_back(0);
  auto extra = parseGgufValue(u32.data(), u32.size());
  ASSERT_FALSE(extra.ok());
  EXPECT_TRUE(contains(extra.message(), "1 unexpected bytes after the value"));
  auto none = parseGgufValue(nullptr, 4);
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(contains(none.message(), "the value type needs 4 bytes"));
}

TEST(Gguf, FileEditing) {
  GgufFile f = modelFile();
  size_t n = f.metadata.size();
  f.setMetadata("k.u8", GgufValue::scalar(GgufType::UInt8, 1));
  EXPECT_EQ(f.metadata.size(), n);
  EXPECT_EQ(f.findMetadata("k.u8")->bits, 1u);
  EXPECT_TRUE(f.eraseMetadata("k.u8"));
  EXPECT_FALSE(f.eraseMetadata("k.u8"));
  EXPECT_EQ(f.findMetadata("k.u8"), nullptr);
  // Replacing a tensor keeps its place.
  auto w = packedToTensor("blk.0.attn_q.weight", stqWeights(2, 256, 9));
  ASSERT_TRUE(w.ok());
  f.setTensor(*w);
  EXPECT_EQ(f.tensors[0].dims, (std::vector<uint64_t>{256, 2}));
  EXPECT_EQ(f.tensors.size(), 5u);
}

//===----------------------------------------------------------------------===//
// Hostile bytes
//===----------------------------------------------------------------------===//

TEST(Gguf, EveryTruncationFailsCleanly) {
  std::vector<uint8_t> bytes = serialize(modelFile());
  // The last tensor's data ends 2 bytes before the file (its padding).
  size_t unpaddedEnd = bytes.size() - 2;
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = parseGguf(bytes.data(), n);
    EXPECT_EQ(r.ok(), n >= unpaddedEnd) << "prefix of " << n << " bytes";
    if (!r.ok())
      EXPECT_FALSE(r.message().empty());
  }
  EXPECT_FALSE(parseGguf(nullptr, 100).ok());
}

TEST(Gguf, CorruptBytesNeverCrash) {
  GgufFile f = modelFile();
  std::vector<uint8_t> bytes = serialize(f);
  // Everything before the tensor data: every byte set to values that probe
  // lengths, counts and types.
  size_t headerEnd = bytes.size();
  for (const GgufTensor &t : f.tensors)
    headerEnd -= (t.data.size() + 31) / 32 * 32;
  for (size_t i = 0; i < headerEnd; ++i)
    for (uint8_t v : {uint8_t(0x00), uint8_t(0x01), uint8_t(0x0D),
                      uint8_t(0x7F), uint8_t(0x80), uint8_t(0xFF)}) {
      std::vector<uint8_t> bad = bytes;
      bad[i] = v;
      auto r = parse(bad);
      if (r.ok())
        EXPECT_TRUE(serializeGguf(*r).ok()) << "byte " << i;
      else
        EXPECT_FALSE(r.message().empty());
    }
}

TEST(Gguf, HeaderErrors) {
  expectError(parse({'G', 'G', 'U', 'X'}), "not a GGUF file (bad magic)");
  expectError(parse({}), "truncated at byte 0: the 24-byte GGUF header");
  expectError(parse({'G', 'G'}), "truncated at byte 0");
  expectError(parse(Bytes().header(0, 0, 1).b), "unsupported GGUF version 1");
  expectError(parse(Bytes().header(0, 0, 0x03000000).b),
              "big-endian GGUF files are not supported");
  auto few = Bytes().header(0, 0).b;
  few.resize(20);
  expectError(parse(few), "truncated at byte 16: the 24-byte GGUF header "
                          "needs 8 bytes, 4 remain");
  expectError(parse(Bytes().header(0, 1000).b),
              "the header claims 1000 metadata entries");
  expectError(parse(Bytes().header(1000, 0).b),
              "the header claims 1000 tensors");
  expectError(parse(Bytes().header(0, ~uint64_t(0)).b),
              "metadata entries, more than the 0 remaining bytes can hold");
  // An empty file: no tensors, no metadata.
  auto empty = parse(Bytes().header(0, 0).b);
  ASSERT_TRUE(empty.ok()) << empty.message();
  EXPECT_TRUE(empty->tensors.empty());
}

TEST(Gguf, MetadataErrors) {
  auto one = [](Bytes kv) {
    Bytes b;
    b.header(0, 1);
    b.b.insert(b.b.end(), kv.b.begin(), kv.b.end());
    b.b.resize(b.b.size() + 16, 0); // room for the count checks
    return b.b;
  };
  expectError(parse(one(Bytes().u64(1000))),
              "the key of metadata entry 0 claims 1000 bytes");
  expectError(parse(one(Bytes().s("k").u32(13))),
              "metadata 'k' has unknown value type 13 (GGUF defines 0..12)");
  expectError(parse(one(Bytes().s("k").u32(9).u32(99).u64(0))),
              "metadata 'k' is an array of unknown value type 99");
  expectError(parse(one(Bytes().s("k").u32(9).u32(4).u64(100))),
              "metadata 'k' claims 100 elements of u32 (at least 4 bytes "
              "each)");
  expectError(parse(one(Bytes().s("k").u32(9).u32(8).u64(1ull << 62))),
              "claims 4611686018427387904 elements of string");
  expectError(parse(one(Bytes().s("k").u32(9).u32(8).u64(1).u64(500))),
              "string 0 of metadata 'k' claims 500 bytes");
  expectError(parse(one(Bytes().s("k").u32(8).u64(~uint64_t(0)))),
              "metadata 'k' claims 18446744073709551615 bytes");
  // Arrays nested 17 deep.
  Bytes deep;
  deep.s("k").u32(9);
  for (int i = 0; i < 17; ++i)
    deep.u32(9).u64(1);
  deep.u32(0).u64(0);
  expectError(parse(one(deep)), "nests arrays more than 16 deep");

  Bytes dup;
  dup.header(0, 2).s("k").u32(0).u8(1).s("k").u32(0).u8(2);
  expectError(parse(dup.b), "duplicate metadata key 'k'");
  Bytes align;
  align.header(0, 1).s("general.alignment").u32(10).u64(32);
  expectError(parse(align.b), "general.alignment is a u64, not a u32");
  Bytes align3;
  align3.header(0, 1).s("general.alignment").u32(4).u32(48);
  expectError(parse(align3.b), "general.alignment = 48 is not a power of two");
  Bytes align0;
  align0.header(0, 1).s("general.alignment").u32(4).u32(0);
  expectError(parse(align0.b), "general.alignment = 0 is not a power of two");
  // A power of two past the bound: the writer would pad the header to it
  // (the 109-byte reproducer of a 2 GiB allocation, without tensors).
  Bytes huge;
  huge.header(0, 1).s("general.alignment").u32(4).u32(0x80000000u);
  expectError(parse(huge.b), "general.alignment = 2147483648 is more than the "
                             "2097152 bytes this library accepts");
  Bytes largest;
  largest.header(0, 1).s("general.alignment").u32(4).u32(1u << 21);
  Result<GgufFile> ok = parse(largest.b);
  ASSERT_TRUE(ok.ok()) << ok.getStatus().message();
  EXPECT_EQ(*ok->alignment(), kGgufMaxAlignment);
  Bytes cut;
  cut.header(0, 1).s("k").u32(4).u8(1);
  expectError(parse(cut.b), "metadata 'k' needs 4 bytes, 1 remain");
}

/// A file with one tensor info written by hand, then its data.
std::vector<uint8_t> oneTensor(const std::string &name,
                               std::vector<uint64_t> dims, uint32_t type,
                               uint64_t offset, size_t dataBytes) {
  Bytes b;
  b.header(1, 0).s(name).u32(uint32_t(dims.size()));
  for (uint64_t d : dims)
    b.u64(d);
  b.u32(type).u64(offset).pad(32);
  b.b.resize(b.b.size() + dataBytes, 0);
  return b.b;
}

TEST(Gguf, TensorInfoErrors) {
  ASSERT_TRUE(parse(oneTensor("t", {4}, 0, 0, 16)).ok());
  expectError(parse(oneTensor("t", {4}, 0, 32, 16)),
              "tensor 't' has data offset 32, expected 0");
  expectError(parse(oneTensor("t", {4}, 0, 0, 8)),
              "truncated: the tensor data ends at byte");
  expectError(parse(oneTensor("t", {4}, 0, 0, 40)),
              "8 unexpected bytes after the tensor data");
  expectError(parse(oneTensor("t", {1, 1, 1, 1, 1}, 0, 0, 4)),
              "tensor 't' has 5 dims; ggml tensors have at most 4");
  expectError(parse(oneTensor("t", {1ull << 63}, 0, 0, 4)),
              "tensor 't' has dim 0 = 9223372036854775808, beyond int64");
  expectError(parse(oneTensor("t", {1ull << 32, 1ull << 32}, 0, 0, 4)),
              "tensor 't' has more elements than int64 can count");
  expectError(parse(oneTensor("t", {1ull << 62}, 0, 0, 4)),
              "tensor 't' has more data bytes than 64 bits can count");
  expectError(parse(oneTensor("t", {100}, 14, 0, 4)),
              "tensor 't' of type q6_K has ne[0] = 100, not a multiple of its "
              "block of 256 elements");
  expectError(parse(oneTensor("t", {4}, 4, 0, 4)),
              "tensor 't': unknown ggml type 4");
  expectError(parse(oneTensor(std::string(65, 'n'), {4}, 0, 0, 16)),
              "the name of tensor 0 has 65 bytes; GGUF allows 64");
  // Huge data that would wrap the offsets.
  expectError(parse(oneTensor("t", {(1ull << 62) - 32}, 24, 0, 4)),
              "truncated: the tensor data ends at byte");

  Bytes dup;
  dup.header(2, 0).s("t").u32(1).u64(8).u32(24).u64(0);
  dup.s("t").u32(1).u64(8).u32(24).u64(32).pad(32);
  dup.b.resize(dup.b.size() + 64, 0);
  expectError(parse(dup.b), "duplicate tensor name 't'");
  Bytes cut;
  cut.header(1, 0).s("t").u32(2).u64(8).u32(0);
  expectError(parse(cut.b), "dim 1 of tensor 't' needs 8 bytes, 4 remain");
}

/// Upstream ggml (July 2026) numbers Q2_0 42, the default STQ1_0 id: a
/// file of its Q2_0 tensors does not read as STQ1_0 data of other sizes
/// silently; the error names the tensor, the id and the other type.
TEST(Gguf, Stq1IdThatIsAnotherTypeUpstreamIsNamed) {
  EXPECT_EQ(stq1TypeCollision(43), "");
  EXPECT_EQ(stq1TypeCollision(42),
            "q2_0 in ggml since July 2026 (GGML_TYPE_Q2_0), blocks of 64 "
            "weights in 18 bytes where STQ1_0 has 256 in 42");
  // Q2_0 {256, 2}: 2 rows x 4 blocks x 18 bytes = 144, padded to 160;
  // then an f32 vector of 4.
  Bytes b;
  b.header(2, 0);
  b.s("blk.0.w").u32(2).u64(256).u64(2).u32(42).u64(0);
  b.s("n").u32(1).u64(4).u32(0).u64(160);
  b.pad(32);
  b.b.resize(b.b.size() + 160 + 16, 0);
  const std::string hint =
      "; tensor 'blk.0.w' was read as STQ1_0 (type id 42), but "
      "type id 42 is q2_0 in ggml since July 2026";
  expectError(parse(b.b), "tensor 'n' has data offset 160, expected 96");
  expectError(parse(b.b), hint);
  // The last tensor: its extra bytes are named the same way.
  Bytes last;
  last.header(1, 0).s("blk.0.w").u32(2).u64(256).u64(2).u32(42).u64(0);
  last.pad(32);
  last.b.resize(last.b.size() + 160, 0);
  expectError(parse(last.b), "64 unexpected bytes after the tensor data");
  expectError(parse(last.b), hint);
  // Another id for STQ1_0 names no other type, only the option.
  GgufOptions other;
  other.stq1Type = 43;
  Bytes b43;
  b43.header(1, 0).s("w").u32(2).u64(256).u64(2).u32(43).u64(0);
  b43.pad(32);
  b43.b.resize(b43.b.size() + 160, 0);
  Result<GgufFile> r = parseGguf(b43.b.data(), b43.b.size(), other);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.message(), "was read as STQ1_0 (type id 43): if "
                                    "the file's STQ1_0 tensors have another "
                                    "id, pass it with --stq1_0-type"))
      << r.message();
}

TEST(Gguf, WriterRefusesWhatTheParserWould) {
  auto expectWriteError = [](const GgufFile &f, const std::string &needle) {
    auto r = serializeGguf(f);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_TRUE(contains(r.message(), needle)) << r.message();
  };
  GgufFile f = modelFile();
  f.tensors[1].data.pop_back();
  expectWriteError(f, "tensor 'blk.0.attn_norm.weight' has 19 data bytes; "
                      "its dims and type need 20");
  f = modelFile();
  f.tensors.push_back(f.tensors[0]);
  expectWriteError(f, "duplicate tensor name 'blk.0.attn_q.weight'");
  f = modelFile();
  f.metadata.push_back(f.metadata[0]);
  expectWriteError(f, "duplicate metadata key 'general.architecture'");
  f = modelFile();
  f.setMetadata("general.alignment", GgufValue::u32(3));
  expectWriteError(f, "general.alignment = 3 is not a power of two");
  f = modelFile();
  f.setMetadata("general.alignment", GgufValue::u32(1u << 22));
  expectWriteError(f, "general.alignment = 4194304 is more than the 2097152 "
                      "bytes this library accepts");
  f = modelFile();
  f.tensors[0].name = std::string(65, 'x');
  expectWriteError(f, "GGUF allows 64");
  f = modelFile();
  f.version = 1;
  expectWriteError(f, "cannot write GGUF version 1");
  f = modelFile();
  f.setMetadata("bad", GgufValue::scalarArray(GgufType::UInt32, {1, 2, 3}));
  expectWriteError(f, "metadata 'bad' has 3 bytes of elements, not a "
                      "multiple of 4");
  f = modelFile();
  GgufValue mixed = GgufValue::stringArray({"a"});
  mixed.raw = {1};
  f.setMetadata("mixed", mixed);
  expectWriteError(f, "metadata 'mixed' holds elements of another type");
  f = modelFile();
  f.tensors[0].type = 99;
  expectWriteError(f, "unknown ggml type 99");
  EXPECT_FALSE(tensorDataSize(f.tensors[0]).ok());
  EXPECT_EQ(*tensorDataSize(modelFile().tensors[3]), 4u * 34u);

  auto w = writeGguf("/nonexistent/dir/x.gguf", modelFile());
  EXPECT_TRUE(contains(w.message(), "cannot create '/nonexistent/dir/x.gguf'"))
      << w.message();
  f.tensors[0].type = 99;
  auto refused = writeGguf("/tmp/never-written.gguf", f);
  EXPECT_TRUE(contains(refused.message(),
                       "refusing to write '/tmp/never-written.gguf'"));
}

TEST(Gguf, PackedWeightErrors) {
  GgufFile f = modelFile();
  auto notStq = tensorToPacked(f.tensors[1]);
  ASSERT_FALSE(notStq.ok());
  EXPECT_TRUE(contains(notStq.message(),
                       "tensor 'blk.0.attn_norm.weight' has type f32, not "
                       "stq1_0 (type id 42)"));
  GgufTensor t = f.tensors[0];
  t.dims = {512, 4, 2};
  auto rank3 = tensorToPacked(t);
  ASSERT_FALSE(rank3.ok());
  EXPECT_TRUE(contains(rank3.message(), "has 3 dims; stq1_0 weights are"));
  t = f.tensors[0];
  t.data.pop_back();
  auto shortData = tensorToPacked(t);
  ASSERT_FALSE(shortData.ok());
  EXPECT_TRUE(contains(shortData.message(), "has 671 data bytes; 8 x 512 "
                                            "stq1_0 needs 672"));
  t = f.tensors[0];
  t.dims = {0, 8};
  auto empty = tensorToPacked(t);
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(contains(empty.message(), "K = 0"));
  // A NaN block scale (the f16 d at bytes 40..41 of a block).
  t = f.tensors[0];
  t.data[42 * 3 + 40] = 0x00;
  t.data[42 * 3 + 41] = 0x7E;
  auto nan = tensorToPacked(t);
  ASSERT_FALSE(nan.ok());
  EXPECT_TRUE(
      contains(nan.message(), "the f16 scale of row 1, block 1 is NaN"));

  std::vector<float> w = randomWeights(2, 64, 1);
  auto sherry =
      pack(*ternarize(w.data(), 2, 64, Layout::Sherry, ScaleSpec::row()),
           Layout::Sherry);
  auto toTensor = packedToTensor("s", *sherry);
  ASSERT_FALSE(toTensor.ok());
  EXPECT_TRUE(contains(toTensor.message(),
                       "tensor 's': the weights are in the sherry layout; "
                       "GGUF holds stq1_0 blocks"));
  PackedWeights p = stqWeights(2, 256, 1);
  p.data.pop_back();
  EXPECT_FALSE(packedToTensor("p", p).ok());
}

} // namespace
