//===- SherryX86ToLLVM.h - sherry_x86 ops to LLVM intrinsics ----*- C++ -*-===//

#ifndef SHERRY_CONVERSION_SHERRYX86TOLLVM_SHERRYX86TOLLVM_H
#define SHERRY_CONVERSION_SHERRYX86TOLLVM_SHERRYX86TOLLVM_H

namespace mlir {
class RewritePatternSet;

namespace sherry {
/// Patterns that replace each sherry_x86 op by its LLVM intrinsic call.
void populateSherryX86ToLLVMPatterns(RewritePatternSet &patterns);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_CONVERSION_SHERRYX86TOLLVM_SHERRYX86TOLLVM_H
