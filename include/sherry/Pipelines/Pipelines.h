//===- Pipelines.h - Named sherry pass pipelines ----------------*- C++ -*-===//

#ifndef SHERRY_PIPELINES_PIPELINES_H
#define SHERRY_PIPELINES_PIPELINES_H

#include "sherry/Conversion/KernelOptions.h"
#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"
#include "sherry/Dialect/Sherry/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Support/LLVM.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace mlir {
class OpPassManager;

namespace sherry {

/// The instruction sets `--sherry-to-llvm` has kernels for, and two names
/// that resolve to one of them.
enum class SherryTarget {
  Portable,    ///< upstream vector ops only, any CPU
  Avx512Vnni,  ///< x86 AVX-512 F/BW/VBMI/VNNI
  Avx512Bw,    ///< x86 AVX-512 F/BW
  Avx2,        ///< x86 AVX2
  NeonDotprod, ///< AArch64 NEON with the dot product extension
  Neon,        ///< AArch64 Armv8.0 NEON
  Host,        ///< the best this CPU has (resolveSherryTarget)
  Module,      ///< the best the module's LLVM target allows
};
/// The portable vector micro-kernel or the linalg reference path.
enum class KernelKind { Vector, Linalg };

/// The option spellings: `avx512-vnni`, `tables`, ...
StringRef stringifySherryTarget(SherryTarget target);
std::optional<SherryTarget> symbolizeSherryTarget(StringRef name);
raw_ostream &operator<<(raw_ostream &os, SherryTarget value);
raw_ostream &operator<<(raw_ostream &os, KernelStrategy value);
raw_ostream &operator<<(raw_ostream &os, KernelKind value);
raw_ostream &operator<<(raw_ostream &os, TableLookup value);
raw_ostream &operator<<(raw_ostream &os, TableBuild value);
/// The spelling of an option value (an enum above) as a string.
template <typename EnumT>
std::string stringifyOption(EnumT value) {
  std::string text;
  llvm::raw_string_ostream(text) << value;
  return text;
}

/// Whether `target`'s kernels are x86 code, or AArch64 NEON code.
bool isX86Target(SherryTarget target);
bool isNeonTarget(SherryTarget target);

namespace pipeline_options {
/// Reports a bad option value: into the message of the
/// parseSherryToLLVMOptions running on this thread, or, outside one (a
/// pipeline parsed by llvm::cl itself), to llvm::errs() as llvm::cl does.
/// Returns true (llvm::cl's "error").
bool reportBadValue(llvm::cl::Option &option, const llvm::Twine &message);

/// What is wrong with `arg` as a value of `option`, if anything: an enum
/// value it does not list, a negative or non-numeric count, a boolean that
/// is neither true nor false.
template <typename T, typename OptionT>
std::optional<std::string> checkValue(OptionT &option, StringRef arg) {
  std::string name = option.ArgStr.str();
  if constexpr (std::is_enum_v<T>) {
    auto &parser = option.getParser();
    std::string expected;
    for (unsigned i = 0, e = parser.getNumOptions(); i < e; ++i) {
      if (parser.getOption(i) == arg)
        return std::nullopt;
      expected += (i == 0 ? "" : i + 1 == e ? " or " : ", ");
      expected += "'" + parser.getOption(i).str() + "'";
    }
    return "unknown " + name + " '" + arg.str() + "'; expected " + expected;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (llvm::is_contained({"", "true", "TRUE", "True", "1", "false",
                            "FALSE", "False", "0"},
                           arg))
      return std::nullopt;
    return name + " takes true or false, got '" + arg.str() + "'";
  } else {
    static_assert(std::is_unsigned_v<T>, "counts and sizes are unsigned");
    T value;
    if (!arg.getAsInteger(0, value))
      return std::nullopt;
    return name + " must be a non-negative integer, got '" + arg.str() + "'";
  }
}

/// A pass option whose bad values are reported through reportBadValue
/// (llvm::cl would print them to llvm::errs(), out of reach of a caller of
/// the C API).
template <typename T>
class CheckedOption : public mlir::detail::PassOptions::Option<T> {
  using Base = mlir::detail::PassOptions::Option<T>;

public:
  template <typename... Args>
  CheckedOption(mlir::detail::PassOptions &parent, StringRef arg,
                Args &&...args)
      : Base(parent, arg, std::forward<Args>(args)...) {}
  using Base::operator=;

private:
  bool handleOccurrence(unsigned pos, StringRef argName,
                        StringRef arg) override {
    if (std::optional<std::string> error = checkValue<T>(*this, arg))
      return reportBadValue(*this, *error);
    T value{};
    if (this->getParser().parse(*this, argName, arg, value))
      return true;
    static_cast<Base &>(*this) = value;
    this->setPosition(pos);
    return false;
  }
};
} // namespace pipeline_options

/// Options of `--sherry-to-llvm`. Parse them with parseSherryToLLVMOptions,
/// which every entry point uses, so that a bad option gets the same message
/// everywhere.
struct SherryToLLVMOptions : public PassPipelineOptions<SherryToLLVMOptions> {
  template <typename T>
  using EnumOption = pipeline_options::CheckedOption<T>;
  using CountOption = pipeline_options::CheckedOption<unsigned>;
  using SizeOption = pipeline_options::CheckedOption<uint64_t>;
  using FlagOption = pipeline_options::CheckedOption<bool>;

  FlagOption foldConstants{
      *this, "fold-constants",
      llvm::cl::desc("Fold sherry ops on constants through the format "
                     "library first (packs constant weights at compile time)"),
      llvm::cl::init(true)};
  FlagOption fuseSiblings{
      *this, "fuse-siblings",
      llvm::cl::desc("Lower sherry.matmul ops on the same activations with "
                     "constant weights together: one quantization, one set "
                     "of tables and one parallel region for q, k and v. The "
                     "table kernel writes each one's own result "
                     "(table-siblings); other kernels see them concatenated "
                     "into one matmul (sherry-fuse-sibling-matmuls)"),
      llvm::cl::init(true)};
  FlagOption outlineKernelLoops{
      *this, "outline-kernel-loops",
      llvm::cl::desc("Outline the table kernel's per-block loop nest into a "
                     "function that every matmul with the same K, block and "
                     "arithmetic calls (sherry-outline-kernel-loops, "
                     "linkonce_odr): one copy of the hot code, warm across "
                     "matmuls and across objects, instead of one per matmul"),
      llvm::cl::init(true)};
  FlagOption workStealing{
      *this, "work-stealing",
      llvm::cl::desc("With threads, the table kernel's parts take blocks "
                     "from the end of slower parts' shares once their own "
                     "are done (table-work-stealing, "
                     "sherry-forall-work-stealing); otherwise each thread "
                     "computes a fixed share"),
      llvm::cl::init(true)};
  FlagOption vectorizeLinalg{
      *this, "vectorize-linalg",
      llvm::cl::desc("Tile and vectorize the linalg ops around the sherry "
                     "ops (norms, softmax, attention, dense matmuls) along "
                     "their innermost loop, reductions as vector partial "
                     "sums (sherry-vectorize-linalg); otherwise they become "
                     "scalar loops. Reassociates float reductions"),
      llvm::cl::init(false)};
  CountOption linalgVectorWidth{
      *this, "linalg-vector-width",
      llvm::cl::desc("vectorize-linalg: elements per vector along the "
                     "innermost loop"),
      llvm::cl::init(16)};
  FlagOption runtimeChecks{
      *this, "runtime-checks",
      llvm::cl::desc("Check at run time the dynamic sizes of each "
                     "sherry.matmul that must agree and that the IR does not "
                     "prove equal (rows of x and of the accumulator; M of "
                     "the weights, scales, bias and accumulator; K); a "
                     "failed check calls sherry_runtime_error and the "
                     "matmul computes nothing (sherry-insert-runtime-checks)"),
      llvm::cl::init(true)};
  EnumOption<RuntimeErrorHandler> runtimeErrorHandler{
      *this, "runtime-error-handler",
      llvm::cl::desc("Who defines sherry_runtime_error, which failed "
                     "run-time checks call"),
      llvm::cl::init(RuntimeErrorHandler::WeakDefault),
      llvm::cl::values(
          clEnumValN(RuntimeErrorHandler::WeakDefault, "weak-default",
                     "a weak definition in the module that prints the "
                     "message to stderr; a strong one linked in wins"),
          clEnumValN(RuntimeErrorHandler::External, "external",
                     "declared only: the program defines it (the C API "
                     "does, and makes a failed check an error of the "
                     "call)"))};
  CountOption rowTile{
      *this, "row-tile",
      llvm::cl::desc("Tile sherry.matmul over this many output features "
                     "with scf.forall (the unit of threading); 0 = no tiling, "
                     "or 32 when threads are asked for"),
      llvm::cl::init(0)};
  CountOption batchTile{
      *this, "batch-tile",
      llvm::cl::desc("Tile sherry.matmul over this many activation rows; "
                     "0 = no tiling"),
      llvm::cl::init(0)};
  EnumOption<KernelKind> kernel{
      *this, "kernel",
      llvm::cl::desc("How sherry.matmul is computed"),
      llvm::cl::init(KernelKind::Vector),
      llvm::cl::values(
          clEnumValN(KernelKind::Vector, "vector",
                     "the micro-kernels of the target, decoding in registers "
                     "or looking up activation tables"),
          clEnumValN(KernelKind::Linalg, "linalg",
                     "the reference path of convert-sherry-to-linalg, "
                     "through decoded weights (target=portable only)"))};
  EnumOption<SherryTarget> target{
      *this, "target",
      llvm::cl::desc("Instruction set of the kernels. Every target but "
                     "portable also pins the LLVM CPU and features of the "
                     "generated functions"),
      llvm::cl::init(SherryTarget::Portable),
      llvm::cl::values(
          clEnumValN(SherryTarget::Portable, "portable",
                     "upstream vector ops only, any CPU"),
          clEnumValN(SherryTarget::Avx512Vnni, "avx512-vnni",
                     "x86 AVX-512 F/BW/VBMI/VNNI"),
          clEnumValN(SherryTarget::Avx512Bw, "avx512-bw", "x86 AVX-512 F/BW"),
          clEnumValN(SherryTarget::Avx2, "avx2", "x86 AVX2"),
          clEnumValN(SherryTarget::NeonDotprod, "neon-dotprod",
                     "AArch64 NEON with the dot product extension"),
          clEnumValN(SherryTarget::Neon, "neon", "AArch64 Armv8.0 NEON"),
          clEnumValN(SherryTarget::Host, "host", "the best this CPU has"),
          clEnumValN(SherryTarget::Module, "module",
                     "the best the module's llvm.target or "
                     "llvm.target_triple allows"))};
  EnumOption<KernelStrategy> strategy{
      *this, "strategy", llvm::cl::desc("Kernel strategy"),
      llvm::cl::init(KernelStrategy::Auto),
      llvm::cl::values(
          clEnumValN(KernelStrategy::Auto, "auto",
                     "activation tables for constant weights, at any N; "
                     "decode otherwise"),
          clEnumValN(KernelStrategy::Tables, "tables",
                     "activation tables (every target but portable)"),
          clEnumValN(KernelStrategy::Decode, "decode",
                     "decode the weights in registers"))};
  CountOption tileBlock{
      *this, "tile-block",
      llvm::cl::desc("Tiles of 32 rows that share each table read "
                     "(strategy=tables; 0: the kernel's default, 8 for "
                     "vpermw and vpermb tables, 16 for vpermw tables built "
                     "per step, 4 for vpshufb tables, 1 on AArch64)"),
      llvm::cl::init(0)};
  EnumOption<TableLookup> tableLookup{
      *this, "table-lookup",
      llvm::cl::desc("Table lookup of x86 table kernels"),
      llvm::cl::init(TableLookup::Auto),
      llvm::cl::values(
          clEnumValN(TableLookup::Auto, "auto",
                     "vpermw on word tables on AVX-512 where scale "
                     "segments are multiples of 64 elements, byte tables "
                     "elsewhere"),
          clEnumValN(TableLookup::Words, "words", "vpermw on word tables"),
          clEnumValN(TableLookup::Bytes, "bytes",
                     "vpermb on avx512-vnni, vpshufb elsewhere"))};
  EnumOption<TableBuild> tableBuild{
      *this, "table-build",
      llvm::cl::desc("Where the word tables of x86 table kernels come from"),
      llvm::cl::init(TableBuild::Auto),
      llvm::cl::values(
          clEnumValN(TableBuild::Auto, "auto",
                     "step at a static N of 1, call otherwise"),
          clEnumValN(TableBuild::Call, "call",
                     "built once per call into memory, read by every step"),
          clEnumValN(TableBuild::Step, "step",
                     "built per step in registers from the int8 "
                     "activations, so that a weight stream from DRAM does "
                     "not evict them"))};
  SizeOption tablePartWeights{
      *this, "table-part-weights",
      llvm::cl::desc("Table kernels with threads: the fewest weights "
                     "(times N where it is static) worth a thread; a matmul "
                     "with less than twice as many runs on the calling "
                     "thread (0: any size)"),
      llvm::cl::init(2097152)};
  SizeOption tableBytes{
      *this, "table-bytes",
      llvm::cl::desc("Table kernels: the most activation-table bytes built "
                     "at a time; activation rows go in blocks whose tables "
                     "fit, one pass over the weights per block (0: every "
                     "row at once)"),
      llvm::cl::init(524288)};
  CountOption rowBlock{
      *this, "row-block",
      llvm::cl::desc("Output rows computed together, each with its own "
                     "accumulators (kernel=vector; 0: the kernel's default, "
                     "2 for AVX-512 decode and the NEON targets (1 in exact "
                     "mode, 4 for neon-dotprod panels), 1 for avx2, 4 "
                     "elsewhere)"),
      llvm::cl::init(0)};
  CountOption batchBlock{
      *this, "batch-block",
      llvm::cl::desc("Activation rows that share each decoded weight chunk "
                     "(kernel=vector; 0: the kernel's default, 8 for x86 "
                     "decode, 3 for neon-dotprod (4 for its panels, from "
                     "N = 8), 2 for neon (its panels, from N = 2), 4 "
                     "elsewhere)"),
      llvm::cl::init(0)};
  CountOption threads{
      *this, "threads",
      llvm::cl::desc("1: tiles run in order, no OpenMP; N > 1: tiles run on "
                     "N OpenMP threads; 0: on the OpenMP runtime's default "
                     "(OMP_NUM_THREADS). Code with threads calls libomp"),
      llvm::cl::init(1)};
};

/// Parses `text` (the options as between the braces of
/// `--sherry-to-llvm="..."`) and checks them with verifySherryToLLVMOptions.
/// sherry-opt, sherry-compile, the C API, Python and the fuzzer all parse
/// options here, so the same text is rejected everywhere with the same
/// message: on failure returns null and sets `message` to
/// "sherry-to-llvm: <what is wrong>".
std::unique_ptr<SherryToLLVMOptions>
parseSherryToLLVMOptions(StringRef text, std::string &message);

/// The whole way from a module of func + linalg + tensor + sherry ops to the
/// llvm dialect, on the portable path: optional scf.forall tiling of
/// sherry.matmul, its kernel (vector micro-kernel or linalg reference), the
/// remaining sherry ops to linalg, one-shot bufferization (function
/// boundaries included, identity layouts), buffer deallocation, tiles to
/// OpenMP threads or sequential loops, and upstream conversions to LLVM. The
/// result translates with `mlir-translate --mlir-to-llvmir` and runs with
/// mlir-runner. Fails with a diagnostic on options it cannot honour.
void buildSherryToLLVMPipeline(OpPassManager &pm,
                               const SherryToLLVMOptions &options);

/// The instruction set `target` names for this machine: `host` becomes the
/// best one its CPU supports, other targets stay as they are.
SherryTarget resolveSherryTarget(SherryTarget target);

/// The instruction set for the LLVM target a module names: its
/// `llvm.target` attribute (`#llvm.target<triple, chip, features>`: the
/// chip's features, then the `+`/`-` features on top) or, without one, its
/// `llvm.target_triple`. x86-64 gets the first of avx512-vnni, avx512-bw,
/// avx2 whose features are all there, AArch64 neon-dotprod or neon, any
/// other architecture (or too few features) portable. Fails, with the
/// reason in `message`, where the module names no target or an unknown
/// chip.
FailureOr<SherryTarget> resolveModuleTarget(ModuleOp module,
                                            std::string &message);

/// The pass behind target=module: resolves the module's target
/// (resolveModuleTarget) and runs --sherry-to-llvm for it with `options`.
std::unique_ptr<Pass>
createSherryToLLVMForModuleTargetPass(const SherryToLLVMOptions &options);

/// What `--sherry-to-llvm` pins on the functions it generates for a target
/// (sherry-set-target-attributes): the LLVM CPU (empty: the code
/// generator's own) and the comma-separated features, whose `+` entries the
/// kernels need. None for `portable`, `host` and `module`.
struct SherryTargetAttributes {
  llvm::StringRef cpu, features;
  /// Whether the kernels are x86 code (else AArch64).
  bool x86;
};
std::optional<SherryTargetAttributes>
getSherryTargetAttributes(SherryTarget target);

/// The features of `target`'s kernels (the `+` entries of its
/// SherryTargetAttributes, without the `+`) that the CPU running this
/// process lacks, or that its architecture cannot have: what a JIT refuses
/// to run. Empty for portable, host and module.
SmallVector<std::string> getMissingHostFeatures(SherryTarget target);

/// The parameters of a `#sherry.layout<tables, ...>`.
struct TableLayoutChoice {
  TableOrder order;
  int64_t tileBlock;
};

/// The tables layout (docs/format.md, section 3.3) in which weights passed
/// at run time go to the activation-table kernel that `options` compile,
/// for matmuls of K `cols` and scales of `granularity` (`groupSize` for
/// group scales): its order, and as tile block `options.tileBlock` or the
/// kernel's default. `host` resolves to this CPU's target. None where those
/// options compile no table kernel (`portable`, `strategy=decode`,
/// `module`, whose target only the module says) or no lookup reads such
/// weights.
std::optional<TableLayoutChoice>
getPreferredTableLayout(const SherryToLLVMOptions &options, int64_t cols,
                        ScaleGranularity granularity, int64_t groupSize);

/// Checks `options`; the message names the bad option.
LogicalResult verifySherryToLLVMOptions(const SherryToLLVMOptions &options,
                                        std::string &message);

/// Registers `--sherry-to-llvm`.
void registerSherryPipelines();

} // namespace sherry
} // namespace mlir

#endif // SHERRY_PIPELINES_PIPELINES_H
