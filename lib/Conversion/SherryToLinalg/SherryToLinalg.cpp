//===- SherryToLinalg.cpp - sherry decoding to linalg ---------------------===//
//
// Lowers the decoding ops to linalg.generic on tensors with upstream ops
// only: the portable reference path, and what makes them bufferizable.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/Passes.h"

#include "sherry/Dialect/Sherry/IR/SherryOps.h"
#include "sherry/Format/Format.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_CONVERTSHERRYTOLINALG
#include "sherry/Conversion/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

namespace {

/// Builds the decoding of element (m, k) of packed weights inside a
/// linalg.generic body.
class Decoder {
public:
  Decoder(OpBuilder &b, Location loc, LayoutAttr layout, int64_t k,
          Value packed, Value codebook)
      : b(b), loc(loc), layout(layout), cols(k), packed(packed),
        codebook(codebook) {}

  /// The ternary value of (m, k) as an i32 in {-1, 0, 1}.
  Value ternary(Value m, Value k) {
    Value lane, slotByte, signByte, group;
    if (layout.getFormat() == PackedFormat::Sherry) {
      // Group g = k / 4 holds lane k % 4; its slot nibble is in byte g / 2
      // and its sign bit in byte K/8 + g / 8 of the row.
      group = div(k, 4);
      lane = rem(k, 4);
      slotByte = byteAt(m, div(group, 2));
      signByte = byteAt(m, add(idx(cols / 8), div(group, 8)));
    } else {
      // Block k / 256 (42 bytes); inside it, element r = 64c + l + 16p is
      // lane p of group 16c + l.
      Value block = div(k, 256), r = rem(k, 256);
      lane = div(rem(r, 64), 16);
      group = add(mul(div(r, 64), 16), rem(r, 16));
      Value base = mul(block, 42);
      slotByte = byteAt(m, add(base, div(group, 2)));
      signByte = byteAt(m, add(add(base, idx(32)), div(group, 8)));
    }
    Value slot = andi(shr(extend(slotByte), toI32(mul(rem(group, 2), 4))), 15);
    Value sign = andi(shr(extend(signByte), toI32(rem(group, 8))), 1);
    Value code = arith::OrIOp::create(b, loc, shl(sign, 4), slot);
    Value entry = tensor::ExtractOp::create(
        b, loc, codebook,
        ValueRange{arith::IndexCastOp::create(b, loc, b.getIndexType(), code)});
    Value q = andi(shr(extend(entry), toI32(mul(lane, 2))), 3);
    return arith::SubIOp::create(b, loc, q, i32(1));
  }

  /// The scale of (m, k) as an f32.
  Value scale(Value m, Value k, Value scales) {
    if (layout.getFormat() == PackedFormat::Stq1_0) {
      // The f16 scale sits in bytes 40 and 41 of the block, little endian.
      Value base = mul(div(k, 256), 42);
      Value lo = extend(byteAt(m, add(base, idx(40))));
      Value hi = extend(byteAt(m, add(base, idx(41))));
      Value bits = arith::OrIOp::create(b, loc, lo, shl(hi, 8));
      Value half = arith::BitcastOp::create(
          b, loc, b.getF16Type(),
          arith::TruncIOp::create(b, loc, b.getI16Type(), bits));
      return arith::ExtFOp::create(b, loc, b.getF32Type(), half);
    }
    SmallVector<Value> indices;
    switch (layout.getGranularity()) {
    case ScaleGranularity::Tensor:
      indices = {idx(0)};
      break;
    case ScaleGranularity::Row:
      indices = {m};
      break;
    case ScaleGranularity::Group:
      indices = {m, div(k, layout.getGroupSize())};
      break;
    }
    Value s = tensor::ExtractOp::create(b, loc, scales, indices);
    if (!s.getType().isF32())
      s = arith::ExtFOp::create(b, loc, b.getF32Type(), s);
    return s;
  }

private:
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  }
  Value div(Value v, int64_t c) {
    return arith::DivUIOp::create(b, loc, v, idx(c));
  }
  Value rem(Value v, int64_t c) {
    return arith::RemUIOp::create(b, loc, v, idx(c));
  }
  Value mul(Value v, int64_t c) {
    return arith::MulIOp::create(b, loc, v, idx(c));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value toI32(Value index) {
    return arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
  }
  Value extend(Value byte) {
    return arith::ExtUIOp::create(b, loc, b.getI32Type(), byte);
  }
  Value shr(Value v, Value amount) {
    return arith::ShRUIOp::create(b, loc, v, amount);
  }
  Value shl(Value v, int64_t amount) {
    return arith::ShLIOp::create(b, loc, v, i32(amount));
  }
  Value andi(Value v, int64_t mask) {
    return arith::AndIOp::create(b, loc, v, i32(mask));
  }
  Value byteAt(Value m, Value col) {
    return tensor::ExtractOp::create(b, loc, packed, ValueRange{m, col});
  }

  OpBuilder &b;
  Location loc;
  LayoutAttr layout;
  int64_t cols;
  Value packed, codebook;
};

/// The codebook as a 32 x i8 constant tensor.
Value buildCodebook(OpBuilder &b, Location loc) {
  SmallVector<int8_t> bytes(format::kCodebook.begin(), format::kCodebook.end());
  auto type = RankedTensorType::get({32}, b.getI8Type());
  return arith::ConstantOp::create(
      b, loc, type, DenseElementsAttr::get(type, ArrayRef<int8_t>(bytes)));
}

/// An elementwise generic over an M x K result, with `body` computing each
/// element from (m, k).
template <typename BodyFn>
Value buildDecodeGeneric(PatternRewriter &rewriter, Location loc,
                         RankedTensorType resultType, Value packed,
                         BodyFn body) {
  SmallVector<OpFoldResult> sizes{
      tensor::getMixedSize(rewriter, loc, packed, 0),
      rewriter.getIndexAttr(resultType.getDimSize(1))};
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

struct UnpackLowering : OpRewritePattern<UnpackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(UnpackOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getValues().getType();
    if (type.isDynamicDim(1))
      return rewriter.notifyMatchFailure(op, "K must be static");
    Location loc = op.getLoc();
    Value codebook = buildCodebook(rewriter, loc);
    Value result = buildDecodeGeneric(
        rewriter, loc, type, op.getPacked(),
        [&](OpBuilder &b, Location l, Value m, Value k) -> Value {
          Decoder d(b, l, op.getLayout(), type.getDimSize(1), op.getPacked(),
                    codebook);
          return arith::TruncIOp::create(b, l, b.getI8Type(), d.ternary(m, k));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct DequantizeLowering : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getWeights().getType();
    if (type.isDynamicDim(1))
      return rewriter.notifyMatchFailure(op, "K must be static");
    Location loc = op.getLoc();
    Value codebook = buildCodebook(rewriter, loc);
    Value result = buildDecodeGeneric(
        rewriter, loc, type, op.getPacked(),
        [&](OpBuilder &b, Location l, Value m, Value k) -> Value {
          Decoder d(b, l, op.getLayout(), type.getDimSize(1), op.getPacked(),
                    codebook);
          // scale * t in f32, as the format library computes it, then
          // narrowed (round to nearest even) to the result type.
          Value t =
              arith::SIToFPOp::create(b, l, b.getF32Type(), d.ternary(m, k));
          Value w =
              arith::MulFOp::create(b, l, d.scale(m, k, op.getScales()), t);
          if (type.getElementType() != w.getType())
            w = arith::TruncFOp::create(b, l, type.getElementType(), w);
          return w;
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ConvertSherryToLinalgPass
    : public mlir::sherry::impl::ConvertSherryToLinalgBase<
          ConvertSherryToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSherryToLinalgPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::sherry::populateSherryToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<UnpackLowering, DequantizeLowering>(patterns.getContext());
}
