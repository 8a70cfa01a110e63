//===- SherryX86ToLLVM.cpp - sherry_x86 ops to LLVM intrinsics ------------===//
//
// Each sherry_x86 op is one intrinsic on builtin vectors, which the LLVM
// dialect takes as they are: the op becomes llvm.call_intrinsic with the
// same operands.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/Passes.h"

#include "sherry/Conversion/IntrinsicCall.h"

#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_CONVERTSHERRYX86TOLLVM
#include "sherry/Conversion/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

struct ConvertSherryX86ToLLVMPass
    : public mlir::sherry::impl::ConvertSherryX86ToLLVMBase<
          ConvertSherryX86ToLLVMPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSherryX86ToLLVMPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::sherry::populateSherryX86ToLLVMPatterns(
    RewritePatternSet &patterns) {
  patterns.add<IntrinsicOpToCall<x86::SherryX86Dialect>>(patterns.getContext());
}
