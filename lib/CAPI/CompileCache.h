//===- CompileCache.h - C API: compiled code kept on disk -------*- C++ -*-===//
//
// sherryCompileCached keeps what the JIT produced for a module (one object
// file and the signatures of its functions) in a directory, under a key
// that covers everything the code depends on, and loads it again instead
// of compiling.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_LIB_CAPI_COMPILECACHE_H
#define SHERRY_LIB_CAPI_COMPILECACHE_H

#include "sherry-c/Compiler.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sherry::capi {

/// An input or result of a callable function.
struct ValueInfo {
  SherryValueKind kind = SherryValueKindUnsupported;
  SherryElementType elementType = SherryElementTypeUnsupported;
  std::vector<int64_t> shape;
  std::string name;
};

/// A public function of a compiled module.
struct FunctionInfo {
  std::string name;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> results;
  /// The `_mlir_ciface_` wrapper's packed entry point, looked up once when
  /// the module is compiled (a JIT lookup per call cost more than a small
  /// matmul).
  void (*packed)(void **) = nullptr;
};

/// The cache key of a compilation: a SHA-256 over the sherry-mlir and LLVM
/// versions, this CPU (name and features: the JIT compiles for it), the
/// optimization level, the pipeline options as parsed, the shared
/// libraries and the module text.
std::string compileCacheKey(llvm::StringRef source,
                            llvm::StringRef canonicalOptions, int optLevel,
                            llvm::ArrayRef<std::string> sharedLibs);

/// A cache entry as read from disk.
struct CachedCode {
  std::unique_ptr<llvm::MemoryBuffer> object;
  std::vector<FunctionInfo> functions;
};

/// The entry `key` of `directory`, or nullopt where there is none or it
/// does not read back whole (a missing or damaged entry is compiled anew).
std::optional<CachedCode> readCachedCode(llvm::StringRef directory,
                                         llvm::StringRef key);

/// Writes the entry `key`: `objectPath` (a file the JIT dumped, moved into
/// the cache) and `functions`. Each file appears whole or not at all.
llvm::Error writeCachedCode(llvm::StringRef directory, llvm::StringRef key,
                            llvm::StringRef objectPath,
                            llvm::ArrayRef<FunctionInfo> functions);

/// A path for the JIT to dump the object of entry `key` to, in `directory`.
std::string cacheDumpPath(llvm::StringRef directory, llvm::StringRef key);

/// Code loaded from a cache entry: a JIT holding the object, linked against
/// the process, `sharedLibs` and `sherry_runtime_error` at
/// `runtimeErrorHandler`.
class LoadedCode {
public:
  static llvm::Expected<std::unique_ptr<LoadedCode>>
  load(std::unique_ptr<llvm::MemoryBuffer> object,
       llvm::ArrayRef<std::string> sharedLibs, void *runtimeErrorHandler);
  ~LoadedCode();

  /// The packed entry point of function `name` (`_mlir__mlir_ciface_name`).
  llvm::Expected<void (*)(void **)> lookupPacked(llvm::StringRef name);

private:
  std::unique_ptr<llvm::orc::LLJIT> jit;
  /// The destroy functions of libraries that follow the ExecutionEngine's
  /// init/destroy protocol.
  std::vector<void (*)()> destroyFns;
};

} // namespace sherry::capi

#endif // SHERRY_LIB_CAPI_COMPILECACHE_H
