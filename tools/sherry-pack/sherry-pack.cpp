//===- sherry-pack.cpp - Convert weights to and from Sherry files ---------===//
//
// Packs float weights (.npy, M x K, f32 or f16) into the Sherry format,
// reports bits per weight and projection error, unpacks back to .npy, and
// converts between the sherry and stq1_0 layouts. All bits come from the
// format library.
//
//===----------------------------------------------------------------------===//

#include "sherry/Format/FileIO.h"
#include "sherry/Format/Format.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace llvm;
namespace fmt = sherry::format;

static cl::OptionCategory category("sherry-pack options");

static cl::SubCommand packCmd("pack", "Ternarize and pack an M x K float .npy");
static cl::SubCommand unpackCmd("unpack",
                                "Unpack a .sherry file into an .npy array");
static cl::SubCommand infoCmd("info", "Verify a .sherry file and describe it");
static cl::SubCommand
    convertCmd("convert",
               "Convert a .sherry file to another layout (lossless; fails "
               "where the layouts' groupings disagree)");

static cl::opt<std::string> input(cl::Positional, cl::Required,
                                  cl::desc("<input file>"), cl::sub(packCmd),
                                  cl::sub(unpackCmd), cl::sub(infoCmd),
                                  cl::sub(convertCmd), cl::cat(category));
static cl::opt<std::string> output("o", cl::Required, cl::desc("Output file"),
                                   cl::value_desc("file"), cl::sub(packCmd),
                                   cl::sub(unpackCmd), cl::sub(convertCmd),
                                   cl::cat(category));
static cl::opt<std::string>
    layoutName("layout",
               cl::desc("Packed layout: sherry (K % 32 == 0, separate f32 "
                        "scales) or stq1_0 (llama.cpp blocks, K % 256 == 0)"),
               cl::init("sherry"), cl::sub(packCmd), cl::sub(convertCmd),
               cl::cat(category));
static cl::opt<std::string> granularityName(
    "granularity",
    cl::desc("Scale granularity: tensor, row or group (default: row for "
             "sherry, group of 256 for stq1_0)"),
    cl::sub(packCmd), cl::cat(category));
static cl::opt<int64_t>
    groupSize("group-size",
              cl::desc("K elements per scale with --granularity=group "
                       "(default 128; 256 for stq1_0)"),
              cl::init(128), cl::sub(packCmd), cl::cat(category));
static cl::opt<std::string>
    valuesKind("values",
               cl::desc("What unpack writes: ternary (int8 -1/0/1) or "
                        "dequantized (f32 scale * ternary)"),
               cl::init("ternary"), cl::sub(unpackCmd), cl::cat(category));

/// Prints "sherry-pack: error: ..." and returns the exit code.
static int fail(const Twine &message) {
  errs() << "sherry-pack: error: " << message << "\n";
  return 1;
}

static void report(const fmt::PackedWeights &p) {
  outs() << "shape: " << p.rows << " x " << p.cols << "\n";
  outs() << "layout: " << fmt::layoutName(p.layout) << "\n";
  outs() << "granularity: " << fmt::scaleSpecName(p.scaleSpec) << "\n";
  outs() << "bits-per-weight: " << format("%.4f", p.bitsPerWeight()) << "\n";
  outs() << "data-bytes: " << p.data.size() << "\n";
  outs() << "scale-bytes: " << 4 * p.scales.size() << "\n";
}

static int runPack() {
  auto layout = fmt::parseLayout(layoutName);
  if (!layout.ok())
    return fail(layout.message());
  bool stq = *layout == fmt::Layout::Stq1_0;
  fmt::ScaleSpec spec =
      stq ? fmt::ScaleSpec::group(256) : fmt::ScaleSpec::row();
  if (granularityName.getNumOccurrences()) {
    auto g = fmt::parseGranularity(granularityName);
    if (!g.ok())
      return fail(g.message());
    spec.granularity = *g;
    spec.groupSize = 0;
    if (*g == fmt::Granularity::Group)
      spec.groupSize =
          stq && !groupSize.getNumOccurrences() ? 256 : int64_t(groupSize);
  }

  auto array = fmt::readNpy(input);
  if (!array.ok())
    return fail(array.message());
  if (array->dtype == fmt::NpyDType::I8)
    return fail("'" + input + "': weights must be f32 or f16, not int8");
  if (array->shape.size() != 2)
    return fail("'" + input + "': weights must be a 2-D M x K array, got " +
                Twine(array->shape.size()) + " dimensions");
  int64_t m = array->shape[0], k = array->shape[1];
  std::vector<float> w = array->toFloat();

  auto ternary = fmt::ternarize(w.data(), m, k, *layout, spec);
  if (!ternary.ok())
    return fail("'" + input + "': " + ternary.message());
  auto packed = fmt::pack(*ternary, *layout);
  if (!packed.ok())
    return fail("'" + input + "': " + packed.message());

  // The error of what is stored (stq1_0 rounds its scales to f16).
  auto stored = fmt::unpack(*packed);
  if (!stored.ok())
    return fail(stored.message());
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
  auto packed = fmt::readPackedFile(input);
  if (!packed.ok())
    return fail(packed.message());
  auto t = fmt::unpack(*packed);
  if (!t.ok())
    return fail(t.message());
  fmt::NpyArray out;
  if (valuesKind == "ternary")
    out = fmt::makeNpyI8({t->rows, t->cols}, t->values);
  else if (valuesKind == "dequantized")
    out = fmt::makeNpyF32({t->rows, t->cols}, fmt::dequantize(*t));
  else
    return fail("unknown --values='" + valuesKind +
                "'; expected 'ternary' or 'dequantized'");
  if (fmt::Status s = fmt::writeNpy(output, out); !s.ok())
    return fail(s.message());
  return 0;
}

static int runInfo() {
  auto packed = fmt::readPackedFile(input);
  if (!packed.ok())
    return fail(packed.message());
  report(*packed);
  return 0;
}

static int runConvert() {
  auto layout = fmt::parseLayout(layoutName);
  if (!layout.ok())
    return fail(layout.message());
  auto packed = fmt::readPackedFile(input);
  if (!packed.ok())
    return fail(packed.message());
  auto converted = fmt::convert(*packed, *layout);
  if (!converted.ok())
    return fail("'" + input + "': " + converted.message());
  if (fmt::Status s = fmt::writePackedFile(output, *converted); !s.ok())
    return fail(s.message());
  report(*converted);
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM x(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "sherry-pack: convert weights to and from the Sherry 1.25-bit format\n\n"
      "  sherry-pack pack w.npy -o w.sherry [--layout=sherry|stq1_0]\n"
      "      [--granularity=tensor|row|group] [--group-size=G]\n"
      "  sherry-pack unpack w.sherry -o t.npy [--values=ternary|dequantized]\n"
      "  sherry-pack info w.sherry\n"
      "  sherry-pack convert w.sherry -o w.stq --layout=stq1_0\n");
  if (packCmd)
    return runPack();
  if (unpackCmd)
    return runUnpack();
  if (infoCmd)
    return runInfo();
  if (convertCmd)
    return runConvert();
  return fail("no subcommand given; see 'sherry-pack --help'");
}
