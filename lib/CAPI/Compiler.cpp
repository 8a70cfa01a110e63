//===- Compiler.cpp - C API: compile a module and run it ------------------===//
//
// Parse, lower with --sherry-to-llvm, JIT with mlir::ExecutionEngine, call
// through `_mlir_ciface_` wrappers. Every diagnostic the context emits on
// the way is collected and becomes the error message.
//
//===----------------------------------------------------------------------===//

#include "sherry-c/Compiler.h"
#include "sherry-c/Dialect.h"

#include "Common.h"
#include "CompileCache.h"

#include "sherry/InitAllSherry.h"
#include "sherry/Pipelines/Pipelines.h"
#include "sherry/Format/Format.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Support/raw_ostream.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace mlir;
using ::sherry::capi::fail;

using ::sherry::capi::FunctionInfo;
using ::sherry::capi::LoadedCode;
using ::sherry::capi::ValueInfo;

namespace {
/// What a SherryExecutable points to: code the JIT compiled, or code loaded
/// from the compile cache.
struct Executable {
  std::unique_ptr<ExecutionEngine> engine;
  std::unique_ptr<LoadedCode> loaded;
  std::vector<FunctionInfo> functions;
};

/// Collects every diagnostic of a context as "file:line:col: severity: msg"
/// lines (notes included) while it lives.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext *context)
      : os(text), handler(context, [this](Diagnostic &diag) {
          print(diag);
          for (Diagnostic &note : diag.getNotes())
            print(note);
          return success();
        }) {}

  /// The diagnostics, or `fallback` where there were none.
  std::string message(StringRef fallback) {
    std::string result = text;
    if (result.empty())
      return fallback.str();
    while (!result.empty() && result.back() == '\n')
      result.pop_back();
    return result;
  }

private:
  static StringRef severityName(DiagnosticSeverity severity) {
    switch (severity) {
    case DiagnosticSeverity::Error:
      return "error";
    case DiagnosticSeverity::Warning:
      return "warning";
    case DiagnosticSeverity::Remark:
      return "remark";
    case DiagnosticSeverity::Note:
      return "note";
    }
    return "error";
  }

  void print(Diagnostic &diag) {
    Location loc = diag.getLocation();
    if (auto fileLoc = dyn_cast<FileLineColLoc>(loc))
      os << fileLoc.getFilename().getValue() << ":" << fileLoc.getLine() << ":"
         << fileLoc.getColumn() << ": ";
    else if (!isa<UnknownLoc>(loc))
      os << loc << ": ";
    os << severityName(diag.getSeverity()) << ": " << diag << "\n";
  }

  std::string text;
  llvm::raw_string_ostream os;
  ScopedDiagnosticHandler handler;
};

//===----------------------------------------------------------------------===//
// Crash recovery
//===----------------------------------------------------------------------===//

/// The reason of the LLVM fatal error being handled on this thread.
thread_local std::string *fatalReason = nullptr;

/// LLVM's fatal errors (report_fatal_error: "Cannot select", ...) end the
/// process; inside a CrashRecovery they end the recovered work instead.
void handleFatalError(void *, const char *reason, bool genCrashDiag) {
  if (llvm::CrashRecoveryContext *context =
          llvm::CrashRecoveryContext::GetCurrent()) {
    if (fatalReason)
      *fatalReason = reason;
    context->HandleExit(1);
  }
  // Outside: what LLVM does without a handler.
  std::fprintf(stderr, "LLVM ERROR: %s\n", reason);
  if (genCrashDiag)
    std::abort();
  std::exit(1);
}

/// Runs work so that a crash inside it (a signal such as SIGSEGV or
/// SIGILL, or an LLVM fatal error) on the calling thread becomes an error
/// message instead of the end of the process: the C API's callers (Python
/// among them) survive bugs in MLIR and LLVM and in what they compile.
/// What the crashed work had allocated is leaked, never freed: its state is
/// unknown. Crashes on other threads (OpenMP workers) are not recovered.
class CrashRecovery {
public:
  CrashRecovery() {
    static std::once_flag installed;
    std::call_once(installed, [] {
      llvm::install_fatal_error_handler(handleFatalError);
    });
    // Again each time: a crash outside a recovery turns it off.
    llvm::CrashRecoveryContext::Enable();
  }

  /// What the work is doing, for the message: "parsing the module".
  void setStage(std::string stage) { this->stage = std::move(stage); }

  /// Runs `work`; false where it crashed (message() says how).
  bool run(function_ref<void()> work) {
    std::string reason;
    std::string *outer = fatalReason;
    fatalReason = &reason;
    llvm::CrashRecoveryContext context;
    bool ok = context.RunSafely(work);
    fatalReason = outer;
    if (!ok)
      crash = describe(context.RetCode, reason);
    return ok;
  }

  bool crashed() const { return !crash.empty(); }

  /// "internal error: ... while <stage>: ...".
  std::string message() const {
    return "internal error: " + crash + " while " + stage +
           ". This is a bug in sherry-mlir or in the MLIR/LLVM it uses "
           "(or, in a call, in what the module computes); please report "
           "it with the input. The memory of the failed work is not "
           "released.";
  }

private:
  static std::string describe(int retCode, const std::string &reason) {
    if (!reason.empty())
      return "LLVM ERROR: " + reason;
    if (retCode > 128) {
      int signal = retCode - 128;
      const char *name = sigabbrev_np(signal);
      return std::string("signal ") + std::to_string(signal) +
             (name ? std::string(" (SIG") + name + ")" : std::string()) +
             " (" + strsignal(signal) + ")";
    }
    return "exit(" + std::to_string(retCode) + ")";
  }

  std::string stage = "compiling";
  std::string crash;
};

/// Keeps a CrashRecovery's stage at the pass the pipeline runs.
class StageInstrumentation : public PassInstrumentation {
public:
  explicit StageInstrumentation(CrashRecovery &recovery)
      : recovery(recovery) {}
  void runBeforePass(Pass *pass, Operation *op) override {
    recovery.setStage("running pass '" + pass->getArgument().str() +
                      "' of --sherry-to-llvm on '" +
                      op->getName().getStringRef().str() + "'");
  }

private:
  CrashRecovery &recovery;
};
} // namespace

static Executable *unwrap(SherryExecutable exe) {
  return static_cast<Executable *>(exe.ptr);
}

static MlirStringRef wrapString(const std::string &s) {
  return mlirStringRefCreate(s.data(), s.size());
}

static SherryElementType elementTypeOf(Type type) {
  if (type.isF32())
    return SherryElementTypeF32;
  if (type.isF64())
    return SherryElementTypeF64;
  if (type.isF16())
    return SherryElementTypeF16;
  if (type.isBF16())
    return SherryElementTypeBF16;
  if (type.isIndex())
    return SherryElementTypeIndex;
  if (auto intType = dyn_cast<IntegerType>(type)) {
    switch (intType.getWidth()) {
    case 1:
      return SherryElementTypeI1;
    case 8:
      return SherryElementTypeI8;
    case 16:
      return SherryElementTypeI16;
    case 32:
      return SherryElementTypeI32;
    case 64:
      return SherryElementTypeI64;
    default:
      break;
    }
  }
  return SherryElementTypeUnsupported;
}

static ValueInfo describe(Type type) {
  ValueInfo info;
  llvm::raw_string_ostream(info.name) << type;
  auto setShaped = [&](ShapedType shaped, SherryValueKind kind) {
    info.elementType = elementTypeOf(shaped.getElementType());
    if (info.elementType == SherryElementTypeUnsupported)
      return;
    info.kind = kind;
    for (int64_t size : shaped.getShape())
      info.shape.push_back(ShapedType::isDynamic(size) ? -1 : size);
  };
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    setShaped(tensor, SherryValueKindTensor);
  } else if (auto memref = dyn_cast<MemRefType>(type)) {
    if (memref.getLayout().isIdentity() && !memref.getMemorySpace())
      setShaped(memref, SherryValueKindMemRef);
  } else {
    info.elementType = elementTypeOf(type);
    if (info.elementType != SherryElementTypeUnsupported)
      info.kind = SherryValueKindScalar;
  }
  return info;
}

/// Records the signatures of the public functions with a body and prepares
/// them for calls from C: a `_mlir_ciface_` wrapper each, and tensor
/// arguments that are never written in place.
static std::vector<FunctionInfo> prepareFunctions(ModuleOp module) {
  std::vector<FunctionInfo> functions;
  Builder b(module.getContext());
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || !func.isPublic())
      continue;
    FunctionInfo info;
    info.name = func.getSymName().str();
    for (Type t : func.getArgumentTypes())
      info.inputs.push_back(describe(t));
    for (Type t : func.getResultTypes())
      info.results.push_back(describe(t));
    functions.push_back(std::move(info));

    func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                  b.getUnitAttr());
    for (auto [i, t] : llvm::enumerate(func.getArgumentTypes())) {
      StringRef writable =
          bufferization::BufferizationDialect::kWritableAttrName;
      if (isa<TensorType>(t) && !func.getArgAttr(i, writable))
        func.setArgAttr(i, writable, b.getBoolAttr(false));
    }
  }
  return functions;
}

static DialectRegistry makeRegistry() {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  mlir::sherry::registerAllSherryDialects(registry);
  // LLVM, OpenMP (threaded kernels call libomp) and the target dialects.
  registerAllToLLVMIRTranslations(registry);
  return registry;
}

/// One compilation's MLIR state, on the heap: after a crash it is leaked,
/// not destroyed (its state is unknown). The context runs single-threaded:
/// a crash on a thread of its pool would not be recovered.
struct Compilation {
  std::unique_ptr<MLIRContext> context = std::make_unique<MLIRContext>(
      makeRegistry(), MLIRContext::Threading::DISABLED);
  std::unique_ptr<DiagnosticCollector> diagnostics =
      std::make_unique<DiagnosticCollector>(context.get());
  OwningOpRef<ModuleOp> module;
  std::vector<FunctionInfo> functions;

  /// After a crash: nothing of it is freed.
  void abandon() {
    (void)module.release();
    (void)diagnostics.release();
    (void)context.release();
  }
};

/// Why the JIT cannot run `target`'s code on this CPU, or "".
static std::string checkHostRuns(mlir::sherry::SherryTarget target) {
  SmallVector<std::string> missing =
      mlir::sherry::getMissingHostFeatures(target);
  if (missing.empty())
    return "";
  std::string name = mlir::sherry::stringifySherryTarget(target).str();
  std::optional<mlir::sherry::SherryTargetAttributes> attributes =
      mlir::sherry::getSherryTargetAttributes(target);
  llvm::Triple host(llvm::sys::getProcessTriple());
  std::string reason =
      (attributes->x86 ? host.isX86() : host.isAArch64())
          ? "needs " + llvm::join(missing, ", ") + ", which this CPU (" +
                llvm::sys::getHostCPUName().str() + ") lacks"
          : std::string("is ") + (attributes->x86 ? "x86" : "AArch64") +
                " code and this CPU is " + host.getArchName().str();
  return "target=" + name + " " + reason +
         ": the JIT runs code on this CPU, so it compiles nothing for it "
         "(target=host picks the best this CPU has; sherry-compile "
         "--mtriple/--mcpu/--mattr compiles ahead of time for other CPUs)";
}

/// Parses `source` into `c`, checks (for the JIT) that this CPU runs the
/// code of the target, and lowers it with --sherry-to-llvm. The work runs
/// under `recovery`; on a failure sets `error` and returns false.
static bool lower(Compilation &c, CrashRecovery &recovery,
                  MlirStringRef source,
                  const mlir::sherry::SherryToLLVMOptions &options,
                  bool forJit, std::string &error) {
  using mlir::sherry::SherryTarget;
  if (forJit) {
    error = checkHostRuns(options.target);
    if (!error.empty())
      return false;
  }
  bool ok = recovery.run([&] {
    recovery.setStage("parsing the module");
    // The MLIR lexer reads up to a NUL after the buffer; a C caller's
    // MlirStringRef need not have one (found by fuzz-mlir,
    // docs/design/2026-11-24-reliability-campaigns.md, H1), so parse a
    // NUL-terminated copy.
    std::string sourceText(source.data, source.length);
    c.module = parseSourceString<ModuleOp>(
        sourceText, ParserConfig(c.context.get()), "input");
    if (!c.module) {
      error = c.diagnostics->message("could not parse the module");
      return;
    }
    if (forJit && options.target == SherryTarget::Module) {
      std::string message;
      FailureOr<SherryTarget> target =
          mlir::sherry::resolveModuleTarget(*c.module, message);
      if (succeeded(target))
        error = checkHostRuns(*target);
      if (!error.empty())
        return;
    }
    c.functions = prepareFunctions(*c.module);
    PassManager pm(c.context.get(), ModuleOp::getOperationName());
    pm.addInstrumentation(std::make_unique<StageInstrumentation>(recovery));
    mlir::sherry::buildSherryToLLVMPipeline(pm, options);
    if (failed(pm.run(*c.module)))
      error = c.diagnostics->message("the --sherry-to-llvm pipeline failed");
  });
  if (!ok) {
    // What the parser or the passes said before the crash often says what
    // they crashed on.
    std::string said = c.diagnostics->message("");
    error = recovery.message() + (said.empty() ? "" : "\n" + said);
    return false;
  }
  return error.empty();
}

/// The pipeline options `text` says, checked, or null with `error` set.
static std::unique_ptr<mlir::sherry::SherryToLLVMOptions>
parseOptions(MlirStringRef text, std::string &error) {
  return mlir::sherry::parseSherryToLLVMOptions(
      StringRef(text.data, text.length), error);
}

MlirLogicalResult sherryGetPreferredTableLayout(
    MlirStringRef pipelineOptions, int64_t cols, SherryGranularity granularity,
    int64_t groupSize, bool *found, SherryTableOrder *order, int64_t *tileBlock,
    MlirStringCallback errorCallback, void *userData) {
  namespace format = ::sherry::format;
  std::string error;
  auto options = parseOptions(pipelineOptions, error);
  if (!options)
    return fail(errorCallback, userData, error);
  if (!found || !order || !tileBlock)
    return fail(errorCallback, userData, "no result pointers given (null)");
  mlir::sherry::ScaleGranularity g;
  format::ScaleSpec spec;
  switch (granularity) {
  case SherryGranularityTensor:
    g = mlir::sherry::ScaleGranularity::Tensor;
    spec = format::ScaleSpec::tensor();
    break;
  case SherryGranularityRow:
    g = mlir::sherry::ScaleGranularity::Row;
    spec = format::ScaleSpec::row();
    break;
  case SherryGranularityGroup:
    g = mlir::sherry::ScaleGranularity::Group;
    spec = format::ScaleSpec::group(groupSize);
    break;
  default:
    return fail(errorCallback, userData,
                "unknown granularity " + std::to_string(int(granularity)) +
                    "; expected 0 (tensor), 1 (row) or 2 (group)");
  }
  if (format::Status s = format::checkScaleSpec(spec, cols); !s.ok())
    return fail(errorCallback, userData, s.message());
  std::optional<mlir::sherry::TableLayoutChoice> layout =
      mlir::sherry::getPreferredTableLayout(*options, cols, g, groupSize);
  *found = layout.has_value();
  if (layout) {
    switch (layout->order) {
    case mlir::sherry::TableOrder::Pairs:
      *order = SherryTableOrderPairs;
      break;
    case mlir::sherry::TableOrder::Lanes:
      *order = SherryTableOrderLanes;
      break;
    case mlir::sherry::TableOrder::Words:
      *order = SherryTableOrderWords;
      break;
    }
    *tileBlock = layout->tileBlock;
  }
  return mlirLogicalResultSuccess();
}

/// Prints the module of `c` to `callback` (if any).
static MlirLogicalResult passModuleText(Compilation &c,
                                        MlirStringCallback callback,
                                        void *userData) {
  std::string text;
  llvm::raw_string_ostream os(text);
  c.module->print(os);
  if (callback)
    callback(wrapString(text), userData);
  return mlirLogicalResultSuccess();
}

MlirLogicalResult
sherryLowerToLLVM(MlirStringRef source, MlirStringRef pipelineOptions,
                  MlirStringCallback irCallback, void *irUserData,
                  MlirStringCallback errorCallback, void *userData) {
  std::string error;
  auto options = parseOptions(pipelineOptions, error);
  if (!options)
    return fail(errorCallback, userData, error);
  CrashRecovery recovery;
  auto c = std::make_unique<Compilation>();
  if (!lower(*c, recovery, source, *options, /*forJit=*/false, error)) {
    if (recovery.crashed())
      c.release()->abandon();
    return fail(errorCallback, userData, error);
  }
  return passModuleText(*c, irCallback, irUserData);
}

/// Registers what sherryRunPasses' pipelines may name: sherry's passes and
/// pipelines and MLIR's core transforms.
static void registerPassesOnce() {
  static std::once_flag once;
  std::call_once(once, [] { mlir::registerTransformsPasses(); });
  sherryRegisterAllPasses();
}

MlirLogicalResult sherryRunPasses(MlirStringRef source,
                                  MlirStringRef passPipeline,
                                  MlirStringCallback irCallback,
                                  void *irUserData,
                                  MlirStringCallback errorCallback,
                                  void *userData) {
  registerPassesOnce();
  std::string error;
  CrashRecovery recovery;
  auto c = std::make_unique<Compilation>();
  bool ok = recovery.run([&] {
    recovery.setStage("parsing the pass pipeline");
    std::string parseError;
    llvm::raw_string_ostream errorStream(parseError);
    FailureOr<OpPassManager> parsed = parsePassPipeline(
        StringRef(passPipeline.data, passPipeline.length), errorStream);
    if (failed(parsed)) {
      error = "invalid pass pipeline: " + StringRef(parseError).trim().str();
      return;
    }
    if (parsed->getOpAnchorName() != ModuleOp::getOperationName() &&
        parsed->getOpAnchorName() != OpPassManager::getAnyOpAnchorName()) {
      error = "invalid pass pipeline: it runs on '" +
              parsed->getOpAnchorName().str() +
              "'; wrap it as builtin.module(...)";
      return;
    }
    PassManager pm(c->context.get(), ModuleOp::getOperationName());
    static_cast<OpPassManager &>(pm) = *parsed;
    recovery.setStage("parsing the module");
    std::string sourceText(source.data, source.length);
    c->module = parseSourceString<ModuleOp>(
        sourceText, ParserConfig(c->context.get()), "input");
    if (!c->module) {
      error = c->diagnostics->message("could not parse the module");
      return;
    }
    pm.addInstrumentation(std::make_unique<StageInstrumentation>(recovery));
    if (failed(pm.run(*c->module)))
      error = c->diagnostics->message("the pass pipeline failed");
  });
  if (!ok) {
    std::string said = c->diagnostics->message("");
    c.release()->abandon();
    return fail(errorCallback, userData,
                recovery.message() + (said.empty() ? "" : "\n" + said));
  }
  if (!error.empty())
    return fail(errorCallback, userData, error);
  return passModuleText(*c, irCallback, irUserData);
}

/// The runtime libraries of the LLVM we were built with that exist here.
static std::vector<std::string> defaultSharedLibs() {
  std::vector<std::string> libs;
  for (const char *name :
       {"libomp.so", "libmlir_c_runner_utils.so", "libmlir_runner_utils.so"}) {
    llvm::SmallString<256> path(SHERRY_LLVM_LIBRARY_DIR);
    llvm::sys::path::append(path, name);
    if (llvm::sys::fs::exists(path))
      libs.push_back(std::string(path));
  }
  return libs;
}

namespace {
/// The run-time errors reported while sherryExecutableCall runs on this
/// thread.
thread_local std::string *runtimeErrors = nullptr;
/// Those reported on other threads (compiled code's OpenMP workers), for
/// whichever call is running.
std::mutex strayErrorsMutex;
std::string strayErrors;

/// What compiled code calls when a run-time check fails (docs/aot.md,
/// "Run-time checks"): `format` holds up to two %lld for `a` and `b`.
extern "C" void sherryRecordRuntimeError(const char *format, int64_t a,
                                         int64_t b) {
  char buffer[1024];
  std::snprintf(buffer, sizeof(buffer), format, static_cast<long long>(a),
                static_cast<long long>(b));
  if (runtimeErrors) {
    if (!runtimeErrors->empty())
      *runtimeErrors += "\n";
    *runtimeErrors += buffer;
    return;
  }
  std::lock_guard<std::mutex> lock(strayErrorsMutex);
  if (!strayErrors.empty())
    strayErrors += "\n";
  strayErrors += buffer;
}
} // namespace

/// Sets each function's packed entry point (its `_mlir_ciface_` wrapper's)
/// from `lookup`, whether the JIT compiled the code or the compile cache
/// held it; the error, naming the function, or "".
template <typename Lookup>
static std::string lookUpEntryPoints(std::vector<FunctionInfo> &functions,
                                     Lookup lookup) {
  for (FunctionInfo &f : functions) {
    llvm::Expected<void (*)(void **)> packed = lookup("_mlir_ciface_" + f.name);
    if (!packed)
      return "JIT lookup of '" + f.name +
             "' failed: " + llvm::toString(packed.takeError());
    f.packed = *packed;
  }
  return "";
}

/// Loads `cached` with `libs`; on success, `result` is the executable.
/// Where the entry does not load (damaged, or made by a JIT that linked
/// differently), returns false and the module is compiled anew.
static bool loadCached(::sherry::capi::CachedCode cached,
                       ArrayRef<std::string> libs, SherryExecutable *result) {
  auto exe = std::make_unique<Executable>();
  exe->functions = std::move(cached.functions);
  std::string error;
  CrashRecovery recovery;
  bool ok = recovery.run([&] {
    recovery.setStage("loading compiled code from the compile cache");
    auto loaded = LoadedCode::load(
        std::move(cached.object), libs,
        reinterpret_cast<void *>(&sherryRecordRuntimeError));
    if (!loaded) {
      error = llvm::toString(loaded.takeError());
      return;
    }
    exe->loaded = std::move(*loaded);
    error = lookUpEntryPoints(exe->functions, [&](StringRef name) {
      return exe->loaded->lookupPacked(name);
    });
  });
  if (!ok) {
    (void)exe.release();
    return false;
  }
  if (!error.empty())
    return false;
  *result = SherryExecutable{exe.release()};
  return true;
}

/// Whether the lowered module's code can be cached: code with global
/// constructors needs the JIT's initializers, which a cached object does
/// not run.
static bool cacheable(ModuleOp module) {
  return module.getOps<LLVM::GlobalCtorsOp>().empty();
}

MlirLogicalResult
sherryCompile(MlirStringRef source, MlirStringRef pipelineOptions, int optLevel,
              const MlirStringRef *sharedLibs, intptr_t numSharedLibs,
              SherryExecutable *result, MlirStringCallback errorCallback,
              void *userData) {
  return sherryCompileCached(source, pipelineOptions, optLevel, sharedLibs,
                             numSharedLibs, mlirStringRefCreate(nullptr, 0),
                             /*cacheHit=*/nullptr, result, errorCallback,
                             userData);
}

MlirLogicalResult sherryCompileCached(
    MlirStringRef source, MlirStringRef pipelineOptions, int optLevel,
    const MlirStringRef *sharedLibs, intptr_t numSharedLibs,
    MlirStringRef cacheDirectory, bool *cacheHit, SherryExecutable *result,
    MlirStringCallback errorCallback, void *userData) {
  if (cacheHit)
    *cacheHit = false;
  if (optLevel < 0 || optLevel > 3)
    return fail(errorCallback, userData,
                "optimization level " + std::to_string(optLevel) +
                    " is not in 0..3");
  static std::once_flag initTarget;
  std::call_once(initTarget, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });

  std::string error;
  auto options = parseOptions(pipelineOptions, error);
  if (!options)
    return fail(errorCallback, userData, error);
  // The JIT provides sherry_runtime_error: a failed check fails the call.
  options->runtimeErrorHandler = mlir::sherry::RuntimeErrorHandler::External;
  std::vector<std::string> libs = defaultSharedLibs();
  for (intptr_t i = 0; i < numSharedLibs; ++i) {
    std::string path(sharedLibs[i].data, sharedLibs[i].length);
    if (!llvm::sys::fs::exists(path))
      return fail(errorCallback, userData,
                  "shared library '" + path + "' does not exist");
    libs.push_back(std::move(path));
  }
  std::vector<StringRef> libRefs(libs.begin(), libs.end());

  std::string cacheDir(cacheDirectory.data, cacheDirectory.length);
  std::string cacheKey;
  if (!cacheDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(cacheDir))
      return fail(errorCallback, userData,
                  "could not create the compile cache directory '" +
                      cacheDir + "': " + ec.message());
    std::string canonicalOptions;
    llvm::raw_string_ostream os(canonicalOptions);
    options->print(os);
    cacheKey = ::sherry::capi::compileCacheKey(
        StringRef(source.data, source.length), canonicalOptions, optLevel,
        libs);
    if (auto cached = ::sherry::capi::readCachedCode(cacheDir, cacheKey)) {
      if (loadCached(std::move(*cached), libs, result)) {
        if (cacheHit)
          *cacheHit = true;
        return mlirLogicalResultSuccess();
      }
    }
  }

  CrashRecovery recovery;
  auto c = std::make_unique<Compilation>();
  if (!lower(*c, recovery, source, *options, /*forJit=*/true, error)) {
    if (recovery.crashed())
      c.release()->abandon();
    return fail(errorCallback, userData, error);
  }
  if (!cacheKey.empty() && !cacheable(*c->module))
    cacheKey.clear();

  auto exe = std::make_unique<Executable>();
  exe->functions = std::move(c->functions);
  ExecutionEngineOptions engineOptions;
  auto transformer = makeOptimizingTransformer(optLevel, /*sizeLevel=*/0,
                                               /*targetMachine=*/nullptr);
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel =
      static_cast<llvm::CodeGenOptLevel>(optLevel);
  engineOptions.sharedLibPaths = libRefs;
  // The GDB listener keeps a copy of every object for the life of the
  // process; a Python session compiles many modules.
  engineOptions.enableGDBNotificationListener = false;
  engineOptions.enablePerfNotificationListener = false;
  // The object is kept (in memory, for the life of the engine) only where
  // it goes to the cache.
  engineOptions.enableObjectDump = !cacheKey.empty();
  bool ok = recovery.run([&] {
    recovery.setStage("translating the module to LLVM IR and compiling it");
    auto engine = ExecutionEngine::create(*c->module, engineOptions);
    if (!engine) {
      std::string message =
          "JIT compilation failed: " + llvm::toString(engine.takeError());
      std::string diags = c->diagnostics->message("");
      error = diags.empty() ? message : diags + "\n" + message;
      return;
    }
    exe->engine = std::move(*engine);
    exe->engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
      llvm::orc::SymbolMap symbols;
      symbols[interner("sherry_runtime_error")] = {
          llvm::orc::ExecutorAddr::fromPtr(&sherryRecordRuntimeError),
          llvm::JITSymbolFlags::Exported};
      return symbols;
    });
    recovery.setStage("running the module's initializers");
    exe->engine->initialize();
    recovery.setStage("looking up the module's functions");
    error = lookUpEntryPoints(exe->functions, [&](StringRef name) {
      return exe->engine->lookupPacked(name);
    });
    if (cacheKey.empty() || !error.empty())
      return;
    recovery.setStage("writing the compile cache");
    std::string dumped = ::sherry::capi::cacheDumpPath(cacheDir, cacheKey);
    exe->engine->dumpToObjectFile(dumped);
    if (!llvm::sys::fs::exists(dumped)) {
      error = "could not write the compiled object to the compile cache "
              "directory '" + cacheDir + "'";
      return;
    }
    if (llvm::Error written = ::sherry::capi::writeCachedCode(
            cacheDir, cacheKey, dumped, exe->functions))
      error = "compile cache: " + llvm::toString(std::move(written));
  });
  if (!ok) {
    c.release()->abandon();
    (void)exe.release();
    return fail(errorCallback, userData, recovery.message());
  }
  if (!error.empty())
    return fail(errorCallback, userData, error);
  *result = SherryExecutable{exe.release()};
  return mlirLogicalResultSuccess();
}

void sherryExecutableDestroy(SherryExecutable exe) { delete unwrap(exe); }

intptr_t sherryExecutableGetNumFunctions(SherryExecutable exe) {
  return static_cast<intptr_t>(unwrap(exe)->functions.size());
}

MlirStringRef sherryExecutableGetFunctionName(SherryExecutable exe,
                                              intptr_t function) {
  return wrapString(unwrap(exe)->functions[function].name);
}

intptr_t sherryExecutableGetNumInputs(SherryExecutable exe, intptr_t function) {
  return static_cast<intptr_t>(unwrap(exe)->functions[function].inputs.size());
}

intptr_t sherryExecutableGetNumResults(SherryExecutable exe,
                                       intptr_t function) {
  return static_cast<intptr_t>(unwrap(exe)->functions[function].results.size());
}

static SherryValueType wrapValue(const ValueInfo &info) {
  return SherryValueType{info.kind, info.elementType,
                         static_cast<intptr_t>(info.shape.size()),
                         info.shape.data(), wrapString(info.name)};
}

SherryValueType sherryExecutableGetInput(SherryExecutable exe,
                                         intptr_t function, intptr_t position) {
  return wrapValue(unwrap(exe)->functions[function].inputs[position]);
}

SherryValueType sherryExecutableGetResult(SherryExecutable exe,
                                          intptr_t function,
                                          intptr_t position) {
  return wrapValue(unwrap(exe)->functions[function].results[position]);
}

MlirLogicalResult sherryExecutableCall(SherryExecutable exe,
                                       MlirStringRef name, void **args,
                                       SherryCallOutcome *outcome,
                                       MlirStringCallback errorCallback,
                                       void *userData) {
  SherryCallOutcome ignored;
  if (!outcome)
    outcome = &ignored;
  *outcome = SherryCallNotMade;
  Executable &e = *unwrap(exe);
  StringRef fn(name.data, name.length);
  const FunctionInfo *info = nullptr;
  for (const FunctionInfo &f : e.functions)
    if (f.name == fn)
      info = &f;
  if (!info)
    return fail(errorCallback, userData,
                "no public function '" + fn.str() + "' in the module");
  std::string checks;
  CrashRecovery recovery;
  recovery.setStage("running function '" + fn.str() + "'");
  std::string *outer = runtimeErrors;
  runtimeErrors = &checks;
  bool ok = recovery.run([&] { info->packed(args); });
  runtimeErrors = outer;
  if (!ok) {
    *outcome = SherryCallCrashed;
    return fail(errorCallback, userData, recovery.message());
  }
  {
    std::lock_guard<std::mutex> lock(strayErrorsMutex);
    if (!strayErrors.empty()) {
      checks += (checks.empty() ? "" : "\n") + strayErrors;
      strayErrors.clear();
    }
  }
  if (!checks.empty()) {
    *outcome = SherryCallCheckFailed;
    return fail(errorCallback, userData, checks);
  }
  *outcome = SherryCallCompleted;
  return mlirLogicalResultSuccess();
}

MlirLogicalResult sherryExecutableInvoke(SherryExecutable exe,
                                         MlirStringRef name, void **args,
                                         MlirStringCallback errorCallback,
                                         void *userData) {
  return sherryExecutableCall(exe, name, args, /*outcome=*/nullptr,
                              errorCallback, userData);
}

void sherryFreeResultBuffer(void *allocated) { std::free(allocated); }
