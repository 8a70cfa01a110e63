//===- PipelineOptions.cpp - Parse and check --sherry-to-llvm options -----===//
//
// One parse-and-verify for every entry point (sherry-opt, sherry-compile,
// the C API, Python, the fuzzer): the option parsers route a bad value's
// message here instead of to llvm::errs(), where llvm::cl would print it,
// so that a caller without a terminal (Python, a C program) gets it in its
// error, and every entry point words it the same way.
//
//===----------------------------------------------------------------------===//

#include "sherry/Pipelines/Pipelines.h"

#include "sherry/Format/Format.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;
using namespace mlir::sherry;

namespace {
/// The messages of the parseSherryToLLVMOptions running on this thread.
thread_local std::string *activeMessages = nullptr;

struct TargetName {
  SherryTarget target;
  StringRef name;
};
constexpr TargetName kTargetNames[] = {
    {SherryTarget::Portable, "portable"},
    {SherryTarget::Avx512Vnni, "avx512-vnni"},
    {SherryTarget::Avx512Bw, "avx512-bw"},
    {SherryTarget::Avx2, "avx2"},
    {SherryTarget::NeonDotprod, "neon-dotprod"},
    {SherryTarget::Neon, "neon"},
    {SherryTarget::Host, "host"},
    {SherryTarget::Module, "module"},
};
} // namespace

bool mlir::sherry::pipeline_options::reportBadValue(
    llvm::cl::Option &option, const llvm::Twine &message) {
  if (!activeMessages)
    return option.error(message);
  if (!activeMessages->empty())
    *activeMessages += "; ";
  *activeMessages += message.str();
  return true;
}

StringRef mlir::sherry::stringifySherryTarget(SherryTarget target) {
  for (const TargetName &entry : kTargetNames)
    if (entry.target == target)
      return entry.name;
  llvm_unreachable("unknown SherryTarget");
}

std::optional<SherryTarget> mlir::sherry::symbolizeSherryTarget(StringRef name) {
  for (const TargetName &entry : kTargetNames)
    if (entry.name == name)
      return entry.target;
  return std::nullopt;
}

raw_ostream &mlir::sherry::operator<<(raw_ostream &os, SherryTarget value) {
  return os << stringifySherryTarget(value);
}

raw_ostream &mlir::sherry::operator<<(raw_ostream &os, KernelStrategy value) {
  switch (value) {
  case KernelStrategy::Auto:
    return os << "auto";
  case KernelStrategy::Tables:
    return os << "tables";
  case KernelStrategy::Decode:
    return os << "decode";
  }
  llvm_unreachable("unknown KernelStrategy");
}

raw_ostream &mlir::sherry::operator<<(raw_ostream &os, KernelKind value) {
  return os << (value == KernelKind::Vector ? "vector" : "linalg");
}

raw_ostream &mlir::sherry::operator<<(raw_ostream &os, TableLookup value) {
  switch (value) {
  case TableLookup::Auto:
    return os << "auto";
  case TableLookup::Words:
    return os << "words";
  case TableLookup::Bytes:
    return os << "bytes";
  }
  llvm_unreachable("unknown TableLookup");
}

raw_ostream &mlir::sherry::operator<<(raw_ostream &os, TableBuild value) {
  switch (value) {
  case TableBuild::Auto:
    return os << "auto";
  case TableBuild::Call:
    return os << "call";
  case TableBuild::Step:
    return os << "step";
  }
  llvm_unreachable("unknown TableBuild");
}

std::optional<mlir::sherry::SherryTargetAttributes>
mlir::sherry::getSherryTargetAttributes(SherryTarget target) {
  // The smaller sets get a CPU that has no more than them, so that generic
  // vector code cannot use AVX-512, VBMI, VNNI, GFNI or dotprod where the
  // target lacks them.
  switch (target) {
  case SherryTarget::Avx512Vnni:
    return SherryTargetAttributes{
        "", "+avx512f,+avx512bw,+avx512vbmi,+avx512vnni", true};
  case SherryTarget::Avx512Bw:
    return SherryTargetAttributes{"skylake-avx512", "+avx512f,+avx512bw",
                                  true};
  case SherryTarget::Avx2:
    return SherryTargetAttributes{"haswell", "+avx2", true};
  case SherryTarget::NeonDotprod:
    return SherryTargetAttributes{"", "+neon,+dotprod", false};
  case SherryTarget::Neon:
    return SherryTargetAttributes{"generic", "+neon,-dotprod", false};
  case SherryTarget::Portable:
  case SherryTarget::Host:
  case SherryTarget::Module:
    return std::nullopt;
  }
  llvm_unreachable("unknown SherryTarget");
}

SmallVector<std::string> mlir::sherry::getMissingHostFeatures(
    SherryTarget target) {
  std::optional<SherryTargetAttributes> attributes =
      getSherryTargetAttributes(target);
  SmallVector<std::string> missing;
  if (!attributes)
    return missing;
  llvm::Triple host(llvm::sys::getProcessTriple());
  bool sameArch = attributes->x86 ? host.isX86() : host.isAArch64();
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  SmallVector<StringRef> entries;
  attributes->features.split(entries, ',');
  for (StringRef entry : entries)
    if (entry.consume_front("+") && (!sameArch || !features.lookup(entry)))
      missing.push_back(entry.str());
  return missing;
}

SherryTarget mlir::sherry::resolveSherryTarget(SherryTarget target) {
  if (target != SherryTarget::Host)
    return target;
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  auto has = [&](StringRef name) { return features.lookup(name); };
  if (has("avx512f") && has("avx512bw") && has("avx512vbmi") &&
      has("avx512vnni"))
    return SherryTarget::Avx512Vnni;
  if (has("avx512f") && has("avx512bw"))
    return SherryTarget::Avx512Bw;
  if (has("avx2"))
    return SherryTarget::Avx2;
  if (has("neon") && has("dotprod"))
    return SherryTarget::NeonDotprod;
  if (has("neon"))
    return SherryTarget::Neon;
  return SherryTarget::Portable;
}

std::optional<TableLayoutChoice>
mlir::sherry::getPreferredTableLayout(const SherryToLLVMOptions &options,
                                      int64_t cols,
                                      ScaleGranularity granularity,
                                      int64_t groupSize) {
  namespace format = ::sherry::format;
  if (options.strategy == KernelStrategy::Decode ||
      options.kernel == KernelKind::Linalg)
    return std::nullopt;
  SherryTarget target = resolveSherryTarget(options.target);
  format::ScaleSpec spec =
      granularity == ScaleGranularity::Group ? format::ScaleSpec::group(groupSize)
      : granularity == ScaleGranularity::Row ? format::ScaleSpec::row()
                                             : format::ScaleSpec::tensor();
  int64_t segment = format::scaleRegionLength(spec, cols);
  auto pick = [&](TableOrder order,
                  int64_t tileBlock) -> std::optional<TableLayoutChoice> {
    TableLayoutChoice choice{
        order, options.tileBlock ? int64_t(options.tileBlock) : tileBlock};
    format::TableOrder formatOrder =
        order == TableOrder::Words   ? format::TableOrder::WordFields
        : order == TableOrder::Pairs ? format::TableOrder::GroupPairs
                                     : format::TableOrder::Lanes;
    if (!format::checkTableLayout({formatOrder, choice.tileBlock}, cols, spec)
             .ok())
      return std::nullopt;
    return choice;
  };
  switch (target) {
  case SherryTarget::Avx512Vnni:
  case SherryTarget::Avx512Bw:
    // The kernels' own choice (table-lookup=auto): word tables where scale
    // segments are multiples of 64, built per step at N = 1 (16 tiles a
    // block) unless table-build=call (8).
    if (options.tableLookup != TableLookup::Bytes && cols % 64 == 0 &&
        segment % 64 == 0)
      return pick(TableOrder::Words,
                  options.tableBuild == TableBuild::Call ? 8 : 16);
    if (options.tableLookup == TableLookup::Words)
      return std::nullopt;
    return target == SherryTarget::Avx512Vnni ? pick(TableOrder::Pairs, 8)
                                              : pick(TableOrder::Lanes, 4);
  case SherryTarget::Avx2:
    return pick(TableOrder::Lanes, 2);
  case SherryTarget::NeonDotprod:
  case SherryTarget::Neon:
    return pick(TableOrder::Lanes, 1);
  case SherryTarget::Portable:
  case SherryTarget::Host:
  case SherryTarget::Module:
    return std::nullopt;
  }
  return std::nullopt;
}

bool mlir::sherry::isX86Target(SherryTarget target) {
  std::optional<SherryTargetAttributes> attributes =
      getSherryTargetAttributes(target);
  return attributes && attributes->x86;
}

bool mlir::sherry::isNeonTarget(SherryTarget target) {
  return target == SherryTarget::NeonDotprod || target == SherryTarget::Neon;
}

namespace {
/// Host and module resolve later: every check of a target against other
/// options holds off until then (buildSherryToLLVMPipeline).
bool isResolvedLater(SherryTarget target) {
  return target == SherryTarget::Host || target == SherryTarget::Module;
}

} // namespace

LogicalResult
mlir::sherry::verifySherryToLLVMOptions(const SherryToLLVMOptions &options,
                                        std::string &message) {
  SherryTarget target = options.target;
  // host may resolve to a target without tables, where strategy=tables
  // leaves every matmul to the portable kernel (docs/targets.md); a named
  // target without them is a mistake.
  if (options.strategy == KernelStrategy::Tables &&
      target == SherryTarget::Portable) {
    message = "strategy=tables needs a target with a table kernel (all "
              "but portable), got target=portable";
    return failure();
  }
  if (target != SherryTarget::Portable && options.kernel == KernelKind::Linalg) {
    message = "kernel=linalg is the portable reference; it takes no target";
    return failure();
  }
  if (options.tableLookup != TableLookup::Auto && !isResolvedLater(target) &&
      !isX86Target(target)) {
    message = "table-lookup chooses between x86 table lookups, got "
              "target=" +
              stringifyOption(target);
    return failure();
  }
  if (options.tableLookup == TableLookup::Words &&
      target == SherryTarget::Avx2) {
    message = "table-lookup=words needs AVX-512 (vpermw), got target=avx2";
    return failure();
  }
  if (options.tableBuild == TableBuild::Step &&
      (options.tableLookup == TableLookup::Bytes ||
       (!isResolvedLater(target) && target != SherryTarget::Avx512Vnni &&
        target != SherryTarget::Avx512Bw))) {
    message = "table-build=step builds word tables (vpermw): it needs an "
              "AVX-512 target and table-lookup 'auto' or 'words', got "
              "target=" +
              stringifyOption(target) + " table-lookup=" + stringifyOption(options.tableLookup.getValue());
    return failure();
  }
  return success();
}

std::unique_ptr<SherryToLLVMOptions>
mlir::sherry::parseSherryToLLVMOptions(StringRef text, std::string &message) {
  auto options = std::make_unique<SherryToLLVMOptions>();
  std::string errors;
  std::string *outer = activeMessages;
  activeMessages = &errors;
  std::string unknown;
  llvm::raw_string_ostream unknownStream(unknown);
  LogicalResult parsed = options->parseFromString(text, unknownStream);
  activeMessages = outer;
  if (failed(parsed)) {
    // What MLIR's own option lexer reports (an unknown option, an
    // unbalanced brace), without the prefix it writes for a terminal.
    StringRef lexer = StringRef(unknown).trim();
    lexer.consume_front("<Pass-Options-Parser>: ");
    if (lexer.consume_front("no such option "))
      errors = "unknown option '" + lexer.str() + "'";
    if (errors.empty())
      errors = lexer.empty() ? "cannot parse '" + text.str() + "'"
                             : lexer.str();
    message = "sherry-to-llvm: " + errors;
    return nullptr;
  }
  if (failed(verifySherryToLLVMOptions(*options, message))) {
    message = "sherry-to-llvm: " + message;
    return nullptr;
  }
  return options;
}
