//===- SherryArmToLLVM.h - sherry_arm ops to LLVM intrinsics ----*- C++ -*-===//

#ifndef SHERRY_CONVERSION_SHERRYARMTOLLVM_SHERRYARMTOLLVM_H
#define SHERRY_CONVERSION_SHERRYARMTOLLVM_SHERRYARMTOLLVM_H

namespace mlir {
class RewritePatternSet;

namespace sherry {
/// Patterns that replace each sherry_arm op by its LLVM intrinsic call.
void populateSherryArmToLLVMPatterns(RewritePatternSet &patterns);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_CONVERSION_SHERRYARMTOLLVM_SHERRYARMTOLLVM_H
