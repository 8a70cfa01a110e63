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

/// Writes the header. `guard` is the include-guard macro, `source` names the
/// input in the header's comment. Fails, without writing anything, when a
/// function name is not a C identifier or a type has no C equivalent.
llvm::Error writeCInterfaceHeader(llvm::raw_ostream &os,
                                  llvm::ArrayRef<ExportedFunction> functions,
                                  llvm::StringRef guard,
                                  llvm::StringRef source);

/// An include-guard macro derived from a file name ("out/model.h" ->
/// "SHERRY_COMPILE_MODEL_H").
std::string makeIncludeGuard(llvm::StringRef fileName);

} // namespace mlir::sherry::compile

#endif // SHERRY_TOOLS_SHERRY_COMPILE_CINTERFACEHEADER_H
