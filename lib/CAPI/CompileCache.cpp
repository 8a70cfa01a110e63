//===- CompileCache.cpp - C API: compiled code kept on disk ---------------===//
//
// An entry is two files named by the key: `<key>.o`, the object the JIT
// compiled, and `<key>.functions`, the signatures of the module's public
// functions (what sherryExecutableGet* report), as length-prefixed text.
//
//===----------------------------------------------------------------------===//

#include "CompileCache.h"

#include "sherry/Version.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <dlfcn.h>
#include <unistd.h>

using namespace llvm;

namespace sherry::capi {

/// This library's file, size and modification time: rebuilding the
/// compiler changes the code it emits without changing its version.
static std::string libraryIdentity() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&libraryIdentity), &info) ||
      !info.dli_fname)
    return "unknown";
  sys::fs::file_status status;
  if (sys::fs::status(info.dli_fname, status))
    return info.dli_fname;
  return std::string(info.dli_fname) + " " + utostr(status.getSize()) + " " +
         utostr(sys::toTimeT(status.getLastModificationTime()));
}

std::string compileCacheKey(StringRef source, StringRef canonicalOptions,
                            int optLevel, ArrayRef<std::string> sharedLibs) {
  static const std::string identity = libraryIdentity();
  SHA256 hash;
  auto add = [&](StringRef part) {
    hash.update(utostr(part.size()) + ":");
    hash.update(part);
  };
  add("sherry-mlir " SHERRY_VERSION_STRING " LLVM " LLVM_VERSION_STRING);
  add(identity);
  add(sys::getHostCPUName());
  std::vector<std::string> features;
  for (const auto &feature : sys::getHostCPUFeatures())
    features.push_back((feature.second ? "+" : "-") + feature.first().str());
  llvm::sort(features);
  add(join(features, ","));
  add(utostr(optLevel));
  add(canonicalOptions);
  for (const std::string &lib : sharedLibs)
    add(lib);
  add(source);
  return toHex(hash.final(), /*LowerCase=*/true);
}

static std::string entryPath(StringRef directory, StringRef key,
                             StringRef extension) {
  SmallString<256> path(directory);
  sys::path::append(path, key + extension);
  return std::string(path);
}

std::string cacheDumpPath(StringRef directory, StringRef key) {
  return entryPath(directory, key,
                   ".o.tmp" + utostr(static_cast<uint64_t>(getpid())));
}

//===----------------------------------------------------------------------===//
// The signatures file
//===----------------------------------------------------------------------===//

static constexpr StringLiteral kMagic = "sherry-compile-cache 1\n";

static void writeString(raw_ostream &os, StringRef s) {
  os << s.size() << ':' << s << '\n';
}

static void writeValue(raw_ostream &os, const ValueInfo &value) {
  os << static_cast<int>(value.kind) << ' '
     << static_cast<int>(value.elementType) << ' ' << value.shape.size();
  for (int64_t size : value.shape)
    os << ' ' << size;
  os << '\n';
  writeString(os, value.name);
}

/// Reads what writeValue and writeString wrote; every read is checked.
class SignatureReader {
public:
  explicit SignatureReader(StringRef text) : rest(text) {}

  bool integer(int64_t &out) {
    rest = rest.ltrim(" ");
    size_t end = rest.find_first_of(" \n");
    if (end == StringRef::npos || rest.take_front(end).getAsInteger(10, out))
      return false;
    rest = rest.drop_front(end);
    return true;
  }
  bool endOfLine() {
    if (!rest.consume_front("\n"))
      return false;
    return true;
  }
  bool string(std::string &out) {
    size_t colon = rest.find(':');
    uint64_t size;
    if (colon == StringRef::npos ||
        rest.take_front(colon).getAsInteger(10, size) ||
        rest.size() < colon + 1 + size + 1)
      return false;
    out = rest.substr(colon + 1, size).str();
    rest = rest.drop_front(colon + 1 + size);
    return endOfLine();
  }
  bool value(ValueInfo &out) {
    int64_t kind, element, rank;
    if (!integer(kind) || !integer(element) || !integer(rank) || rank < 0 ||
        kind < SherryValueKindScalar || kind > SherryValueKindUnsupported ||
        element < SherryElementTypeF32 ||
        element > SherryElementTypeUnsupported)
      return false;
    out.kind = static_cast<SherryValueKind>(kind);
    out.elementType = static_cast<SherryElementType>(element);
    for (int64_t i = 0; i < rank; ++i) {
      int64_t size;
      if (!integer(size))
        return false;
      out.shape.push_back(size);
    }
    return endOfLine() && string(out.name);
  }
  bool atEnd() const { return rest.empty(); }

private:
  StringRef rest;
};

static std::optional<std::vector<FunctionInfo>>
parseSignatures(StringRef text) {
  if (!text.consume_front(kMagic))
    return std::nullopt;
  SignatureReader reader(text);
  int64_t count;
  if (!reader.integer(count) || count < 0 || !reader.endOfLine())
    return std::nullopt;
  std::vector<FunctionInfo> functions(count);
  for (FunctionInfo &f : functions) {
    int64_t inputs, results;
    if (!reader.string(f.name) || !reader.integer(inputs) ||
        !reader.integer(results) || inputs < 0 || results < 0 ||
        !reader.endOfLine())
      return std::nullopt;
    f.inputs.resize(inputs);
    f.results.resize(results);
    for (ValueInfo &v : f.inputs)
      if (!reader.value(v))
        return std::nullopt;
    for (ValueInfo &v : f.results)
      if (!reader.value(v))
        return std::nullopt;
  }
  if (!reader.atEnd())
    return std::nullopt;
  return functions;
}

std::optional<CachedCode> readCachedCode(StringRef directory, StringRef key) {
  auto object = MemoryBuffer::getFile(entryPath(directory, key, ".o"));
  auto signatures =
      MemoryBuffer::getFile(entryPath(directory, key, ".functions"));
  if (!object || !signatures)
    return std::nullopt;
  std::optional<std::vector<FunctionInfo>> functions =
      parseSignatures((*signatures)->getBuffer());
  if (!functions)
    return std::nullopt;
  return CachedCode{std::move(*object), std::move(*functions)};
}

/// Writes `text` to `path` through a temporary file and a rename.
static Error writeWhole(StringRef path, StringRef text) {
  std::string temporary =
      (path + ".tmp" + utostr(static_cast<uint64_t>(getpid()))).str();
  std::error_code error;
  {
    raw_fd_ostream os(temporary, error);
    if (!error) {
      os << text;
      os.close();
      error = os.error();
    }
  }
  if (!error)
    error = sys::fs::rename(temporary, path);
  if (error) {
    sys::fs::remove(temporary);
    return createStringError(error, "could not write '%s': %s",
                             path.str().c_str(), error.message().c_str());
  }
  return Error::success();
}

Error writeCachedCode(StringRef directory, StringRef key,
                      StringRef objectPath, ArrayRef<FunctionInfo> functions) {
  std::string text;
  raw_string_ostream os(text);
  os << kMagic << functions.size() << '\n';
  for (const FunctionInfo &f : functions) {
    writeString(os, f.name);
    os << f.inputs.size() << ' ' << f.results.size() << '\n';
    for (const ValueInfo &v : f.inputs)
      writeValue(os, v);
    for (const ValueInfo &v : f.results)
      writeValue(os, v);
  }
  // The object first: an entry without its signatures is not read.
  std::string object = entryPath(directory, key, ".o");
  if (std::error_code error = sys::fs::rename(objectPath, object)) {
    sys::fs::remove(objectPath);
    return createStringError(error, "could not write '%s': %s",
                             object.c_str(), error.message().c_str());
  }
  return writeWhole(entryPath(directory, key, ".functions"), text);
}

//===----------------------------------------------------------------------===//
// Loading an entry
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<LoadedCode>>
LoadedCode::load(std::unique_ptr<MemoryBuffer> object,
                 ArrayRef<std::string> sharedLibs, void *runtimeErrorHandler) {
  using namespace llvm::orc;
  auto code = std::unique_ptr<LoadedCode>(new LoadedCode);
  // As mlir::ExecutionEngine links the libraries: those with the
  // init/destroy protocol hand over their symbols, the others are opened
  // globally and searched with the process.
  StringMap<void *> exported;
  for (const std::string &lib : sharedLibs) {
    std::string error;
    auto library =
        sys::DynamicLibrary::getPermanentLibrary(lib.c_str(), &error);
    if (!library.isValid())
      return createStringError(inconvertibleErrorCode(),
                               "could not load '%s': %s", lib.c_str(),
                               error.c_str());
    void *init =
        library.getAddressOfSymbol(mlir::ExecutionEngine::kLibraryInitFnName);
    void *destroy = library.getAddressOfSymbol(
        mlir::ExecutionEngine::kLibraryDestroyFnName);
    if (init && destroy) {
      reinterpret_cast<mlir::ExecutionEngine::LibraryInitFn>(init)(exported);
      code->destroyFns.push_back(reinterpret_cast<void (*)()>(destroy));
    }
  }
  auto builder = JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  auto jit =
      LLJITBuilder()
          .setJITTargetMachineBuilder(std::move(*builder))
          .setObjectLinkingLayerCreator([](ExecutionSession &session) {
            return std::make_unique<RTDyldObjectLinkingLayer>(
                session, [](const MemoryBuffer &) {
                  return std::make_unique<SectionMemoryManager>();
                });
          })
          .create();
  if (!jit)
    return jit.takeError();
  code->jit = std::move(*jit);
  JITDylib &main = code->jit->getMainJITDylib();
  auto process = DynamicLibrarySearchGenerator::GetForCurrentProcess(
      code->jit->getDataLayout().getGlobalPrefix());
  if (!process)
    return process.takeError();
  main.addGenerator(std::move(*process));
  SymbolMap symbols;
  MangleAndInterner mangle(code->jit->getExecutionSession(),
                           code->jit->getDataLayout());
  for (auto &entry : exported)
    symbols[mangle(entry.getKey())] = {ExecutorAddr::fromPtr(entry.getValue()),
                                       JITSymbolFlags::Exported};
  symbols[mangle("sherry_runtime_error")] = {
      ExecutorAddr::fromPtr(runtimeErrorHandler), JITSymbolFlags::Exported};
  if (Error error = main.define(absoluteSymbols(std::move(symbols))))
    return std::move(error);
  if (Error error = code->jit->addObjectFile(std::move(object)))
    return std::move(error);
  return std::move(code);
}

LoadedCode::~LoadedCode() {
  jit.reset();
  for (auto destroy : destroyFns)
    destroy();
}

Expected<void (*)(void **)> LoadedCode::lookupPacked(StringRef name) {
  auto symbol = jit->lookup(("_mlir_" + name).str());
  if (!symbol) {
    // The error may refer to strings the JIT owns; keep its text only.
    return createStringError(inconvertibleErrorCode(),
                             toString(symbol.takeError()));
  }
  return symbol->toPtr<void (*)(void **)>();
}

} // namespace sherry::capi
