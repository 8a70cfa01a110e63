//===- sherry-compile.cpp - Ahead-of-time compiler for sherry models ------===//
//
// Reads an MLIR module (func + linalg + tensor + sherry ops), exports its
// public functions with MLIR's C interface, lowers it with the
// `--sherry-to-llvm` pipeline, translates it to LLVM IR, optimizes it for a
// target machine and writes an object file, assembly, LLVM IR or the
// lowered MLIR; optionally a C header declaring the exported functions.
// docs/aot.md describes the ABI.
//
//===----------------------------------------------------------------------===//

#include "../common/InternalError.h"
#include "../common/ToolVersion.h"

#include "CInterfaceHeader.h"

#include "sherry/InitAllSherry.h"
#include "sherry/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

#include <map>
#include <mutex>

using namespace mlir;
namespace cl = llvm::cl;
using mlir::sherry::compile::ExportedFunction;

namespace {

const char *const kToolName = "sherry-compile";

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

cl::OptionCategory compileCategory("sherry-compile options");

cl::opt<std::string>
    inputFilename(cl::Positional, cl::desc("<input .mlir file, '-' for stdin>"),
                  cl::init("-"), cl::cat(compileCategory));

cl::opt<std::string>
    outputFilename("o",
                   cl::desc("Output file ('-' for stdout; default: the input "
                            "name with .o, .s, .ll or .llvm.mlir, or stdout "
                            "when the input is stdin)"),
                   cl::value_desc("file"), cl::cat(compileCategory));

enum class EmitKind { Obj, Asm, LLVM, MLIR };

cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to write (default: obj)"), cl::init(EmitKind::Obj),
    cl::values(clEnumValN(EmitKind::Obj, "obj", "a relocatable object file"),
               clEnumValN(EmitKind::Asm, "asm", "target assembly"),
               clEnumValN(EmitKind::LLVM, "llvm", "optimized LLVM IR (text)"),
               clEnumValN(EmitKind::MLIR, "mlir",
                          "the module after the sherry-to-llvm pipeline "
                          "(llvm dialect)")),
    cl::cat(compileCategory));

cl::opt<std::string>
    headerFilename("emit-header",
                   cl::desc("Also write a C header declaring each exported "
                            "_mlir_ciface_<name> function and the memref "
                            "descriptor structs it takes"),
                   cl::value_desc("file"), cl::cat(compileCategory));

cl::opt<std::string> pipelineOptions(
    "pipeline-options",
    cl::desc("Options of the sherry-to-llvm pipeline, as one string, e.g. "
             "\"row-tile=64 batch-tile=1\" (see --list-pipeline-options)"),
    cl::value_desc("options"), cl::cat(compileCategory));

cl::opt<bool> listPipelineOptions(
    "list-pipeline-options",
    cl::desc("Print the options of the sherry-to-llvm pipeline and exit"),
    cl::cat(compileCategory));

cl::opt<bool> cInterface(
    "c-interface",
    cl::desc("Mark every public func.func with llvm.emit_c_interface, so "
             "the object exports _mlir_ciface_<name> (default: true; "
             "--c-interface=false keeps only the attributes the input has)"),
    cl::init(true), cl::cat(compileCategory));

enum OptLevel : unsigned { O0 = 0, O1 = 1, O2 = 2, O3 = 3 };

cl::opt<OptLevel>
    optLevel(cl::desc("Optimization level (default: -O3):"), cl::init(O3),
             cl::values(clEnumValN(O0, "O0", "no optimization"),
                        clEnumValN(O1, "O1", "light optimization"),
                        clEnumValN(O2, "O2", "default optimization"),
                        clEnumValN(O3, "O3", "aggressive optimization")),
             cl::cat(compileCategory));

cl::opt<std::string>
    targetTriple("mtriple", cl::desc("Target triple (default: the host's)"),
                 cl::value_desc("triple"), cl::cat(compileCategory));

cl::opt<std::string>
    targetCPU("mcpu",
              cl::desc("Target CPU; 'native' is the host's (default: the "
                       "host's CPU for the host triple, generic otherwise)"),
              cl::value_desc("cpu"), cl::cat(compileCategory));

cl::opt<std::string> targetFeatures(
    "mattr",
    cl::desc("Target features, comma separated, each +name or -name, applied "
             "after the defaults (default: the host's features for the host "
             "triple, none otherwise)"),
    cl::value_desc("+a,-b,..."), cl::cat(compileCategory));

const char *const kOverview =
    R"(sherry-compile: ahead-of-time compiler for sherry models

Compiles an MLIR module (func, linalg, tensor, arith and sherry ops; the
weights as function arguments or constants) to an object file for the host
or another target:

  1. marks every public func.func with llvm.emit_c_interface, so the object
     exports _mlir_ciface_<name> with MLIR's C calling convention;
  2. runs the sherry-to-llvm pipeline (options: --pipeline-options);
  3. translates to LLVM IR and optimizes it (-O0..-O3) for the target
     machine (--mtriple, --mcpu, --mattr; the host by default);
  4. writes an object, assembly, LLVM IR or the lowered MLIR (--emit),
     and a C header for the exported functions (--emit-header).

Examples:
  sherry-compile model.mlir -o model.o --emit-header=model.h
  sherry-compile model.mlir --pipeline-options="row-tile=64" -O2 -o model.o
  sherry-compile model.mlir --emit=asm -mtriple=aarch64-linux-gnu -o model.s
  cat model.mlir | sherry-compile - --emit=llvm

Calling the code (docs/aot.md): tensors become memref descriptors passed
by pointer; a returned buffer was allocated with malloc and the caller
frees it; tensor arguments may be written in place. Link the object with
-lm, and with libomp when the pipeline runs tiles on threads.

Errors are reported as 'sherry-compile: error: ...' with exit status 1.
MLIR's pass manager options (--mlir-print-ir-after-all, ...) work too.
)";

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

/// Prints `sherry-compile: error: <message>` and returns 1.
int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), kToolName) << message << "\n";
  return 1;
}

/// Parses the command line; on an error prints the command-line library's
/// messages in the tool's format and returns false.
bool parseCommandLine(int argc, char **argv) {
  std::string messages;
  llvm::raw_string_ostream os(messages);
  if (cl::ParseCommandLineOptions(argc, argv, kOverview, &os))
    return true;
  std::string prefix = std::string(kToolName) + ": ";
  SmallVector<StringRef> lines;
  StringRef(messages).split(lines, '\n', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (StringRef line : lines) {
    line.consume_front(prefix);
    llvm::WithColor::error(llvm::errs(), kToolName) << line.trim() << "\n";
  }
  if (lines.empty())
    fail("invalid command line (see --help)");
  return false;
}

//===----------------------------------------------------------------------===//
// Target machine
//===----------------------------------------------------------------------===//

/// Checks --mattr: comma-separated +name / -name entries naming features of
/// the target.
LogicalResult checkFeatures(StringRef features,
                            const llvm::MCSubtargetInfo &info,
                            StringRef triple) {
  SmallVector<StringRef> entries;
  features.split(entries, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (StringRef entry : entries) {
    entry = entry.trim();
    if (!llvm::SubtargetFeatures::hasFlag(entry)) {
      fail("invalid target feature '" + entry +
           "' in --mattr: write +name to enable a feature, -name to disable "
           "it");
      return failure();
    }
    StringRef name = entry.drop_front();
    bool known = llvm::any_of(
        info.getAllProcessorFeatures(),
        [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; });
    if (!known) {
      fail("unknown target feature '" + name + "' for " + triple +
           " in --mattr");
      return failure();
    }
  }
  return success();
}

/// Creates the target machine from --mtriple, --mcpu, --mattr and -O.
std::unique_ptr<llvm::TargetMachine> createTargetMachine() {
  std::string hostTriple = llvm::sys::getProcessTriple();
  std::string tripleName =
      targetTriple.empty() ? hostTriple : llvm::Triple::normalize(targetTriple);
  llvm::Triple triple(tripleName);
  bool isHost = triple == llvm::Triple(hostTriple);

  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) {
    fail("unknown target triple '" + targetTriple + "': " + error);
    return nullptr;
  }
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!info) {
    fail("target '" + tripleName + "' has no subtarget information");
    return nullptr;
  }

  std::string cpu = targetCPU;
  if (cpu == "native" || (cpu.empty() && isHost))
    cpu = llvm::sys::getHostCPUName().str();
  if (!cpu.empty() && !info->isCPUStringValid(cpu)) {
    fail("unknown CPU '" + cpu + "' for target '" + tripleName +
         "' (llc -mtriple=" + tripleName + " -mcpu=help lists the CPUs)");
    return nullptr;
  }

  if (failed(checkFeatures(targetFeatures, *info, tripleName)))
    return nullptr;
  llvm::SubtargetFeatures features;
  if (isHost && (targetCPU.empty() || targetCPU == "native")) {
    // The host's features, as far as this LLVM's target knows them.
    llvm::StringMap<bool> host = llvm::sys::getHostCPUFeatures();
    for (const llvm::SubtargetFeatureKV &kv : info->getAllProcessorFeatures()) {
      auto it = host.find(kv.Key);
      if (it != host.end())
        features.AddFeature(kv.Key, it->second);
    }
  }
  SmallVector<StringRef> entries;
  StringRef(targetFeatures)
      .split(entries, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (StringRef entry : entries)
    features.AddFeature(entry.trim());

  llvm::CodeGenOptLevel level = llvm::CodeGenOpt::getLevel(optLevel).value_or(
      llvm::CodeGenOptLevel::Default);
  llvm::TargetOptions options;
  // Position-independent code links into executables (PIE by default on
  // Debian) and shared libraries alike.
  std::unique_ptr<llvm::TargetMachine> machine(
      target->createTargetMachine(triple, cpu, features.getString(), options,
                                  llvm::Reloc::PIC_, std::nullopt, level));
  if (!machine)
    fail("cannot create a target machine for '" + tripleName + "'");
  return machine;
}

//===----------------------------------------------------------------------===//
// Exported functions
//===----------------------------------------------------------------------===//

bool isExported(func::FuncOp func) {
  return func.isPublic() && !func.isExternal() &&
         func->hasAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName());
}

/// Remembers the signature each exported function has the last time the
/// pipeline sees it as a func.func: the one its C wrapper is built from.
class SignatureRecorder : public PassInstrumentation {
public:
  void runBeforePass(Pass *, Operation *op) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto func = dyn_cast<func::FuncOp>(op)) {
      record(func);
      return;
    }
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (auto func : block.getOps<func::FuncOp>())
          record(func);
  }

  /// The recorded signatures, by function name.
  std::map<std::string, FunctionType> takeSignatures() {
    std::lock_guard<std::mutex> lock(mutex);
    return std::move(signatures);
  }

private:
  void record(func::FuncOp func) {
    if (isExported(func))
      signatures[func.getSymName().str()] = func.getFunctionType();
  }

  std::mutex mutex;
  std::map<std::string, FunctionType> signatures;
};

/// Pairs the functions exported by the input with the signatures recorded
/// during the pipeline and checks them against the wrappers it generated.
FailureOr<std::vector<ExportedFunction>>
collectExports(ModuleOp lowered, ArrayRef<ExportedFunction> sources,
               std::map<std::string, FunctionType> signatures) {
  std::vector<ExportedFunction> exports;
  for (const ExportedFunction &source : sources) {
    ExportedFunction function = source;
    std::string wrapperName = "_mlir_ciface_" + function.name;
    auto it = signatures.find(function.name);
    auto wrapper = lowered.lookupSymbol<LLVM::LLVMFuncOp>(wrapperName);
    if (it == signatures.end() || !wrapper) {
      fail("the pipeline did not generate '" + wrapperName +
           "', so the header cannot declare it");
      return failure();
    }
    function.abiType = it->second;
    sherry::compile::CWrapperShape shape =
        sherry::compile::getCWrapperShape(function.abiType);
    LLVM::LLVMFunctionType llvmType = wrapper.getFunctionType();
    if (llvmType.getNumParams() != shape.numParams ||
        isa<LLVM::LLVMVoidType>(llvmType.getReturnType()) !=
            shape.returnsVoid) {
      fail("'" + wrapperName +
           "' does not have the signature the header would declare; "
           "cannot write the header");
      return failure();
    }
    exports.push_back(std::move(function));
  }
  return exports;
}

/// Removes the argument and result attributes outside the llvm dialect.
void dropNonLLVMArgAttrs(LLVM::LLVMFuncOp func) {
  auto filter = [&](DictionaryAttr attrs) -> DictionaryAttr {
    if (!attrs)
      return attrs;
    SmallVector<NamedAttribute> kept;
    for (NamedAttribute attr : attrs)
      if (attr.getName().strref().starts_with("llvm."))
        kept.push_back(attr);
    return DictionaryAttr::get(func.getContext(), kept);
  };
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
    func.setArgAttrs(i, filter(func.getArgAttrDict(i)));
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
    func.setResultAttrs(i, filter(func.getResultAttrDict(i)));
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

std::string defaultOutputFilename() {
  if (inputFilename == "-")
    return "-";
  SmallString<128> name(inputFilename);
  StringRef extension;
  switch (emitKind) {
  case EmitKind::Obj:
    extension = "o";
    break;
  case EmitKind::Asm:
    extension = "s";
    break;
  case EmitKind::LLVM:
    extension = "ll";
    break;
  case EmitKind::MLIR:
    extension = "llvm.mlir";
    break;
  }
  llvm::sys::path::replace_extension(name, extension);
  return std::string(llvm::sys::path::filename(name));
}

std::unique_ptr<llvm::ToolOutputFile> openOutput(StringRef name) {
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> file = openOutputFile(name, &error);
  if (!file)
    fail(error);
  return file;
}

/// The pipeline pins each function to its target's features, so a CPU that
/// --mcpu/--mattr describe without them would get code it cannot run: an
/// error where they are explicit. With neither, the kernels' own features
/// apply (cross-compiling for a CPU of that kind).
LogicalResult checkKernelFeatures(sherry::SherryTarget target,
                                  const llvm::TargetMachine &machine) {
  std::optional<sherry::SherryTargetAttributes> attributes =
      sherry::getSherryTargetAttributes(target);
  const llvm::Triple &triple = machine.getTargetTriple();
  // The other architecture fails later, in translation, with its own error.
  if (!attributes || (targetCPU.empty() && targetFeatures.empty()) ||
      attributes->x86 != triple.isX86() ||
      !attributes->x86 != triple.isAArch64())
    return success();
  SmallVector<StringRef> entries, missing;
  attributes->features.split(entries, ',');
  for (StringRef entry : entries)
    if (entry.starts_with("+") &&
        !machine.getMCSubtargetInfo()->checkFeatures(entry))
      missing.push_back(entry.drop_front());
  if (missing.empty())
    return success();
  StringRef cpu = machine.getTargetCPU();
  std::string described = (cpu.empty() ? "generic" : cpu).str();
  if (!targetFeatures.empty())
    described += " with " + targetFeatures;
  fail("--pipeline-options target=" + sherry::stringifySherryTarget(target) +
       " needs " +
       llvm::join(missing, ", ") + ", which the CPU of --mcpu/--mattr (" +
       described +
       ") does not have: name a target that CPU has, or add the features");
  return failure();
}

int compile(MLIRContext &context) {
  // Cheap checks first: the pipeline options and the target.
  std::string optionError;
  std::unique_ptr<sherry::SherryToLLVMOptions> options =
      sherry::parseSherryToLLVMOptions(pipelineOptions, optionError);
  if (!options)
    return fail("--pipeline-options: " + optionError +
                " (see --list-pipeline-options)");
  std::unique_ptr<llvm::TargetMachine> machine = createTargetMachine();
  if (!machine)
    return 1;
  if (failed(checkKernelFeatures(options->target, *machine)))
    return 1;
  std::string output =
      outputFilename.empty() ? defaultOutputFilename() : outputFilename;
  if (output == "-" && headerFilename == "-")
    return fail("the output and the header cannot both go to stdout");
  if (output == "-" && emitKind == EmitKind::Obj &&
      llvm::sys::Process::StandardOutIsDisplayed())
    return fail("refusing to write an object file to a terminal; use -o FILE "
                "or --emit=asm");

  // Read, parse and verify.
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> buffer =
      openInputFile(inputFilename, &error);
  if (!buffer)
    return fail(error);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  ParserConfig config(&context, /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, config);
  if (!module)
    return fail("cannot parse '" + inputFilename + "'");
  if (failed(verify(*module)))
    return fail("'" + inputFilename + "' is not a valid module");

  // Export the public functions.
  std::vector<ExportedFunction> sources;
  for (auto func : module->getOps<func::FuncOp>()) {
    if (cInterface && func.isPublic() && !func.isExternal())
      func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                    UnitAttr::get(&context));
    if (!isExported(func))
      continue;
    ExportedFunction function;
    function.name = func.getSymName().str();
    function.sourceType = func.getFunctionType();
    function.sourceArgAttrs = func.getArgAttrsAttr();
    sources.push_back(std::move(function));
  }

  // What the kernels will need of the CPU, for the header.
  sherry::compile::CpuRequirements cpu;
  {
    sherry::SherryTarget target = sherry::resolveSherryTarget(options->target);
    std::string message;
    if (target == sherry::SherryTarget::Module) {
      FailureOr<sherry::SherryTarget> resolved =
          sherry::resolveModuleTarget(*module, message);
      target = succeeded(resolved) ? *resolved : sherry::SherryTarget::Portable;
    }
    cpu.target = sherry::stringifySherryTarget(target).str();
    cpu.x86 = machine->getTargetTriple().isX86();
    if (std::optional<sherry::SherryTargetAttributes> attributes =
            sherry::getSherryTargetAttributes(target)) {
      SmallVector<StringRef> entries;
      attributes->features.split(entries, ',');
      for (StringRef entry : entries)
        if (entry.consume_front("+") && entry != "neon")
          cpu.features.push_back(entry.str());
    }
  }

  // Lower to the llvm dialect.
  PassManager pm(&context, ModuleOp::getOperationName());
  if (failed(applyPassManagerCLOptions(pm)))
    return fail("invalid MLIR pass manager options");
  auto recorder = std::make_unique<SignatureRecorder>();
  SignatureRecorder *signatures = recorder.get();
  pm.addInstrumentation(std::move(recorder));
  sherry::buildSherryToLLVMPipeline(pm, *options);
  if (failed(pm.run(*module)))
    return fail("the sherry-to-llvm pipeline failed on '" + inputFilename +
                "'");

  std::vector<ExportedFunction> exports;
  if (!headerFilename.empty()) {
    FailureOr<std::vector<ExportedFunction>> collected =
        collectExports(*module, sources, signatures->takeSignatures());
    if (failed(collected))
      return 1;
    exports = std::move(*collected);
  }

  // Argument attributes of other dialects (sherry.packed, sherry.scales:
  // the calling convention of sparsified models) mean nothing to LLVM IR;
  // the translation would warn about each one.
  for (auto func : module->getOps<LLVM::LLVMFuncOp>())
    dropNonLLVMArgAttrs(func);

  // The target, on the module: the translation copies it to LLVM IR.
  StringRef tripleAttr = LLVM::LLVMDialect::getTargetTripleAttrName();
  if (!(*module)->hasAttr(tripleAttr))
    (*module)->setAttr(
        tripleAttr,
        StringAttr::get(&context, machine->getTargetTriple().str()));

  std::unique_ptr<llvm::ToolOutputFile> outputFile;
  if (emitKind == EmitKind::MLIR) {
    if (!(outputFile = openOutput(output)))
      return 1;
    module->print(outputFile->os());
  } else {
    llvm::LLVMContext llvmContext;
    std::unique_ptr<llvm::Module> llvmModule =
        translateModuleToLLVMIR(*module, llvmContext, inputFilename);
    if (!llvmModule)
      return fail("cannot translate '" + inputFilename + "' to LLVM IR");
    llvmModule->setTargetTriple(machine->getTargetTriple());
    llvmModule->setDataLayout(machine->createDataLayout());
    // Functions carry the target, as clang's do, so that later LTO or
    // inlining across objects keeps the features.
    for (llvm::Function &function : *llvmModule) {
      if (function.isDeclaration())
        continue;
      if (!function.hasFnAttribute("target-cpu") &&
          !machine->getTargetCPU().empty())
        function.addFnAttr("target-cpu", machine->getTargetCPU());
      if (!function.hasFnAttribute("target-features") &&
          !machine->getTargetFeatureString().empty())
        function.addFnAttr("target-features",
                           machine->getTargetFeatureString());
    }

    auto optimize =
        makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, machine.get());
    if (llvm::Error err = optimize(llvmModule.get()))
      return fail("LLVM optimization failed: " +
                  llvm::toString(std::move(err)));

    if (!(outputFile = openOutput(output)))
      return 1;
    if (emitKind == EmitKind::LLVM) {
      llvmModule->print(outputFile->os(), nullptr);
    } else {
      llvm::legacy::PassManager codegen;
      llvm::CodeGenFileType type = emitKind == EmitKind::Obj
                                       ? llvm::CodeGenFileType::ObjectFile
                                       : llvm::CodeGenFileType::AssemblyFile;
      if (machine->addPassesToEmitFile(codegen, outputFile->os(), nullptr,
                                       type))
        return fail("target '" + machine->getTargetTriple().str() +
                    "' cannot emit this kind of file");
      codegen.run(*llvmModule);
    }
  }
  if (outputFile->os().has_error())
    return fail("cannot write '" + output +
                "': " + outputFile->os().error().message());

  if (!headerFilename.empty()) {
    std::unique_ptr<llvm::ToolOutputFile> header = openOutput(headerFilename);
    if (!header)
      return 1;
    StringRef source = inputFilename == "-"
                           ? StringRef("<stdin>")
                           : llvm::sys::path::filename(inputFilename);
    if (llvm::Error err = sherry::compile::writeCInterfaceHeader(
            header->os(), exports,
            sherry::compile::makeIncludeGuard(headerFilename), source,
            sherry::compile::makeHeaderPrefix(headerFilename), cpu))
      return fail("cannot write the header: " + llvm::toString(std::move(err)));
    if (header->os().has_error())
      return fail("cannot write '" + headerFilename +
                  "': " + header->os().error().message());
    header->keep();
  }
  outputFile->keep();
  return 0;
}

/// LLVM reports some failures, such as an instruction the target machine
/// cannot select (an AVX-512 kernel for a CPU without AVX-512), as fatal
/// errors: report them in the tool's format, remove partial outputs and exit
/// with status 1 instead of aborting.
void handleFatalError(void *, const char *reason, bool) {
  llvm::WithColor::error(llvm::errs(), kToolName)
      << "LLVM failed: " << StringRef(reason).trim()
      << " (does --mcpu/--mattr provide what the kernels use?)\n";
  llvm::sys::RunInterruptHandlers();
  std::exit(1);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  sherry::tools::exitWithInternalErrorOnCrash(kToolName);
  sherry::tools::addVersionPrinter(kToolName);
  llvm::install_fatal_error_handler(handleFatalError);
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  llvm::InitializeAllAsmParsers();

  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  cl::HideUnrelatedOptions(compileCategory);
  if (!parseCommandLine(argc, argv))
    return 1;

  if (listPipelineOptions) {
    llvm::outs() << "Options of the sherry-to-llvm pipeline, for "
                    "--pipeline-options=\"name=value ...\":\n";
    // Descriptions start past the widest option, as mlir-opt's --help has
    // them: a fixed column narrower than a name would wrap the indent.
    sherry::SherryToLLVMOptions options;
    options.printHelp(2, options.getOptionWidth() + 4);
    return 0;
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  sherry::registerAllSherryDialects(registry);
  // Every dialect the lowered module may hold, OpenMP included (threaded
  // tiles), translates to LLVM IR.
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);
  return compile(context);
}
