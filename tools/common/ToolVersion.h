//===- ToolVersion.h - sherry-mlir's version in --version -------*- C++ -*-===//
//
// `<tool> --version` prints LLVM's version, then the tool's own line:
// "<tool> (sherry-mlir) version 0.1.0".
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_TOOLS_COMMON_TOOLVERSION_H
#define SHERRY_TOOLS_COMMON_TOOLVERSION_H

#include "sherry/Version.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::sherry::tools {

/// Adds the line of the tool `name` to `--version`; call it before the
/// command line is parsed.
inline void addVersionPrinter(const char *name) {
  static const char *tool = name;
  tool = name;
  llvm::cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << tool << " (sherry-mlir) version " << SHERRY_VERSION_STRING << "\n";
  });
}

} // namespace mlir::sherry::tools

#endif // SHERRY_TOOLS_COMMON_TOOLVERSION_H
