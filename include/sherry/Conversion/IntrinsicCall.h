//===- IntrinsicCall.h - One-intrinsic ops to LLVM calls ---------*- C++
//-*-===//

#ifndef SHERRY_CONVERSION_INTRINSICCALL_H
#define SHERRY_CONVERSION_INTRINSICCALL_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::sherry {

/// Replaces each op of `Dialect` that wraps one intrinsic on builtin vectors
/// (OneToOneIntrinsicOpInterface) by llvm.call_intrinsic with the same
/// operands, which the LLVM dialect takes as they are.
template <typename Dialect>
struct IntrinsicOpToCall
    : OpInterfaceRewritePattern<LLVM::OneToOneIntrinsicOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(LLVM::OneToOneIntrinsicOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (!isa<Dialect>(op->getDialect()))
      return rewriter.notifyMatchFailure(op, "not an op of this dialect");
    rewriter.replaceOpWithNewOp<LLVM::CallIntrinsicOp>(
        op, op->getResultTypes(), rewriter.getStringAttr(op.getIntrinsicName()),
        op->getOperands(), LLVM::FastmathFlagsAttr());
    return success();
  }
};

} // namespace mlir::sherry

#endif // SHERRY_CONVERSION_INTRINSICCALL_H
