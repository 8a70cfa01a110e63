//===- CInterfaceHeader.h - C headers for the C interface -------*- C++ -*-===//
//
// Writes a C header that declares the `_mlir_ciface_<name>` wrappers which
// the func-to-LLVM conversion generates for functions marked
// `llvm.emit_c_interface`, together with the memref descriptor structs they
// take. docs/aot.md describes the ABI.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_TOOLS_SHERRY_COMPILE_CINTERFACEHEADER_H
#define SHERRY_TOOLS_SHERRY_COMPILE_CINTERFACEHEADER_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::sherry::compile {

/// A function of the module that gets a C interface wrapper.
struct ExportedFunction {
  /// The symbol name (without `@` and without the `_mlir_ciface_` prefix).
  std::string name;
  /// The signature as written in the input (tensors), for the comments.
  mlir::FunctionType sourceType;
  /// The argument attributes as written in the input (may be null).
  mlir::ArrayAttr sourceArgAttrs;
  /// The signature the wrapper is generated from: the one the function had
  /// when it was converted to the llvm dialect (memrefs and scalars).
  mlir::FunctionType abiType;
};

/// Number of parameters of `_mlir_ciface_<name>` for a function of this
/// type, and whether it returns void: memref and multiple results are
/// written through a pointer passed first; every argument is one parameter
/// (a memref as a pointer to its descriptor).
struct CWrapperShape {
  unsigned numParams = 0;
  bool returnsVoid = true;
};
CWrapperShape getCWrapperShape(mlir::FunctionType abiType);

/// What the object's kernels need of the CPU that runs them: the header's
/// `<prefix>_cpu_supported()` checks it.
struct CpuRequirements {
  /// The --sherry-to-llvm target ("avx2"), for the comment.
  std::string target;
  /// Whether the kernels are x86 code (else AArch64).
  bool x86 = true;
  /// Features as LLVM names them ("avx512vnni", "dotprod"); none for
  /// portable kernels.
  llvm::SmallVector<std::string> features;
};

/// Writes the header. `guard` is the include-guard macro, `source` names the
/// input in the header's comment, `prefix` the header's own functions
/// (`<prefix>_cpu_supported`). Fails, without writing anything, when a
/// function name is not a C identifier or a type has no C equivalent.
llvm::Error writeCInterfaceHeader(llvm::raw_ostream &os,
                                  llvm::ArrayRef<ExportedFunction> functions,
                                  llvm::StringRef guard, llvm::StringRef source,
                                  llvm::StringRef prefix,
                                  const CpuRequirements &cpu);

/// A C identifier derived from a file name for the header's own functions
/// ("out/model.h" -> "model").
std::string makeHeaderPrefix(llvm::StringRef fileName);

/// An include-guard macro derived from a file name ("out/model.h" ->
/// "SHERRY_COMPILE_MODEL_H").
std::string makeIncludeGuard(llvm::StringRef fileName);

} // namespace mlir::sherry::compile

#endif // SHERRY_TOOLS_SHERRY_COMPILE_CINTERFACEHEADER_H
