//===- InternalError.h - A crash of a tool is an internal error -*- C++ -*-===//
//
// The tools die with a signal when MLIR, LLVM or our code crashes (a
// SIGSEGV in an upstream parser, an LLVM fatal error). After LLVM's crash
// printers (the stage: "MLIR Parser: custom op parser 'linalg.transpose'",
// the pass, the stack) the tool says it was an internal error and exits
// with status 1, as for any other error, instead of the signal's.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_TOOLS_COMMON_INTERNALERROR_H
#define SHERRY_TOOLS_COMMON_INTERNALERROR_H

#include "llvm/Support/PrettyStackTrace.h"
#include "llvm/Support/Signals.h"

#include <cstring>
#include <unistd.h>

namespace mlir::sherry::tools {

namespace detail {
inline const char *internalErrorTool = "";

/// Runs last of the crash handlers: the stage and the stack are printed.
inline void exitAfterCrash(void *) {
  // Only async-signal-safe calls here.
  const char *parts[] = {
      internalErrorTool,
      ": internal error: the tool crashed (the lines above say where); this "
      "is a bug in sherry-mlir or in the MLIR/LLVM it uses: please report "
      "it with the input and the command line\n"};
  for (const char *part : parts)
    (void)!::write(2, part, std::strlen(part));
  ::_exit(1);
}
} // namespace detail

/// Makes a crash of the tool `name` an internal error with exit status 1.
/// Call it after llvm::InitLLVM, whose crash printers must run first.
inline void exitWithInternalErrorOnCrash(const char *name) {
  detail::internalErrorTool = name;
  llvm::setBugReportMsg("");
  llvm::sys::AddSignalHandler(detail::exitAfterCrash, nullptr);
}

} // namespace mlir::sherry::tools

#endif // SHERRY_TOOLS_COMMON_INTERNALERROR_H
