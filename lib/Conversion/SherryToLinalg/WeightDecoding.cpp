//===- WeightDecoding.cpp - sherry.unpack and sherry.dequantize -----------===//
//
// Each element of the decoded weights is a linalg.generic element that
// reads its group's slot nibble and sign bit where the layout puts them.
//
//===----------------------------------------------------------------------===//

#include "Lowerings.h"
#include "LinalgBuilders.h"

#include "sherry/Conversion/KernelCommon/Emitter.h"
#include "sherry/Conversion/KernelCommon/Regroup.h"
#include "sherry/Conversion/SherryToLinalg/SherryToLinalg.h"
#include "sherry/Dialect/Sherry/IR/SherryConstants.h"
#include "sherry/Dialect/Sherry/Utils/RuntimeErrors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::sherry;
using namespace mlir::sherry::linalg_lowering;

namespace {

/// An elementwise generic over an M x K result, with `body` computing each
/// element from (m, k).
template <typename BodyFn>
Value buildDecodeGeneric(PatternRewriter &rewriter, Location loc,
                         RankedTensorType resultType, OpFoldResult rows,
                         BodyFn body) {
  SmallVector<OpFoldResult> sizes{
      rows, rewriter.getIndexAttr(resultType.getDimSize(1))};
  Value empty = tensor::EmptyOp::create(rewriter, loc, sizes,
                                        resultType.getElementType());
  AffineMap id = rewriter.getMultiDimIdentityMap(2);
  auto generic = linalg::GenericOp::create(
      rewriter, loc, TypeRange{resultType}, ValueRange{}, ValueRange{empty},
      ArrayRef<AffineMap>{id},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                    utils::IteratorType::parallel},
      [&](OpBuilder &b, Location nestedLoc, ValueRange) {
        Value m = linalg::IndexOp::create(b, nestedLoc, 0);
        Value k = linalg::IndexOp::create(b, nestedLoc, 1);
        linalg::YieldOp::create(b, nestedLoc, body(b, nestedLoc, m, k));
      });
  return generic.getResult(0);
}

/// Replaces `op` with an elementwise generic over its M x K `type` result,
/// element (m, k) being `element(decoder, builder, loc, m, k)`.
template <typename ElementFn>
LogicalResult replaceWithDecoding(Operation *op, PatternRewriter &rewriter,
                                  RankedTensorType type, LayoutAttr layout,
                                  Value packed, ElementFn element) {
  if (std::optional<std::string> why = whyNotLowerableToLinalg(op))
    return rewriter.notifyMatchFailure(op, *why);
  Location loc = op->getLoc();
  Value codebook = buildCodebook(rewriter, loc);
  OpFoldResult rows =
      layout.isTables() ? OpFoldResult(rewriter.getIndexAttr(type.getDimSize(0)))
                        : tensor::getMixedSize(rewriter, loc, packed, 0);
  Value rowsValue = getValueOrCreateConstantIndexOp(rewriter, loc, rows);
  Value result = buildDecodeGeneric(
      rewriter, loc, type, rows,
      [&](OpBuilder &b, Location l, Value m, Value k) -> Value {
        Decoder d(b, l, layout, type.getDimSize(1), packed, codebook,
                  rowsValue);
        return element(d, b, l, m, k);
      });
  rewriter.replaceOp(op, result);
  return success();
}

struct UnpackLowering : OpRewritePattern<UnpackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(UnpackOp op,
                                PatternRewriter &rewriter) const override {
    return replaceWithDecoding(
        op, rewriter, op.getValues().getType(), op.getLayout(), op.getPacked(),
        [](Decoder &d, OpBuilder &b, Location l, Value m, Value k) -> Value {
          return arith::TruncIOp::create(b, l, b.getI8Type(), d.ternary(m, k));
        });
  }
};

struct DequantizeLowering : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    Type elementType = op.getWeights().getType().getElementType();
    Value scales = op.getScales();
    return replaceWithDecoding(
        op, rewriter, op.getWeights().getType(), op.getLayout(), op.getPacked(),
        [&](Decoder &d, OpBuilder &b, Location l, Value m, Value k) -> Value {
          // scale * t in f32, as the format library computes it, then
          // narrowed (round to nearest even) to the result type.
          Value t =
              arith::SIToFPOp::create(b, l, b.getF32Type(), d.ternary(m, k));
          Value w = arith::MulFOp::create(b, l, d.scale(m, k, scales), t);
          if (elementType != w.getType())
            w = arith::TruncFOp::create(b, l, elementType, w);
          return w;
        });
  }
};

} // namespace

void mlir::sherry::linalg_lowering::populateWeightDecodingPatterns(RewritePatternSet &patterns) {
  patterns.add<UnpackLowering, DequantizeLowering>(patterns.getContext());
}
