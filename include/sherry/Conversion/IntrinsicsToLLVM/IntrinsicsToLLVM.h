//===- IntrinsicsToLLVM.h - sherry_x86/sherry_arm to LLVM -------*- C++ -*-===//
//
// Every op of the intrinsic dialects (sherry_x86, sherry_arm) wraps one LLVM
// intrinsic on builtin vectors (LLVM::OneToOneIntrinsicOpInterface): one
// conversion pattern replaces each by llvm.call_intrinsic inside the LLVM
// lowering (--convert-to-llvm, through ConvertToLLVMPatternInterface).
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_CONVERSION_INTRINSICSTOLLVM_INTRINSICSTOLLVM_H
#define SHERRY_CONVERSION_INTRINSICSTOLLVM_INTRINSICSTOLLVM_H

namespace mlir {
class DialectRegistry;
class LLVMTypeConverter;
class RewritePatternSet;

namespace sherry {
/// The pattern that replaces each sherry_x86 and sherry_arm op by its
/// intrinsic call.
void populateSherryIntrinsicsToLLVMPatterns(
    const LLVMTypeConverter &converter, RewritePatternSet &patterns);

/// Lets --convert-to-llvm lower sherry_x86 and sherry_arm (both illegal
/// there).
void registerConvertSherryIntrinsicsToLLVMInterfaces(
    DialectRegistry &registry);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_CONVERSION_INTRINSICSTOLLVM_INTRINSICSTOLLVM_H
