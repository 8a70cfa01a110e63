//===- SherryArmToLLVM.cpp - sherry_arm ops to LLVM intrinsics ------------===//
//
// Each sherry_arm op is one intrinsic on builtin vectors, which the LLVM
// dialect takes as they are: the op becomes llvm.call_intrinsic with the
// same operands.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/Passes.h"

#include "sherry/Conversion/IntrinsicCall.h"

#include "sherry/Dialect/SherryArm/IR/SherryArmDialect.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_CONVERTSHERRYARMTOLLVM
#include "sherry/Conversion/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

struct ConvertSherryArmToLLVMPass
    : public mlir::sherry::impl::ConvertSherryArmToLLVMBase<
          ConvertSherryArmToLLVMPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSherryArmToLLVMPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::sherry::populateSherryArmToLLVMPatterns(
    RewritePatternSet &patterns) {
  patterns.add<IntrinsicOpToCall<arm::SherryArmDialect>>(patterns.getContext());
}
