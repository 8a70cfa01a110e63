//===- IntrinsicsToLLVM.cpp - sherry_x86/sherry_arm to LLVM ---------------===//
//
// One conversion pattern for both intrinsic dialects, used by
// --convert-to-llvm (ConvertToLLVMPatternInterface) and by the passes that
// lower one dialect alone (convert-sherry-x86-to-llvm,
// convert-sherry-arm-to-llvm): a dialect conversion, so an op that does not
// convert is an error that names it.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/IntrinsicsToLLVM/IntrinsicsToLLVM.h"

#include "sherry/Conversion/Passes.h"
#include "sherry/Dialect/SherryArm/IR/SherryArmDialect.h"
#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.h"

#include "mlir/Conversion/ConvertToLLVM/ToLLVMInterface.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_CONVERTSHERRYX86TOLLVM
#define GEN_PASS_DEF_CONVERTSHERRYARMTOLLVM
#include "sherry/Conversion/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

/// An op of sherry_x86 or sherry_arm becomes llvm.call_intrinsic with the
/// (converted) operands; the vector types are LLVM's as they are.
struct IntrinsicOpLowering
    : public ConvertOpInterfaceToLLVMPattern<
          LLVM::OneToOneIntrinsicOpInterface> {
  using ConvertOpInterfaceToLLVMPattern::ConvertOpInterfaceToLLVMPattern;

  LogicalResult
  matchAndRewrite(LLVM::OneToOneIntrinsicOpInterface op,
                  ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<x86::SherryX86Dialect, arm::SherryArmDialect>(op->getDialect()))
      return rewriter.notifyMatchFailure(op, "not a sherry intrinsic op");
    SmallVector<Type> results;
    if (failed(getTypeConverter()->convertTypes(op->getResultTypes(),
                                                results)))
      return rewriter.notifyMatchFailure(op, "result types do not convert");
    rewriter.replaceOpWithNewOp<LLVM::CallIntrinsicOp>(
        op, results, rewriter.getStringAttr(op.getIntrinsicName()), operands,
        LLVM::FastmathFlagsAttr());
    return success();
  }
};

template <typename Dialect>
struct IntrinsicsToLLVMInterface : public ConvertToLLVMPatternInterface {
  using ConvertToLLVMPatternInterface::ConvertToLLVMPatternInterface;

  void populateConvertToLLVMConversionPatterns(
      ConversionTarget &target, LLVMTypeConverter &converter,
      RewritePatternSet &patterns) const final {
    target.addIllegalDialect<Dialect>();
    populateSherryIntrinsicsToLLVMPatterns(converter, patterns);
  }
};

/// Lowers the ops of `Dialect` under `root` and nothing else.
template <typename Dialect>
LogicalResult lowerDialect(Operation *root) {
  MLIRContext *context = root->getContext();
  LLVMTypeConverter converter(context);
  ConversionTarget target(*context);
  target.addIllegalDialect<Dialect>();
  target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
  RewritePatternSet patterns(context);
  populateSherryIntrinsicsToLLVMPatterns(converter, patterns);
  return applyPartialConversion(root, target, std::move(patterns));
}

struct ConvertSherryX86ToLLVMPass
    : public mlir::sherry::impl::ConvertSherryX86ToLLVMBase<
          ConvertSherryX86ToLLVMPass> {
  void runOnOperation() override {
    if (failed(lowerDialect<x86::SherryX86Dialect>(getOperation())))
      signalPassFailure();
  }
};

struct ConvertSherryArmToLLVMPass
    : public mlir::sherry::impl::ConvertSherryArmToLLVMBase<
          ConvertSherryArmToLLVMPass> {
  void runOnOperation() override {
    if (failed(lowerDialect<arm::SherryArmDialect>(getOperation())))
      signalPassFailure();
  }
};

} // namespace

void mlir::sherry::populateSherryIntrinsicsToLLVMPatterns(
    const LLVMTypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<IntrinsicOpLowering>(converter);
}

void mlir::sherry::registerConvertSherryIntrinsicsToLLVMInterfaces(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *, x86::SherryX86Dialect *dialect) {
    dialect->addInterfaces<IntrinsicsToLLVMInterface<x86::SherryX86Dialect>>();
  });
  registry.addExtension(+[](MLIRContext *, arm::SherryArmDialect *dialect) {
    dialect->addInterfaces<IntrinsicsToLLVMInterface<arm::SherryArmDialect>>();
  });
}
