//===- Pipelines.h - Named sherry pass pipelines ----------------*- C++ -*-===//

#ifndef SHERRY_PIPELINES_PIPELINES_H
#define SHERRY_PIPELINES_PIPELINES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Support/LLVM.h"

#include <memory>
#include <string>

namespace mlir {
class OpPassManager;

namespace sherry {

/// Options of `--sherry-to-llvm`.
struct SherryToLLVMOptions : public PassPipelineOptions<SherryToLLVMOptions> {
  PassOptions::Option<bool> foldConstants{
      *this, "fold-constants",
      llvm::cl::desc("Fold sherry ops on constants through the format "
                     "library first (packs constant weights at compile time)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseSiblings{
      *this, "fuse-siblings",
      llvm::cl::desc("Lower sherry.matmul ops on the same activations with "
                     "constant weights together: one quantization, one set "
                     "of tables and one parallel region for q, k and v. The "
                     "table kernel writes each one's own result "
                     "(table-siblings); other kernels see them concatenated "
                     "into one matmul (sherry-fuse-sibling-matmuls)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> outlineKernelLoops{
      *this, "outline-kernel-loops",
      llvm::cl::desc("Outline the table kernel's per-block loop nest into a "
                     "function that every matmul with the same K, block and "
                     "arithmetic calls (sherry-outline-kernel-loops, "
                     "linkonce_odr): one copy of the hot code, warm across "
                     "matmuls and across objects, instead of one per matmul"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> workStealing{
      *this, "work-stealing",
      llvm::cl::desc("With threads, the table kernel's parts take blocks "
                     "from the end of slower parts' shares once their own "
                     "are done (table-work-stealing, "
                     "sherry-forall-work-stealing); otherwise each thread "
                     "computes a fixed share"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> rowTile{
      *this, "row-tile",
      llvm::cl::desc("Tile sherry.matmul over this many output features "
                     "with scf.forall (the unit of threading); 0 = no tiling, "
                     "or 32 when threads are asked for"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> batchTile{
      *this, "batch-tile",
      llvm::cl::desc("Tile sherry.matmul over this many activation rows; "
                     "0 = no tiling"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> kernel{
      *this, "kernel",
      llvm::cl::desc("How sherry.matmul is computed: 'vector' (the "
                     "micro-kernel of convert-sherry-to-vector, decoding in "
                     "registers) or 'linalg' (the reference path of "
                     "convert-sherry-to-linalg, through decoded weights)"),
      llvm::cl::init("vector")};
  PassOptions::Option<std::string> target{
      *this, "target",
      llvm::cl::desc("Instruction set of the kernels: 'portable' (upstream "
                     "vector ops only, any CPU), 'avx512-vnni' (x86 AVX-512 "
                     "F/BW/VBMI/VNNI), 'avx512-bw' (x86 AVX-512 F/BW), "
                     "'avx2' (x86 AVX2), 'neon-dotprod' (AArch64 NEON with "
                     "the dot product extension), 'neon' (AArch64 Armv8.0 "
                     "NEON), 'host' (the best this CPU has) or 'module' (the "
                     "best the module's llvm.target or llvm.target_triple "
                     "allows). Every "
                     "target but portable also pins the LLVM CPU and "
                     "features of the generated functions"),
      llvm::cl::init("portable")};
  PassOptions::Option<std::string> strategy{
      *this, "strategy",
      llvm::cl::desc("Kernel strategy: 'auto' (activation tables for "
                     "constant weights, at any N; decode otherwise), "
                     "'tables' (every target but portable) or 'decode'"),
      llvm::cl::init("auto")};
  PassOptions::Option<int64_t> tileBlock{
      *this, "tile-block",
      llvm::cl::desc("Tiles of 32 rows that share each table read "
                     "(strategy=tables; 0: the kernel's default, 8 for "
                     "vpermw and vpermb tables, 16 for vpermw tables built "
                     "per step, 4 for vpshufb tables, 1 on AArch64)"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> tableLookup{
      *this, "table-lookup",
      llvm::cl::desc("Table lookup of x86 table kernels: 'auto' (vpermw on "
                     "word tables on AVX-512 where scale segments are "
                     "multiples of 64 elements, byte tables elsewhere), "
                     "'words' or 'bytes' (vpermb on avx512-vnni, vpshufb "
                     "elsewhere)"),
      llvm::cl::init("auto")};
  PassOptions::Option<std::string> tableBuild{
      *this, "table-build",
      llvm::cl::desc("Where the word tables of x86 table kernels come from: "
                     "'call' (built once per call into memory, read by "
                     "every step), 'step' (built per step in registers from "
                     "the int8 activations, so that a weight stream from "
                     "DRAM does not evict them) or 'auto' (step at a static "
                     "N of 1, call otherwise)"),
      llvm::cl::init("auto")};
  PassOptions::Option<int64_t> tablePartWeights{
      *this, "table-part-weights",
      llvm::cl::desc("Table kernels with threads: the fewest weights "
                     "(times N where it is static) worth a thread; a matmul "
                     "with less than twice as many runs on the calling "
                     "thread (0: any size)"),
      llvm::cl::init(2097152)};
  PassOptions::Option<int64_t> tableBytes{
      *this, "table-bytes",
      llvm::cl::desc("Table kernels: the most activation-table bytes built "
                     "at a time; activation rows go in blocks whose tables "
                     "fit, one pass over the weights per block (0: every "
                     "row at once)"),
      llvm::cl::init(524288)};
  PassOptions::Option<int64_t> rowBlock{
      *this, "row-block",
      llvm::cl::desc("Output rows computed together, each with its own "
                     "accumulators (kernel=vector; 0: the kernel's default, "
                     "2 for AVX-512 decode, 1 for avx2 and neon, 4 "
                     "elsewhere)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> batchBlock{
      *this, "batch-block",
      llvm::cl::desc("Activation rows that share each decoded weight chunk "
                     "(kernel=vector; 0: the kernel's default, 8 for x86 "
                     "decode and neon, 4 elsewhere)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> threads{
      *this, "threads",
      llvm::cl::desc("1: tiles run in order, no OpenMP; N > 1: tiles run on "
                     "N OpenMP threads; 0: on the OpenMP runtime's default "
                     "(OMP_NUM_THREADS). Code with threads calls libomp"),
      llvm::cl::init(1)};
};

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
/// best one its CPU supports, other names stay as they are.
std::string resolveSherryTarget(const std::string &target);

/// The instruction set for the LLVM target a module names: its
/// `llvm.target` attribute (`#llvm.target<triple, chip, features>`: the
/// chip's features, then the `+`/`-` features on top) or, without one, its
/// `llvm.target_triple`. x86-64 gets the first of avx512-vnni, avx512-bw,
/// avx2 whose features are all there, AArch64 neon-dotprod or neon, any
/// other architecture (or too few features) portable. Fails, with the
/// reason in `message`, where the module names no target or an unknown
/// chip.
FailureOr<std::string> resolveModuleTarget(ModuleOp module,
                                           std::string &message);

/// The pass behind target=module: resolves the module's target
/// (resolveModuleTarget) and runs --sherry-to-llvm for it with `options`.
std::unique_ptr<Pass>
createSherryToLLVMForModuleTargetPass(const SherryToLLVMOptions &options);

/// What `--sherry-to-llvm` pins on the functions it generates for a target
/// (sherry-set-target-attributes): the LLVM CPU (empty: the code
/// generator's own) and the comma-separated features, whose `+` entries the
/// kernels need. None for `portable`, `host` and unknown names.
struct SherryTargetAttributes {
  llvm::StringRef cpu, features;
  /// Whether the kernels are x86 code (else AArch64).
  bool x86;
};
std::optional<SherryTargetAttributes>
getSherryTargetAttributes(llvm::StringRef target);

/// Checks `options`; the message names the bad option.
LogicalResult verifySherryToLLVMOptions(const SherryToLLVMOptions &options,
                                        std::string &message);

/// Registers `--sherry-to-llvm`.
void registerSherryPipelines();

} // namespace sherry
} // namespace mlir

#endif // SHERRY_PIPELINES_PIPELINES_H
