//===- Compiler.cpp - C API: compile a module and run it ------------------===//
//
// Parse, lower with --sherry-to-llvm, JIT with mlir::ExecutionEngine, call
// through `_mlir_ciface_` wrappers. Every diagnostic the context emits on
// the way is collected and becomes the error message.
//
//===----------------------------------------------------------------------===//

#include "sherry-c/Compiler.h"

#include "Common.h"

#include "sherry/InitAllSherry.h"
#include "sherry/Pipelines/Pipelines.h"

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
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace mlir;
using ::sherry::capi::fail;

namespace {
/// An input or result of a callable function.
struct ValueInfo {
  SherryValueKind kind = SherryValueKindUnsupported;
  SherryElementType elementType = SherryElementTypeUnsupported;
  std::vector<int64_t> shape;
  std::string name;
};

struct FunctionInfo {
  std::string name;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> results;
};

/// What a SherryExecutable points to.
struct Executable {
  std::unique_ptr<ExecutionEngine> engine;
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

/// Parses `source` and lowers it with --sherry-to-llvm; on failure, calls
/// the error callback and returns null.
static OwningOpRef<ModuleOp>
lower(MLIRContext &context, DiagnosticCollector &diagnostics,
      MlirStringRef source, MlirStringRef pipelineOptions,
      std::vector<FunctionInfo> *functions, MlirStringCallback errorCallback,
      void *userData) {
  // Parse the options first: a typo there is the cheapest error to report.
  std::string optionError;
  std::unique_ptr<mlir::sherry::SherryToLLVMOptions> options =
      mlir::sherry::parseSherryToLLVMOptions(
          StringRef(pipelineOptions.data, pipelineOptions.length),
          optionError);
  if (!options) {
    fail(errorCallback, userData, optionError);
    return nullptr;
  }

  // The MLIR lexer reads up to a NUL after the buffer; a C caller's
  // MlirStringRef need not have one (found by fuzz-mlir, docs/reliability.md
  // H1), so parse a NUL-terminated copy.
  std::string sourceText(source.data, source.length);
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(sourceText, ParserConfig(&context), "input");
  if (!module) {
    fail(errorCallback, userData,
         diagnostics.message("could not parse the module"));
    return nullptr;
  }
  std::vector<FunctionInfo> found = prepareFunctions(*module);
  if (functions)
    *functions = std::move(found);

  PassManager pm(&context, ModuleOp::getOperationName());
  mlir::sherry::buildSherryToLLVMPipeline(pm, *options);
  if (failed(pm.run(*module))) {
    fail(errorCallback, userData,
         diagnostics.message("the --sherry-to-llvm pipeline failed"));
    return nullptr;
  }
  return module;
}

MlirLogicalResult
sherryLowerToLLVM(MlirStringRef source, MlirStringRef pipelineOptions,
                  MlirStringCallback irCallback, void *irUserData,
                  MlirStringCallback errorCallback, void *userData) {
  MLIRContext context(makeRegistry());
  DiagnosticCollector diagnostics(&context);
  OwningOpRef<ModuleOp> module =
      lower(context, diagnostics, source, pipelineOptions,
            /*functions=*/nullptr, errorCallback, userData);
  if (!module)
    return mlirLogicalResultFailure();
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  if (irCallback)
    irCallback(wrapString(text), irUserData);
  return mlirLogicalResultSuccess();
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

MlirLogicalResult
sherryCompile(MlirStringRef source, MlirStringRef pipelineOptions, int optLevel,
              const MlirStringRef *sharedLibs, intptr_t numSharedLibs,
              SherryExecutable *result, MlirStringCallback errorCallback,
              void *userData) {
  if (optLevel < 0 || optLevel > 3)
    return fail(errorCallback, userData,
                "optimization level " + std::to_string(optLevel) +
                    " is not in 0..3");
  static std::once_flag initTarget;
  std::call_once(initTarget, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });

  MLIRContext context(makeRegistry());
  DiagnosticCollector diagnostics(&context);
  auto exe = std::make_unique<Executable>();
  OwningOpRef<ModuleOp> module =
      lower(context, diagnostics, source, pipelineOptions, &exe->functions,
            errorCallback, userData);
  if (!module)
    return mlirLogicalResultFailure();

  std::vector<std::string> libs = defaultSharedLibs();
  for (intptr_t i = 0; i < numSharedLibs; ++i) {
    std::string path(sharedLibs[i].data, sharedLibs[i].length);
    if (!llvm::sys::fs::exists(path))
      return fail(errorCallback, userData,
                  "shared library '" + path + "' does not exist");
    libs.push_back(std::move(path));
  }
  std::vector<StringRef> libRefs(libs.begin(), libs.end());

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
  auto engine = ExecutionEngine::create(*module, engineOptions);
  if (!engine) {
    std::string message =
        "JIT compilation failed: " + llvm::toString(engine.takeError());
    std::string diags = diagnostics.message("");
    return fail(errorCallback, userData,
                diags.empty() ? message : diags + "\n" + message);
  }
  exe->engine = std::move(*engine);
  exe->engine->initialize();
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

MlirLogicalResult sherryExecutableInvoke(SherryExecutable exe,
                                         MlirStringRef name, void **args,
                                         MlirStringCallback errorCallback,
                                         void *userData) {
  Executable &e = *unwrap(exe);
  StringRef fn(name.data, name.length);
  const FunctionInfo *info = nullptr;
  for (const FunctionInfo &f : e.functions)
    if (f.name == fn)
      info = &f;
  if (!info)
    return fail(errorCallback, userData,
                "no public function '" + fn.str() + "' in the module");
  size_t numArgs = info->inputs.size() + (info->results.empty() ? 0 : 1);
  llvm::Error error =
      e.engine->invokePacked(("_mlir_ciface_" + fn).str(),
                             llvm::MutableArrayRef<void *>(args, numArgs));
  if (error)
    return fail(errorCallback, userData, llvm::toString(std::move(error)));
  return mlirLogicalResultSuccess();
}

void sherryFreeResultBuffer(void *allocated) { std::free(allocated); }
