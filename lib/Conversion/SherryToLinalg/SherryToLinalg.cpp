//===- SherryToLinalg.cpp - sherry ops on tensors to linalg ---------------===//
//
// The portable lowering of every sherry op to upstream linalg, arith, math
// and tensor ops: a dialect conversion with the sherry dialect illegal.
// What cannot be lowered is reported first, with why. The patterns are in
// WeightDecoding.cpp, MatmulLowering.cpp and WeightEncoding.cpp.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/Passes.h"

#include "Lowerings.h"

#include "sherry/Dialect/Sherry/IR/SherryConstants.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

namespace mlir::sherry {
#define GEN_PASS_DEF_CONVERTSHERRYTOLINALG
#include "sherry/Conversion/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

/// Constant weights with a NaN or an infinity have no ternary projection:
/// their fold fails, and lowered they would compute a NaN scale at run
/// time. Reports the first such sherry.ternarize.
LogicalResult checkConstantWeights(Operation *root) {
  WalkResult result = root->walk([](TernarizeOp op) {
    Attribute attr;
    if (!matchPattern(op.getWeights(), m_Constant(&attr)))
      return WalkResult::advance();
    std::optional<std::vector<float>> w = getElementsAsFloats(attr);
    if (!w)
      return WalkResult::advance();
    auto bad = llvm::find_if(*w, [](float v) { return !std::isfinite(v); });
    if (bad == w->end())
      return WalkResult::advance();
    int64_t k = op.getWeights().getType().getDimSize(1);
    int64_t at = bad - w->begin();
    op.emitOpError("constant weights hold ")
        << (std::isnan(*bad) ? "NaN" : "an infinity") << " at [" << at / k
        << ", " << at % k << "]: there is no ternary projection of them";
    return WalkResult::interrupt();
  });
  return failure(result.wasInterrupted());
}

} // namespace

std::optional<std::string>
mlir::sherry::whyNotLowerableToLinalg(Operation *op) {
  if (llvm::any_of(op->getOperandTypes(), llvm::IsaPred<MemRefType>))
    return std::string("it works on memrefs; sherry ops lower on tensors, "
                       "before bufferization");
  const char *dynamicK = "its K (the columns of the input) is dynamic; the "
                         "kernels need it static";
  // The tables layout's bytes do not say M: the types must.
  const char *dynamicTablesM =
      "its M (the rows) is dynamic; the tables layout's bytes do not say it";
  auto reason = [](bool bad, const char *why) -> std::optional<std::string> {
    if (bad)
      return std::string(why);
    return std::nullopt;
  };
  auto decoding = [&](RankedTensorType type, LayoutAttr layout) {
    if (type.isDynamicDim(1))
      return reason(true, dynamicK);
    return reason(layout.isTables() && type.isDynamicDim(0), dynamicTablesM);
  };
  return TypeSwitch<Operation *, std::optional<std::string>>(op)
      .Case([&](MatmulOp op) {
        return reason(ShapedType::isDynamic(op.getK()), dynamicK);
      })
      .Case([&](UnpackOp op) {
        return decoding(op.getValues().getType(), op.getLayout());
      })
      .Case([&](DequantizeOp op) {
        return decoding(op.getWeights().getType(), op.getLayout());
      })
      .Case([&](QuantizeActivationsOp op) {
        return reason(op.getInput().getType().isDynamicDim(1), dynamicK);
      })
      .Case([&](TernarizeOp op) {
        RankedTensorType type = op.getWeights().getType();
        if (type.isDynamicDim(1))
          return reason(true, dynamicK);
        return reason(op.getLayout().getGranularity() ==
                              ScaleGranularity::Tensor &&
                          type.isDynamicDim(0),
                      "its M (the rows) is dynamic; one scale per tensor "
                      "needs it static");
      })
      .Case([&](PackOp op) {
        return reason(op.getValues().getType().isDynamicDim(1), dynamicK);
      })
      .Case([&](RepackOp op) {
        if (ShapedType::isDynamic(op.getK()))
          return reason(true, dynamicK);
        return reason(op.getFrom().isTables() &&
                          ShapedType::isDynamic(op.getM()),
                      dynamicTablesM);
      })
      .Default([](Operation *) { return std::nullopt; });
}

namespace {

/// Reports the first sherry op under `root` that the patterns cannot
/// lower, with why, before any IR changes: the conversion would only say
/// that the op was not legalized.
LogicalResult checkLowerable(Operation *root) {
  WalkResult result = root->walk([](Operation *op) {
    if (!isa<SherryDialect>(op->getDialect()))
      return WalkResult::advance();
    std::optional<std::string> why = whyNotLowerableToLinalg(op);
    if (!why)
      return WalkResult::advance();
    op->emitOpError("cannot be lowered to linalg: ") << *why;
    return WalkResult::interrupt();
  });
  return failure(result.wasInterrupted());
}

struct ConvertSherryToLinalgPass
    : public mlir::sherry::impl::ConvertSherryToLinalgBase<
          ConvertSherryToLinalgPass> {
  void runOnOperation() override {
    if (failed(checkConstantWeights(getOperation())) ||
        failed(checkLowerable(getOperation())))
      return signalPassFailure();
    // Every sherry op must go: one left would reach bufferization and LLVM
    // as an op nothing lowers.
    ConversionTarget target(getContext());
    target.addIllegalDialect<SherryDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateSherryToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
    // Fold what the lowering made (constant index arithmetic, constants
    // hoisted out of its loops), as the kernel lowerings' rewrites do, so
    // that the IR after this pass reads as the lowering meant it.
    if (failed(applyPatternsGreedily(getOperation(),
                                     FrozenRewritePatternSet())))
      return signalPassFailure();
  }
};

} // namespace

void mlir::sherry::populateSherryToLinalgPatterns(RewritePatternSet &patterns) {
  linalg_lowering::populateWeightDecodingPatterns(patterns);
  linalg_lowering::populateMatmulLoweringPatterns(patterns);
  linalg_lowering::populateWeightEncodingPatterns(patterns);
}
