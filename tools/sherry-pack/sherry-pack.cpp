//===- sherry-pack.cpp - Convert weights to and from Sherry files ---------===//
//
// Packs float weights (.npy, M x K, f32 or f16) into the Sherry format,
// reports bits per weight and projection error, unpacks back to .npy, and
// converts between the sherry and stq1_0 layouts, and moves STQ1_0 tensors in
// and out of llama.cpp's GGUF files. All bits come from the format library;
// this file only reads options, files and prints reports.
//
// Reports are one `key: value` per line in a fixed order, so that scripts
// and FileCheck can read them. Every failure prints one line starting with
// "sherry-pack: error: " to stderr and exits with 1.
//
//===----------------------------------------------------------------------===//

#include "../common/InternalError.h"
#include "../common/ToolVersion.h"

#include "sherry/Format/FileIO.h"
#include "sherry/Format/Format.h"
#include "sherry/Format/Gguf.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <optional>
#include <set>
#include <string>

using namespace llvm;
namespace fmt = sherry::format;

static cl::OptionCategory category("sherry-pack options");

static cl::SubCommand
    packCmd("pack", "Ternarize an M x K f32/f16 .npy, pack it into a .sherry "
                    "file and report bits per weight and projection error");
static cl::SubCommand
    unpackCmd("unpack", "Write the ternary values (int8) or the dequantized "
                        "weights (f32) of a .sherry file as .npy");
static cl::SubCommand infoCmd("info",
                              "Verify a .sherry file and print its report");
static cl::SubCommand
    convertCmd("convert",
               "Convert a .sherry file to another layout (lossless; fails "
               "where the layouts' groupings disagree)");

static cl::SubCommand
    ggufListCmd("gguf-list",
                "Verify a GGUF file and list its metadata and tensors");
static cl::SubCommand
    ggufExtractCmd("gguf-extract",
                   "Write one tensor of a GGUF file: stq1_0 as a .sherry "
                   "file, f32/f16/bf16 as .npy");
static cl::SubCommand
    ggufPackCmd("gguf-pack",
                "Write a GGUF file from .sherry (stq1_0) and .npy (f32/f16) "
                "files, optionally into a copy of an existing GGUF");

static cl::opt<std::string> input(cl::Positional, cl::desc("<input file>"),
                                  cl::sub(packCmd), cl::sub(unpackCmd),
                                  cl::sub(infoCmd), cl::sub(convertCmd),
                                  cl::sub(ggufListCmd), cl::sub(ggufExtractCmd),
                                  cl::cat(category));
static cl::opt<std::string> output("o", cl::desc("Output file (required)"),
                                   cl::value_desc("file"), cl::sub(packCmd),
                                   cl::sub(unpackCmd), cl::sub(convertCmd),
                                   cl::sub(ggufExtractCmd),
                                   cl::sub(ggufPackCmd), cl::cat(category));
static cl::list<std::string> tensorArgs(cl::Positional,
                                        cl::desc("<NAME=FILE>..."),
                                        cl::sub(ggufPackCmd),
                                        cl::cat(category));
static cl::opt<std::string> tensorName("tensor",
                                       cl::desc("Name of the tensor to write "
                                                "(required; see gguf-list)"),
                                       cl::value_desc("name"),
                                       cl::sub(ggufExtractCmd),
                                       cl::cat(category));
static cl::opt<std::string> baseFile(
    "base",
    cl::desc("Start from this GGUF: keep its metadata and tensors, replace "
             "the tensors named on the command line in place, append the "
             "others"),
    cl::value_desc("file.gguf"), cl::sub(ggufPackCmd), cl::cat(category));
static cl::opt<bool> listJson(
    "json",
    cl::desc("Print one JSON object (every metadata value in full, typed; "
             "every tensor) instead of the report"),
    cl::sub(ggufListCmd), cl::cat(category));
static cl::opt<std::string> archName(
    "arch",
    cl::desc("general.architecture of the file written (default: the --base "
             "file's; llama.cpp loads a model only with one)"),
    cl::value_desc("name"), cl::sub(ggufPackCmd), cl::cat(category));
static cl::list<std::string> overrideKv(
    "override-kv",
    cl::desc("Set a metadata key after everything else, as llama.cpp's "
             "--override-kv: TYPE is int (i32), float (f32), bool, str, or a "
             "GGUF scalar type (u8, i8, u16, i16, u32, i32, u64, i64, f32, "
             "f64); repeatable"),
    cl::value_desc("KEY=TYPE:VALUE"), cl::sub(ggufPackCmd),
    cl::cat(category));
static cl::opt<std::string> stq1TypeText(
    "stq1_0-type",
    cl::desc("ggml type id of STQ1_0 tensors (default 42, as the published "
             "STQ1_0 models; llama.cpp PR #22836 now uses 43)"),
    cl::value_desc("id"), cl::sub(ggufListCmd), cl::sub(ggufExtractCmd),
    cl::sub(ggufPackCmd), cl::cat(category));
static cl::opt<std::string> layoutName(
    "layout",
    cl::desc("Packed layout: sherry (K % 32 == 0, separate f32 scales; "
             "default of pack), stq1_0 (llama.cpp's 42-byte blocks, "
             "K % 256 == 0, one f16 scale per block) or tables (the codes "
             "in the order of the table kernels, for weights loaded at run "
             "time; see --table-order, --tile-block). Required by convert"),
    cl::value_desc("sherry|stq1_0|tables"), cl::init("sherry"),
    cl::sub(packCmd), cl::sub(convertCmd), cl::cat(category));
static cl::opt<std::string> groupingName(
    "grouping",
    cl::desc("With --layout=tables, which K elements form a group: sherry "
             "(4 contiguous, the default) or stq1_0 (strided as llama.cpp's "
             "blocks). convert keeps the input's"),
    cl::value_desc("sherry|stq1_0"), cl::init("sherry"), cl::sub(packCmd),
    cl::cat(category));
static cl::opt<std::string> tableOrderName(
    "table-order",
    cl::desc("With --layout=tables, the kernels' code order: lanes (vpshufb "
             "and tbl; AVX2, AVX-512BW, NEON; the default), pairs (vpermb, "
             "AVX-512 VBMI) or words (vpermw, AVX-512; K % 64 == 0)"),
    cl::value_desc("lanes|pairs|words"), cl::init("lanes"), cl::sub(packCmd),
    cl::sub(convertCmd), cl::cat(category));
static cl::opt<std::string> tileBlockText(
    "tile-block",
    cl::desc("With --layout=tables, tiles of 32 rows whose steps interleave "
             "(1..64; default 4, as the AVX2 kernel reads them)"),
    cl::value_desc("N"), cl::init("4"), cl::sub(packCmd), cl::sub(convertCmd),
    cl::cat(category));
static cl::opt<std::string> granularityName(
    "granularity",
    cl::desc("Scale granularity: tensor, row or group (default: row for "
             "sherry, group of 256 for stq1_0; stq1_0 stores any of them as "
             "one f16 scale per 256-element block)"),
    cl::value_desc("tensor|row|group"), cl::sub(packCmd), cl::cat(category));
// A string, parsed here, so that a bad number gets our error format.
static cl::opt<std::string> groupSizeText(
    "group-size",
    cl::desc("K elements per scale with --granularity=group (implies it); "
             "default 128 for sherry, 256 for stq1_0, which needs a multiple "
             "of 256"),
    cl::value_desc("G"), cl::sub(packCmd), cl::cat(category));
static cl::opt<std::string> valuesKind(
    "values",
    cl::desc("What unpack writes: ternary (int8 -1/0/+1, the default) or "
             "dequantized (f32 scale * ternary)"),
    cl::value_desc("ternary|dequantized"), cl::init("ternary"),
    cl::sub(unpackCmd), cl::cat(category));

/// Prints "sherry-pack: error: ..." and returns the exit code.
static int fail(const Twine &message) {
  errs() << "sherry-pack: error: " << message << "\n";
  return 1;
}

/// "'path': message", the form of every error about a file's contents.
static std::string inFile(const std::string &path, const std::string &msg) {
  return "'" + path + "': " + msg;
}

static void report(const fmt::PackedWeights &p) {
  uint64_t scaleBytes = 4 * p.scales.size();
  outs() << "shape: " << p.rows << " x " << p.cols << "\n";
  if (p.tables) {
    outs() << "layout: tables\n";
    outs() << "grouping: " << fmt::layoutName(p.layout) << "\n";
    outs() << "table-order: " << fmt::tableOrderName(p.tables->order) << "\n";
    outs() << "tile-block: " << p.tables->tileBlock << "\n";
  } else {
    outs() << "layout: " << fmt::layoutName(p.layout) << "\n";
  }
  outs() << "granularity: " << fmt::scaleSpecName(p.scaleSpec) << "\n";
  outs() << "bits-per-weight: " << format("%.4f", p.bitsPerWeight()) << "\n";
  outs() << "data-bytes: " << p.data.size() << "\n";
  outs() << "scale-bytes: " << scaleBytes << "\n";
  outs() << "file-bytes: " << 64 + p.data.size() + scaleBytes << "\n";
}

/// What --layout (and, for tables, --grouping, --table-order and
/// --tile-block) ask for: the canonical layout (for tables, the grouping
/// of a pack) and the table layout, if any.
struct TargetLayout {
  fmt::Layout layout;
  std::optional<fmt::TableLayout> tables;
};
static fmt::Result<TargetLayout> targetLayout() {
  using R = fmt::Result<TargetLayout>;
  if (layoutName != "tables") {
    auto layout = fmt::parseLayout(layoutName);
    if (!layout.ok())
      return R::error("unknown layout '" + layoutName +
                      "'; expected 'sherry', 'stq1_0' or 'tables'");
    return TargetLayout{*layout, std::nullopt};
  }
  auto grouping = fmt::parseLayout(groupingName);
  if (!grouping.ok())
    return R::error("--grouping: " + grouping.message());
  auto order = fmt::parseTableOrder(tableOrderName);
  if (!order.ok())
    return R::error("--table-order: " + order.message());
  int64_t block;
  if (StringRef(tileBlockText).getAsInteger(10, block))
    return R::error("--tile-block='" + tileBlockText + "' is not an integer");
  return TargetLayout{*grouping, fmt::TableLayout{*order, block}};
}

/// The input and output files every subcommand needs.
static std::optional<int> checkFiles(StringRef cmd, bool needsOutput) {
  if (input.empty())
    return fail(cmd + ": no input file given; see 'sherry-pack " + cmd +
                " --help'");
  if (needsOutput && output.empty())
    return fail(cmd + ": no output file given; use -o <file>");
  return std::nullopt;
}

/// The scale spec of `pack`, from --granularity and --group-size.
static fmt::Result<fmt::ScaleSpec> packScaleSpec(fmt::Layout layout) {
  using R = fmt::Result<fmt::ScaleSpec>;
  bool stq = layout == fmt::Layout::Stq1_0;
  bool sizeGiven = groupSizeText.getNumOccurrences() > 0;
  int64_t size = stq ? 256 : 128;
  if (sizeGiven && StringRef(groupSizeText).getAsInteger(10, size))
    return R::error("--group-size='" + groupSizeText + "' is not an integer");
  fmt::Granularity g = stq ? fmt::Granularity::Group : fmt::Granularity::Row;
  if (granularityName.getNumOccurrences()) {
    auto parsed = fmt::parseGranularity(granularityName);
    if (!parsed.ok())
      return parsed.getStatus();
    g = *parsed;
    // A group size with another granularity would be silently ignored.
    if (sizeGiven && g != fmt::Granularity::Group)
      return R::error(
          "--group-size=" + groupSizeText +
          " needs --granularity=group, not --granularity=" + granularityName);
  } else if (sizeGiven) {
    g = fmt::Granularity::Group;
  }
  if (g != fmt::Granularity::Group)
    return fmt::ScaleSpec{g, 0};
  if (size <= 0 || size % 4 != 0)
    return R::error("--group-size=" + std::to_string(size) +
                    " is not a positive multiple of 4");
  if (stq && size % 256 != 0)
    return R::error("--group-size=" + std::to_string(size) +
                    " does not fit stq1_0, which keeps one f16 scale per "
                    "256-element block: use a multiple of 256");
  return fmt::ScaleSpec::group(size);
}

static int runPack() {
  if (auto rc = checkFiles("pack", /*needsOutput=*/true))
    return *rc;
  auto target = targetLayout();
  if (!target.ok())
    return fail(target.message());
  const fmt::Layout *layout = &target->layout;
  auto spec = packScaleSpec(*layout);
  if (!spec.ok())
    return fail(spec.message());

  auto array = fmt::readNpy(input);
  if (!array.ok())
    return fail(array.message());
  if (array->dtype == fmt::NpyDType::I8)
    return fail(inFile(input, "weights must be f32 or f16, not int8"));
  if (array->shape.size() != 2)
    return fail(inFile(input, "weights must be a 2-D M x K array, got " +
                                  std::to_string(array->shape.size()) +
                                  " dimensions"));
  int64_t m = array->shape[0], k = array->shape[1];
  // Check before toFloat() allocates: an empty array has nothing to pack.
  if (fmt::Status s = fmt::checkShape(*layout, m, k); !s.ok())
    return fail(inFile(input, s.message()));
  if (fmt::Status s = fmt::checkScaleSpec(*spec, k); !s.ok())
    return fail(inFile(input, s.message()));
  std::vector<float> w = array->toFloat();

  auto ternary = fmt::ternarize(w.data(), m, k, *layout, *spec);
  if (!ternary.ok())
    return fail(inFile(input, ternary.message()));
  auto packed = fmt::pack(*ternary, *layout);
  if (!packed.ok())
    return fail(inFile(input, packed.message()));
  if (target->tables) {
    // From the f32 scales of a sherry grouping, or stq1_0's f16 ones.
    packed = fmt::toTables(*packed, *target->tables);
    if (!packed.ok())
      return fail(inFile(input, packed.message()));
  }

  // The error of what is stored (stq1_0 rounds its scales to f16).
  auto stored = fmt::unpack(*packed);
  if (!stored.ok())
    return fail(inFile(input, stored.message()));
  double norm2 = 0.0;
  for (float v : w)
    norm2 += double(v) * double(v);
  double err2 = fmt::projectionError2(w.data(), *stored);
  double rel = norm2 > 0.0 ? std::sqrt(err2 / norm2) : 0.0;

  if (fmt::Status s = fmt::writePackedFile(output, *packed); !s.ok())
    return fail(s.message());
  report(*packed);
  outs() << "relative-l2-error: " << format("%.6f", rel) << "\n";
  return 0;
}

static int runUnpack() {
  if (auto rc = checkFiles("unpack", /*needsOutput=*/true))
    return *rc;
  bool ternaryValues = valuesKind == "ternary";
  if (!ternaryValues && valuesKind != "dequantized")
    return fail("unknown --values='" + valuesKind +
                "'; expected 'ternary' or 'dequantized'");
  auto packed = fmt::readPackedFile(input);
  if (!packed.ok())
    return fail(packed.message());
  auto t = fmt::unpack(*packed);
  if (!t.ok())
    return fail(inFile(input, t.message()));
  fmt::NpyArray out =
      ternaryValues ? fmt::makeNpyI8({t->rows, t->cols}, t->values)
                    : fmt::makeNpyF32({t->rows, t->cols}, fmt::dequantize(*t));
  if (fmt::Status s = fmt::writeNpy(output, out); !s.ok())
    return fail(s.message());
  return 0;
}

static int runInfo() {
  if (auto rc = checkFiles("info", /*needsOutput=*/false))
    return *rc;
  // readPackedFile() checks the header, the sizes and the scales; decoding
  // every group as well makes `info` a full verification.
  auto packed = fmt::readPackedFile(input);
  if (!packed.ok())
    return fail(packed.message());
  auto t = fmt::unpack(*packed);
  if (!t.ok())
    return fail(inFile(input, t.message()));
  if (fmt::Status s = t->verify(); !s.ok())
    return fail(inFile(input, s.message()));
  report(*packed);
  return 0;
}

static int runConvert() {
  if (auto rc = checkFiles("convert", /*needsOutput=*/true))
    return *rc;
  // A default target would turn a forgotten option into a silent copy.
  if (!layoutName.getNumOccurrences())
    return fail("convert: no target layout given; use --layout=sherry, "
                "--layout=stq1_0 or --layout=tables");
  auto target = targetLayout();
  if (!target.ok())
    return fail(target.message());
  auto packed = fmt::readPackedFile(input);
  if (!packed.ok())
    return fail(packed.message());
  auto converted = target->tables
                       ? fmt::toTables(*packed, *target->tables)
                       : fmt::convert(*packed, target->layout);
  if (!converted.ok())
    return fail(inFile(input, converted.message()));
  if (fmt::Status s = fmt::writePackedFile(output, *converted); !s.ok())
    return fail(s.message());
  report(*converted);
  return 0;
}

//===----------------------------------------------------------------------===//
// GGUF
//===----------------------------------------------------------------------===//

/// The GGUF options from --stq1_0-type.
static fmt::Result<fmt::GgufOptions> ggufOptions() {
  using R = fmt::Result<fmt::GgufOptions>;
  fmt::GgufOptions options;
  if (!stq1TypeText.getNumOccurrences())
    return options;
  unsigned id;
  if (StringRef(stq1TypeText).getAsInteger(10, id))
    return R::error("--stq1_0-type='" + stq1TypeText +
                    "' is not an integer in 0..4294967295");
  options.stq1Type = id;
  // Refuse an upstream type id before it makes every read fail.
  if (auto info = fmt::ggmlTypeInfo(id, options); !info.ok())
    return info.getStatus();
  return options;
}

static std::string typeName(uint32_t type, const fmt::GgufOptions &options) {
  auto info = fmt::ggmlTypeInfo(type, options);
  return info.ok() ? std::string(info->name) : "type " + std::to_string(type);
}

static std::string dimsText(const std::vector<uint64_t> &dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

/// Writes `text` as a JSON string, or as {"hex": "..."} where it is not
/// UTF-8 (GGUF strings are bytes; JSON strings must be UTF-8).
static void jsonString(json::OStream &j, StringRef text) {
  if (json::isUTF8(text)) {
    j.value(text);
    return;
  }
  j.object([&] { j.attribute("hex", toHex(text, /*LowerCase=*/true)); });
}

/// A scalar's value: integers exactly, bools, finite floats as numbers and
/// non-finite ones as the strings "nan", "inf", "-inf".
static void jsonScalar(json::OStream &j, fmt::GgufType type, uint64_t bits) {
  using T = fmt::GgufType;
  auto real = [&](double v) {
    if (std::isnan(v))
      j.value("nan");
    else if (std::isinf(v))
      j.value(v > 0 ? "inf" : "-inf");
    else
      j.value(v);
  };
  switch (type) {
  case T::UInt8:
  case T::UInt16:
  case T::UInt32:
  case T::UInt64:
    j.value(bits);
    return;
  case T::Int8:
  case T::Int16:
  case T::Int32:
  case T::Int64:
    j.value(SignExtend64(bits, 8 * fmt::ggufScalarSize(type)));
    return;
  case T::Float32:
    real(bit_cast<float>(uint32_t(bits)));
    return;
  case T::Float64:
    real(bit_cast<double>(bits));
    return;
  case T::Bool:
    j.value(bits != 0);
    return;
  default:
    llvm_unreachable("not a scalar type");
  }
}

/// The attributes "type", "element_type" (arrays) and "value" of `v`.
static void jsonValueAttributes(json::OStream &j, const fmt::GgufValue &v) {
  using T = fmt::GgufType;
  j.attribute("type", StringRef(fmt::ggufTypeName(v.type)));
  if (fmt::ggufScalarSize(v.type)) {
    j.attributeBegin("value");
    jsonScalar(j, v.type, v.bits);
    j.attributeEnd();
    return;
  }
  if (v.type == T::String) {
    j.attributeBegin("value");
    jsonString(j, v.string);
    j.attributeEnd();
    return;
  }
  j.attribute("element_type", StringRef(fmt::ggufTypeName(v.elementType)));
  j.attributeArray("value", [&] {
    size_t bytes = fmt::ggufScalarSize(v.elementType);
    for (uint64_t i = 0, n = v.size(); i < n; ++i) {
      if (v.elementType == T::String) {
        jsonString(j, v.strings[i]);
      } else if (v.elementType == T::Array) {
        j.object([&] { jsonValueAttributes(j, v.arrays[i]); });
      } else {
        uint64_t b = 0;
        for (size_t k = 0; k < bytes; ++k)
          b |= uint64_t(v.raw[i * bytes + k]) << (8 * k);
        jsonScalar(j, v.elementType, b);
      }
    }
  });
}

static void printGgufJson(const fmt::GgufFile &file,
                          const fmt::GgufOptions &options,
                          uint64_t dataBytes) {
  json::OStream j(outs(), /*IndentSize=*/2);
  j.object([&] {
    j.attribute("gguf_version", int64_t(file.version));
    j.attribute("alignment", *file.alignment());
    j.attribute("metadata_count", uint64_t(file.metadata.size()));
    j.attribute("tensor_count", uint64_t(file.tensors.size()));
    j.attribute("tensor_bytes", dataBytes);
    j.attributeArray("metadata", [&] {
      for (const auto &entry : file.metadata)
        j.object([&] {
          j.attributeBegin("key");
          jsonString(j, entry.first);
          j.attributeEnd();
          jsonValueAttributes(j, entry.second);
        });
    });
    j.attributeArray("tensors", [&] {
      for (const fmt::GgufTensor &t : file.tensors)
        j.object([&] {
          j.attributeBegin("name");
          jsonString(j, t.name);
          j.attributeEnd();
          j.attribute("type", typeName(t.type, options));
          j.attribute("type_id", int64_t(t.type));
          j.attributeArray("dims", [&] {
            for (uint64_t d : t.dims)
              j.value(d);
          });
          j.attribute("bytes", uint64_t(t.data.size()));
        });
    });
  });
  outs() << "\n";
}

static int runGgufList() {
  if (auto rc = checkFiles("gguf-list", /*needsOutput=*/false))
    return *rc;
  auto options = ggufOptions();
  if (!options.ok())
    return fail(options.message());
  auto file = fmt::readGguf(input, *options);
  if (!file.ok())
    return fail(file.message());
  // Decode every stq1_0 tensor as well, so that gguf-list verifies them.
  for (const fmt::GgufTensor &t : file->tensors)
    if (t.type == options->stq1Type)
      if (auto p = fmt::tensorToPacked(t, *options); !p.ok())
        return fail(inFile(input, p.message()));
  uint64_t dataBytes = 0;
  for (const fmt::GgufTensor &t : file->tensors)
    dataBytes += t.data.size();
  if (listJson) {
    printGgufJson(*file, *options, dataBytes);
    return 0;
  }
  outs() << "gguf-version: " << file->version << "\n";
  outs() << "alignment: " << *file->alignment() << "\n";
  outs() << "metadata-count: " << file->metadata.size() << "\n";
  outs() << "tensor-count: " << file->tensors.size() << "\n";
  outs() << "tensor-bytes: " << dataBytes << "\n";
  outs() << "metadata:\n";
  for (const auto &[key, value] : file->metadata)
    outs() << "  " << key << " = " << value.toString() << "\n";
  outs() << "tensors:\n";
  for (const fmt::GgufTensor &t : file->tensors) {
    outs() << "  " << t.name << ": " << typeName(t.type, *options) << " "
           << dimsText(t.dims) << ", " << t.data.size() << " bytes";
    if (t.type == options->stq1Type && t.dims.size() == 2)
      outs() << " (" << t.dims[1] << " x " << t.dims[0] << " weights)";
    outs() << "\n";
  }
  return 0;
}

static int runGgufExtract() {
  if (auto rc = checkFiles("gguf-extract", /*needsOutput=*/true))
    return *rc;
  if (tensorName.empty())
    return fail("gguf-extract: no tensor given; use --tensor=<name> (see "
                "'sherry-pack gguf-list')");
  auto options = ggufOptions();
  if (!options.ok())
    return fail(options.message());
  auto file = fmt::readGguf(input, *options);
  if (!file.ok())
    return fail(file.message());
  const fmt::GgufTensor *t = file->findTensor(tensorName);
  if (!t)
    return fail(inFile(input, "no tensor named '" + tensorName + "'"));
  // The file written is what its name says (gguf-pack reads .sherry and
  // .npy files by their names).
  bool stq = t->type == options->stq1Type;
  StringRef want = stq ? ".sherry" : ".npy";
  if (!StringRef(output).ends_with(want) &&
      (StringRef(output).ends_with(".sherry") ||
       StringRef(output).ends_with(".npy")))
    return fail("gguf-extract: tensor '" + tensorName + "' has type " +
                typeName(t->type, *options) + ", which gguf-extract writes " +
                (stq ? "as a .sherry file" : "as a .npy file") +
                ", but the output '" + output + "' is named " +
                (stq ? ".npy" : ".sherry") + "; name it " + want.str());
  if (stq) {
    auto packed = fmt::tensorToPacked(*t, *options);
    if (!packed.ok())
      return fail(inFile(input, packed.message()));
    if (fmt::Status s = fmt::writePackedFile(output, *packed); !s.ok())
      return fail(s.message());
    report(*packed);
    return 0;
  }
  if (t->type != fmt::kGgmlTypeF32 && t->type != fmt::kGgmlTypeF16 &&
      t->type != fmt::kGgmlTypeBF16)
    return fail(inFile(input, "tensor '" + tensorName + "' has type " +
                                  typeName(t->type, *options) +
                                  "; gguf-extract writes stq1_0 tensors as "
                                  ".sherry and f32, f16 and bf16 tensors as "
                                  ".npy"));
  // numpy's shape is GGUF's dims reversed (outermost first).
  std::vector<int64_t> shape(t->dims.rbegin(), t->dims.rend());
  fmt::NpyArray array;
  if (t->type == fmt::kGgmlTypeF16) {
    // f16 stays f16: the same bytes.
    array.dtype = fmt::NpyDType::F16;
    array.shape = shape;
    array.bytes = t->data;
  } else {
    auto floats = fmt::tensorToFloats(*t);
    if (!floats.ok())
      return fail(inFile(input, floats.message()));
    array = fmt::makeNpyF32(shape, *floats);
  }
  if (fmt::Status s = fmt::writeNpy(output, array); !s.ok())
    return fail(s.message());
  outs() << "tensor: " << t->name << "\n";
  outs() << "type: " << typeName(t->type, *options) << "\n";
  outs() << "dims: " << dimsText(t->dims) << "\n";
  return 0;
}

/// The tensor that `path` (a .sherry file, or a .npy of f32/f16) becomes.
static fmt::Result<fmt::GgufTensor>
tensorFromFile(const std::string &name, const std::string &path,
               const fmt::GgufOptions &options) {
  using R = fmt::Result<fmt::GgufTensor>;
  if (StringRef(path).ends_with(".npy")) {
    auto array = fmt::readNpy(path);
    if (!array.ok())
      return array.getStatus();
    if (array->dtype == fmt::NpyDType::I8)
      return R::error(inFile(path, "GGUF tensors from .npy are f32 or f16, "
                                   "not int8"));
    fmt::GgufTensor t;
    t.name = name;
    t.dims.assign(array->shape.rbegin(), array->shape.rend());
    t.type = array->dtype == fmt::NpyDType::F16 ? fmt::kGgmlTypeF16
                                                : fmt::kGgmlTypeF32;
    t.data = std::move(array->bytes);
    return t;
  }
  auto packed = fmt::readPackedFile(path);
  if (!packed.ok())
    return packed.getStatus();
  auto t = fmt::packedToTensor(name, *packed, options);
  if (!t.ok())
    return R::error(inFile(path, t.message()));
  return t;
}

/// llama.cpp's `general.file_type` (enum llama_ftype) for a file of these
/// tensors, where their types name one: STQ1_0 where any tensor is stq1_0
/// (41 under type id 42, as the published STQ1_0 models; 42 under 43, as
/// llama.cpp PR #22836 numbers both now), else MOSTLY_F16 (1) or
/// MOSTLY_BF16 (32) where any is f16 or bf16, else ALL_F32 (0). None for
/// other types (a q8_0 output layer) or no tensors.
static std::optional<uint32_t>
llamaFileType(const fmt::GgufFile &file, const fmt::GgufOptions &options) {
  bool stq = false, f16 = false, bf16 = false;
  for (const fmt::GgufTensor &t : file.tensors) {
    if (t.type == options.stq1Type)
      stq = true;
    else if (t.type == fmt::kGgmlTypeF16)
      f16 = true;
    else if (t.type == fmt::kGgmlTypeBF16)
      bf16 = true;
    else if (t.type != fmt::kGgmlTypeF32)
      return std::nullopt;
  }
  if (file.tensors.empty())
    return std::nullopt;
  if (stq) {
    if (options.stq1Type == 42)
      return 41;
    if (options.stq1Type == 43)
      return 42;
    return std::nullopt;
  }
  if (f16 && bf16)
    return std::nullopt;
  return f16 ? 1 : bf16 ? 32 : 0;
}

/// One --override-kv: KEY=TYPE:VALUE.
static fmt::Result<std::pair<std::string, fmt::GgufValue>>
parseOverride(StringRef text) {
  using R = fmt::Result<std::pair<std::string, fmt::GgufValue>>;
  using T = fmt::GgufType;
  auto bad = [&](const Twine &why) {
    return R::error("--override-kv='" + text.str() + "': " + why.str());
  };
  auto [key, typed] = text.split('=');
  if (key.empty() || !text.contains('='))
    return bad("expected KEY=TYPE:VALUE");
  auto [typeText, valueText] = typed.split(':');
  if (!typed.contains(':'))
    return bad("expected KEY=TYPE:VALUE");
  static const std::pair<StringRef, T> kTypes[] = {
      {"int", T::Int32},     {"float", T::Float32}, {"bool", T::Bool},
      {"str", T::String},    {"string", T::String}, {"u8", T::UInt8},
      {"i8", T::Int8},       {"u16", T::UInt16},    {"i16", T::Int16},
      {"u32", T::UInt32},    {"i32", T::Int32},     {"u64", T::UInt64},
      {"i64", T::Int64},     {"f32", T::Float32},   {"f64", T::Float64}};
  std::optional<T> type;
  for (const auto &[name, t] : kTypes)
    if (typeText == name)
      type = t;
  if (!type)
    return bad("unknown type '" + typeText +
               "'; expected int, float, bool, str, u8, i8, u16, i16, u32, "
               "i32, u64, i64, f32 or f64");
  fmt::GgufValue value;
  switch (*type) {
  case T::String:
    value = fmt::GgufValue::str(valueText.str());
    break;
  case T::Bool:
    if (valueText != "true" && valueText != "false")
      return bad("a bool is 'true' or 'false'");
    value = fmt::GgufValue::boolean(valueText == "true");
    break;
  case T::Float32:
  case T::Float64: {
    std::string copy = valueText.str();
    char *end = nullptr;
    double v = std::strtod(copy.c_str(), &end);
    if (copy.empty() || end != copy.c_str() + copy.size())
      return bad("'" + valueText + "' is not a number");
    value = *type == T::Float32 ? fmt::GgufValue::f32(float(v))
                                : fmt::GgufValue::f64(v);
    break;
  }
  case T::UInt8:
  case T::UInt16:
  case T::UInt32:
  case T::UInt64: {
    unsigned bitsWide = 8 * fmt::ggufScalarSize(*type);
    uint64_t v;
    if (valueText.getAsInteger(10, v) ||
        (bitsWide < 64 && v >> bitsWide))
      return bad("'" + valueText + "' is not an integer in 0.." +
                 Twine(bitsWide < 64 ? (uint64_t(1) << bitsWide) - 1
                                     : ~uint64_t(0)));
    value = fmt::GgufValue::scalar(*type, v);
    break;
  }
  default: {
    unsigned bitsWide = 8 * fmt::ggufScalarSize(*type);
    int64_t v;
    if (valueText.getAsInteger(10, v) || !isIntN(bitsWide, v))
      return bad("'" + valueText + "' is not an integer in " +
                 Twine(minIntN(bitsWide)) + ".." + Twine(maxIntN(bitsWide)));
    value = fmt::GgufValue::scalar(
        *type, uint64_t(v) & (bitsWide < 64 ? (uint64_t(1) << bitsWide) - 1
                                            : ~uint64_t(0)));
    break;
  }
  }
  return std::make_pair(key.str(), std::move(value));
}

static int runGgufPack() {
  if (output.empty())
    return fail("gguf-pack: no output file given; use -o <file>");
  if (tensorArgs.empty() && baseFile.empty())
    return fail("gguf-pack: no tensors given; use NAME=FILE.sherry (stq1_0) "
                "or NAME=FILE.npy (f32/f16)");
  auto options = ggufOptions();
  if (!options.ok())
    return fail(options.message());
  std::vector<std::pair<std::string, fmt::GgufValue>> overrides;
  for (const std::string &text : overrideKv) {
    auto kv = parseOverride(text);
    if (!kv.ok())
      return fail("gguf-pack: " + kv.message());
    for (const auto &done : overrides)
      if (done.first == kv->first)
        return fail("gguf-pack: --override-kv sets '" + kv->first +
                    "' twice");
    overrides.push_back(std::move(*kv));
  }
  fmt::GgufFile file;
  if (!baseFile.empty()) {
    auto base = fmt::readGguf(baseFile, *options);
    if (!base.ok())
      return fail(base.message());
    file = std::move(*base);
  }
  std::set<std::string> seen;
  for (const std::string &arg : tensorArgs) {
    auto [name, path] = StringRef(arg).split('=');
    if (name.empty() || path.empty() || !StringRef(arg).contains('='))
      return fail("gguf-pack: '" + arg + "' is not NAME=FILE");
    if (!seen.insert(name.str()).second)
      return fail("gguf-pack: tensor '" + name + "' is given twice");
    auto t = tensorFromFile(name.str(), path.str(), *options);
    if (!t.ok())
      return fail(t.message());
    outs() << (file.findTensor(name) ? "replace " : "add ") << name << ": "
           << typeName(t->type, *options) << " " << dimsText(t->dims) << "\n";
    file.setTensor(std::move(*t));
  }
  // What llama.cpp reads first: the architecture and the file type, as
  // llama-quantize writes them; --override-kv has the last word.
  if (!archName.empty())
    file.setMetadata("general.architecture", fmt::GgufValue::str(archName));
  if (auto fileType = llamaFileType(file, *options))
    file.setMetadata("general.file_type", fmt::GgufValue::u32(*fileType));
  for (auto &[key, value] : overrides)
    file.setMetadata(key, std::move(value));
  auto bytes = fmt::serializeGguf(file, *options);
  if (!bytes.ok())
    return fail("refusing to write '" + output + "': " + bytes.message());
  if (fmt::Status s = fmt::writeFileBytes(output, *bytes); !s.ok())
    return fail(s.message());
  outs() << "tensor-count: " << file.tensors.size() << "\n";
  outs() << "metadata-count: " << file.metadata.size() << "\n";
  outs() << "file-bytes: " << bytes->size() << "\n";
  const fmt::GgufValue *arch = file.findMetadata("general.architecture");
  if (arch && arch->type == fmt::GgufType::String)
    outs() << "architecture: " << arch->string << "\n";
  else
    errs() << "sherry-pack: warning: '" << output
           << "' has no general.architecture (a string); llama.cpp loads a "
              "model only with one: give --arch=NAME or --base\n";
  if (const fmt::GgufValue *type = file.findMetadata("general.file_type"))
    outs() << "file-type: " << type->toString() << "\n";
  std::string collision = fmt::stq1TypeCollision(options->stq1Type);
  bool hasStq = llvm::any_of(file.tensors, [&](const fmt::GgufTensor &t) {
    return t.type == options->stq1Type;
  });
  if (hasStq && !collision.empty())
    errs() << "sherry-pack: warning: '" << output << "' holds STQ1_0 tensors "
           << "under type id " << options->stq1Type << ", which is "
           << collision << ": a ggml that numbers it so reads them as "
           << "that type and refuses the file (the sizes disagree); "
           << "--stq1_0-type=43 writes the id of the rebased STQ1_0 pull "
              "request\n";
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM x(argc, argv);
  mlir::sherry::tools::exitWithInternalErrorOnCrash("sherry-pack");
  mlir::sherry::tools::addVersionPrinter("sherry-pack");
  cl::HideUnrelatedOptions(category);
  // Collect the parser's own complaints to print them in our error format.
  std::string parseErrors;
  raw_string_ostream parseErrorStream(parseErrors);
  bool parsed = cl::ParseCommandLineOptions(
      argc, argv,
      "sherry-pack: convert weights to and from the Sherry 1.25-bit format\n\n"
      "  sherry-pack pack w.npy -o w.sherry [--layout=sherry|stq1_0|tables]\n"
      "      [--granularity=tensor|row|group] [--group-size=G]\n"
      "      [--grouping=sherry|stq1_0] [--table-order=lanes|pairs|words]\n"
      "      [--tile-block=N]\n"
      "  sherry-pack unpack w.sherry -o t.npy [--values=ternary|dequantized]\n"
      "  sherry-pack info w.sherry\n"
      "  sherry-pack convert w.sherry -o w.stq --layout=stq1_0\n"
      "  sherry-pack convert w.sherry -o w.tables --layout=tables "
      "[--table-order=...] [--tile-block=N]\n"
      "  sherry-pack gguf-list model.gguf [--json]\n"
      "  sherry-pack gguf-extract model.gguf --tensor=NAME -o w.sherry\n"
      "  sherry-pack gguf-pack NAME=w.sherry... -o out.gguf "
      "[--base=model.gguf]\n"
      "      [--arch=NAME] [--override-kv=KEY=TYPE:VALUE]...\n\n"
      "pack, info and convert print a report, one 'key: value' per line:\n"
      "shape, layout (for tables: grouping, table-order, tile-block),\n"
      "granularity, bits-per-weight (data and scales),\n"
      "data-bytes, scale-bytes, file-bytes; pack adds relative-l2-error\n"
      "(||W - W'|| / ||W|| of what the file stores). 'sherry-pack <command>\n"
      "--help' lists a command's options.\n\n"
      "GGUF files (llama.cpp): stq1_0 tensors are ggml type 42 unless\n"
      "--stq1_0-type says otherwise; extracting every tensor and packing\n"
      "them back with --base gives the same bytes. gguf-pack sets\n"
      "general.file_type from the tensors' types, as llama-quantize does.\n",
      &parseErrorStream);
  if (!parsed) {
    // Lines read "<program name>: message"; keep only the message.
    std::string prefix = sys::path::filename(argv[0]).str() + ": ";
    SmallVector<StringRef> lines;
    StringRef(parseErrors).split(lines, '\n', -1, /*KeepEmpty=*/false);
    for (StringRef line : lines) {
      line.consume_front(prefix);
      fail(line.trim());
    }
    return 1;
  }
  if (packCmd)
    return runPack();
  if (unpackCmd)
    return runUnpack();
  if (infoCmd)
    return runInfo();
  if (convertCmd)
    return runConvert();
  if (ggufListCmd)
    return runGgufList();
  if (ggufExtractCmd)
    return runGgufExtract();
  if (ggufPackCmd)
    return runGgufPack();
  return fail("no subcommand given; use pack, unpack, info or convert, or "
              "gguf-list, gguf-extract or gguf-pack (see 'sherry-pack "
              "--help')");
}
