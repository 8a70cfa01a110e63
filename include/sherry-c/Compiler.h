/*===- Compiler.h - C API: compile a module and run it ------------*- C -*-===*\
|*                                                                            *|
|* Parses a module (func + linalg + tensor + sherry ops, or anything         *|
|* `--sherry-to-llvm` lowers), runs the `--sherry-to-llvm` pipeline, JITs    *|
|* the result with mlir::ExecutionEngine and calls its functions through     *|
|* their `_mlir_ciface_` interface.                                           *|
|*                                                                            *|
|* Calling convention. Every public func.func with a body is callable; the   *|
|* compiler gives it `llvm.emit_c_interface`, and marks its tensor           *|
|* arguments `bufferization.writable = false` (unless the module says        *|
|* otherwise), so a call never writes into a tensor argument's buffer:       *|
|* tensors keep value semantics, memref arguments are passed by reference    *|
|* (destination passing). After bufferization a tensor is a memref with the  *|
|* identity layout, passed as a pointer to its descriptor                    *|
|*   { T *allocated; T *aligned; int64_t offset; int64_t sizes[rank];        *|
|*     int64_t strides[rank]; }                                               *|
|* sherryExecutableInvoke takes `args`, one pointer per parameter of the     *|
|* `_mlir_ciface_` function (ExecutionEngine::invokePacked):                 *|
|*  - no result: the inputs, in order;                                        *|
|*  - one scalar result: the inputs, then a pointer to where the result goes; *|
|*  - otherwise (a memref/tensor result, or several results): first a         *|
|*    pointer to a `T *` that points at the result storage (the result       *|
|*    descriptor, or a struct of all results in order), then the inputs.      *|
|* An input memref/tensor is passed as a pointer to a `Descriptor *`; a      *|
|* scalar as a pointer to its value. Result buffers are allocated by the     *|
|* compiled code with malloc (the deallocation pipeline returns owned        *|
|* buffers); release them with sherryFreeResultBuffer(allocated).             *|
|*                                                                            *|
|* Crashes. Parsing, the pipeline, JIT compilation and calls run under       *|
|* llvm::CrashRecoveryContext: a signal (SIGSEGV, SIGILL, ...) or an LLVM    *|
|* fatal error on the calling thread becomes a failure whose message starts  *|
|* "internal error:" and says what was running; the process goes on, and     *|
|* the memory of the failed work is leaked rather than freed. (A crash on    *|
|* another thread, such as an OpenMP worker of a call, still ends the        *|
|* process.)                                                                 *|
|*                                                                            *|
|* Run-time checks. Compiled code checks the dynamic sizes that must agree   *|
|* (--sherry-to-llvm's runtime-checks, on by default) and reports a failed   *|
|* check through the C function `sherry_runtime_error`, which this library   *|
|* provides to the code it compiles: the call then completes (computing only *|
|* what the operands share, so no memory outside them is touched) and fails  *|
|* with the check's message (SherryCallCheckFailed).                         *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef SHERRY_C_COMPILER_H
#define SHERRY_C_COMPILER_H

#include "mlir-c/Support.h"
#include "sherry-c/Format.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A compiled module: the JIT and the signatures of its functions. Release
/// with sherryExecutableDestroy.
typedef struct SherryExecutable {
  void *ptr;
} SherryExecutable;

/// How a function's input or result crosses the C boundary.
typedef enum SherryValueKind {
  SherryValueKindScalar = 0,
  SherryValueKindTensor = 1, ///< passed and returned as a memref descriptor
  SherryValueKindMemRef = 2, ///< identity layout, passed by reference
  /// Anything else (vector, unranked or strided memref, complex, ...): the
  /// function compiles but sherryExecutableInvoke cannot be given it safely
  /// by a generic caller.
  SherryValueKindUnsupported = 3,
} SherryValueKind;

typedef enum SherryElementType {
  SherryElementTypeF32 = 0,
  SherryElementTypeF64 = 1,
  SherryElementTypeF16 = 2,
  SherryElementTypeBF16 = 3,
  SherryElementTypeI1 = 4, ///< one byte per element in memory
  SherryElementTypeI8 = 5,
  SherryElementTypeI16 = 6,
  SherryElementTypeI32 = 7,
  SherryElementTypeI64 = 8,
  SherryElementTypeIndex = 9, ///< 64-bit
  SherryElementTypeUnsupported = 10,
} SherryElementType;

/// The type of an input or result as the source module declares it.
typedef struct SherryValueType {
  SherryValueKind kind;
  SherryElementType elementType;
  /// 0 for scalars.
  intptr_t rank;
  /// `rank` sizes, -1 where dynamic. Valid while the executable lives.
  const int64_t *shape;
  /// The type as MLIR prints it, e.g. "tensor<3x?xf32>".
  MlirStringRef name;
} SherryValueType;

/// Parses `source`, runs `--sherry-to-llvm` with `pipelineOptions` (the text
/// between the braces of `--sherry-to-llvm="..."`, e.g. "row-tile=16";
/// empty for the defaults), and JIT-compiles the result at `optLevel`
/// (0..3, as mlir-runner's -O). The JIT resolves external symbols in the
/// process, in `sharedLibs` (paths), and in the LLVM OpenMP runtime and
/// mlir-runner's support libraries (libomp, libmlir_c_runner_utils,
/// libmlir_runner_utils) of the LLVM this library was built with, where
/// they exist. On failure, the error callback gets every diagnostic
/// (parse errors, verifier and pass failures with their locations) or the
/// JIT's error. The options are checked first, with the same messages as
/// sherry-opt's; a target whose features this CPU lacks (or of another
/// architecture) is refused, naming what is missing, before anything is
/// compiled.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryCompile(
    MlirStringRef source, MlirStringRef pipelineOptions, int optLevel,
    const MlirStringRef *sharedLibs, intptr_t numSharedLibs,
    SherryExecutable *result, MlirStringCallback errorCallback, void *userData);

/// sherryCompile with a compile cache in `cacheDirectory` (created if
/// missing; empty: no cache). The compiled object and the functions'
/// signatures are kept there under a SHA-256 of everything the code
/// depends on: this library's version and build (file, size, mtime), the
/// LLVM version, this CPU's name and features, `optLevel`, the options as
/// parsed, the shared libraries' paths and `source`. A later call with the
/// same inputs loads the object instead of parsing and compiling
/// (`*cacheHit` true when it did; may be NULL). A damaged entry is
/// compiled anew and rewritten; a directory that cannot be created or
/// written fails the call, naming it. Entries are never removed: delete
/// the directory to empty the cache. Modules whose lowered code has global
/// constructors are compiled every time.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryCompileCached(
    MlirStringRef source, MlirStringRef pipelineOptions, int optLevel,
    const MlirStringRef *sharedLibs, intptr_t numSharedLibs,
    MlirStringRef cacheDirectory, bool *cacheHit, SherryExecutable *result,
    MlirStringCallback errorCallback, void *userData);

/// Like sherryCompile, but stops after the pipeline and passes the lowered
/// module (LLVM dialect) to `irCallback` as text: what the JIT would run.
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryLowerToLLVM(MlirStringRef source, MlirStringRef pipelineOptions,
                  MlirStringCallback irCallback, void *irUserData,
                  MlirStringCallback errorCallback, void *userData);

/// Parses `source`, runs the textual pass pipeline `passPipeline` on it (as
/// sherry-opt's `--pass-pipeline`, e.g.
/// "builtin.module(sherry-sparsify{layout=sherry mode=int8},canonicalize)";
/// it may name sherry's passes and pipelines and MLIR's core transforms:
/// canonicalize, cse, inline, symbol-dce, ...), and passes the
/// resulting module to `irCallback` as text. On failure, the error callback
/// gets the pipeline's parse error or every diagnostic of the parser and
/// the passes.
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryRunPasses(MlirStringRef source, MlirStringRef passPipeline,
                MlirStringCallback irCallback, void *irUserData,
                MlirStringCallback errorCallback, void *userData);

/// The tables layout (docs/format.md, section 3.3) in which weights passed
/// at run time, of K `cols` and scales of `granularity` (`groupSize` for
/// group scales), go to the activation-table kernel that `pipelineOptions`
/// compile (`target=host` for this CPU): sets `*found`, and where it is
/// true `*order` and `*tileBlock`. `*found` is false where those options
/// compile no table kernel for such weights (target=portable,
/// strategy=decode, ...): pass them in the sherry or stq1_0 layout then.
/// Fails only on bad options (the message names them).
MLIR_CAPI_EXPORTED MlirLogicalResult sherryGetPreferredTableLayout(
    MlirStringRef pipelineOptions, int64_t cols, SherryGranularity granularity,
    int64_t groupSize, bool *found, SherryTableOrder *order, int64_t *tileBlock,
    MlirStringCallback errorCallback, void *userData);

MLIR_CAPI_EXPORTED void sherryExecutableDestroy(SherryExecutable exe);

/// The callable functions, in the order the module defines them.
MLIR_CAPI_EXPORTED intptr_t
sherryExecutableGetNumFunctions(SherryExecutable exe);
MLIR_CAPI_EXPORTED MlirStringRef
sherryExecutableGetFunctionName(SherryExecutable exe, intptr_t function);
MLIR_CAPI_EXPORTED intptr_t sherryExecutableGetNumInputs(SherryExecutable exe,
                                                         intptr_t function);
MLIR_CAPI_EXPORTED intptr_t sherryExecutableGetNumResults(SherryExecutable exe,
                                                          intptr_t function);
MLIR_CAPI_EXPORTED SherryValueType sherryExecutableGetInput(
    SherryExecutable exe, intptr_t function, intptr_t position);
MLIR_CAPI_EXPORTED SherryValueType sherryExecutableGetResult(
    SherryExecutable exe, intptr_t function, intptr_t position);

/// What a call did.
typedef enum SherryCallOutcome {
  /// Nothing was called (no such function).
  SherryCallNotMade = 0,
  /// The call completed: results are valid.
  SherryCallCompleted = 1,
  /// The call completed, but a run-time check failed (the error callback
  /// has its message): results are valid buffers (release them as usual)
  /// whose values are unspecified.
  SherryCallCheckFailed = 2,
  /// The call crashed and was recovered (the error callback says where):
  /// nothing it returned may be used or freed.
  SherryCallCrashed = 3,
} SherryCallOutcome;

/// Calls `_mlir_ciface_<name>` with `args` as laid out in the header
/// comment; `outcome` (may be NULL) says what happened. Fails unless the
/// outcome is SherryCallCompleted.
MLIR_CAPI_EXPORTED MlirLogicalResult sherryExecutableCall(
    SherryExecutable exe, MlirStringRef name, void **args,
    SherryCallOutcome *outcome, MlirStringCallback errorCallback,
    void *userData);

/// sherryExecutableCall without the outcome.
MLIR_CAPI_EXPORTED MlirLogicalResult
sherryExecutableInvoke(SherryExecutable exe, MlirStringRef name, void **args,
                       MlirStringCallback errorCallback, void *userData);

/// Releases a result buffer (its `allocated` pointer) that compiled code
/// returned.
MLIR_CAPI_EXPORTED void sherryFreeResultBuffer(void *allocated);

#ifdef __cplusplus
}
#endif

#endif // SHERRY_C_COMPILER_H
