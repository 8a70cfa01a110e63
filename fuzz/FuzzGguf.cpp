//===- FuzzGguf.cpp - libFuzzer target for the GGUF reader ---------------===//
//
// parseGguf() on arbitrary bytes. What it accepts must serialize, parse back
// to an equal file, and serialize again to the same bytes; each tensor goes
// through tensorToPacked() / tensorToFloats() (failing is fine). The first
// byte picks the ggml type id of stq1_0 (GgufOptions::stq1Type), so both the
// default and a remapped id are covered.
//
//===----------------------------------------------------------------------===//

#include "sherry/Format/Gguf.h"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

using namespace sherry::format;

namespace {

bool sameFile(const GgufFile &a, const GgufFile &b) {
  if (a.version != b.version || a.metadata.size() != b.metadata.size() ||
      a.tensors.size() != b.tensors.size())
    return false;
  for (size_t i = 0; i < a.metadata.size(); ++i)
    if (a.metadata[i].first != b.metadata[i].first ||
        a.metadata[i].second != b.metadata[i].second)
      return false;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const GgufTensor &x = a.tensors[i], &y = b.tensors[i];
    if (x.name != y.name || x.dims != y.dims || x.type != y.type ||
        x.data != y.data)
      return false;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  GgufOptions options;
  if (data[0] & 1)
    options.stq1Type = 40 + (data[0] >> 1) % 16;
  Result<GgufFile> file = parseGguf(data + 1, size - 1, options);
  if (!file.ok())
    return 0;

  for (const auto &kv : file->metadata)
    (void)kv.second.toString();
  for (const GgufTensor &t : file->tensors) {
    (void)t.numElements();
    (void)tensorDataSize(t, options);
    if (Result<PackedWeights> p = tensorToPacked(t, options); p.ok()) {
      assert(p->verify().ok() && "tensorToPacked() made invalid weights");
      Result<GgufTensor> back = packedToTensor(t.name, *p, options);
      assert(back.ok() && back->data == t.data &&
             "packedToTensor(tensorToPacked(t)) != t");
    }
    if (t.numElements() <= (1u << 16))
      (void)tensorToFloats(t);
  }

  Result<std::vector<uint8_t>> bytes = serializeGguf(*file, options);
  if (!bytes.ok())
    return 0; // e.g. a file whose tensors the writer cannot lay out
  Result<GgufFile> again = parseGguf(bytes->data(), bytes->size(), options);
  assert(again.ok() && "parseGguf() rejects what serializeGguf() wrote");
  assert(sameFile(*file, *again) && "GGUF round trip changed the file");
  Result<std::vector<uint8_t>> bytes2 = serializeGguf(*again, options);
  assert(bytes2.ok() && *bytes2 == *bytes &&
         "serializeGguf() is not stable across a round trip");
  return 0;
}
