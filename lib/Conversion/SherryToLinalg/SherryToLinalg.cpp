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
#include "mlir/Dialect/Math/IR/Math.h"
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

/// Replaces `op` with an elementwise generic over its M x K `type` result,
/// element (m, k) being `element(decoder, builder, loc, m, k)`.
template <typename ElementFn>
LogicalResult replaceWithDecoding(Operation *op, PatternRewriter &rewriter,
                                  RankedTensorType type, LayoutAttr layout,
                                  Value packed, ElementFn element) {
  if (type.isDynamicDim(1))
    return rewriter.notifyMatchFailure(op, "K must be static");
  Location loc = op->getLoc();
  Value codebook = buildCodebook(rewriter, loc);
  Value result = buildDecodeGeneric(
      rewriter, loc, type, packed,
      [&](OpBuilder &b, Location l, Value m, Value k) -> Value {
        Decoder d(b, l, layout, type.getDimSize(1), packed, codebook);
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

/// A tensor of `shape` (with dynamic sizes from `dynSizes`, in order) filled
/// with `value`.
Value filled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
             Type elementType, TypedAttr value) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  Value v = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, v, empty).getResult(0);
}

SmallVector<utils::IteratorType> iterators(ArrayRef<bool> isReduction) {
  SmallVector<utils::IteratorType> out;
  for (bool r : isReduction)
    out.push_back(r ? utils::IteratorType::reduction
                    : utils::IteratorType::parallel);
  return out;
}

/// Views a 2-D R x K tensor as R x (K / size) x size.
Value splitLastDim(OpBuilder &b, Location loc, Value v, int64_t size) {
  auto type = cast<RankedTensorType>(v.getType());
  auto split = RankedTensorType::get(
      {type.getDimSize(0), type.getDimSize(1) / size, size},
      type.getElementType());
  return tensor::ExpandShapeOp::create(
      b, loc, split, v, SmallVector<ReassociationIndices>{{0}, {1, 2}});
}

Value toF32(OpBuilder &b, Location loc, Value v) {
  return v.getType().isF32()
             ? v
             : arith::ExtFOp::create(b, loc, b.getF32Type(), v).getResult();
}

Value f32Const(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// Activation quantization: absmax per row or block, scale = absmax / 127,
/// q = clamp(roundeven(x * (127 / absmax))), 0 where absmax is 0.
struct QuantizeActivationsLowering : OpRewritePattern<QuantizeActivationsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeActivationsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    RankedTensorType xType = op.getInput().getType();
    int64_t k = xType.getDimSize(1), block = op.getBlock();
    if (ShapedType::isDynamic(k))
      return rewriter.notifyMatchFailure(op, "K must be static");
    bool perRow = block == 0 || block == k;
    if (perRow)
      block = k;
    MLIRContext *ctx = rewriter.getContext();
    OpFoldResult n = tensor::getMixedSize(rewriter, loc, x, 0);
    SmallVector<OpFoldResult> scaleSizes{n};
    if (!perRow)
      scaleSizes.push_back(rewriter.getIndexAttr(k / block));
    Type f32 = rewriter.getF32Type();
    Value zeros =
        filled(rewriter, loc, scaleSizes, f32, rewriter.getF32FloatAttr(0.0f));

    // absmax over each block: iteration (n, [b,] j).
    AffineExpr d0, d1, d2;
    bindDims(ctx, d0, d1, d2);
    // Per block, x is viewed as N x blocks x block so that every loop
    // bound comes from a shape.
    Value absInput = perRow ? x : splitLastDim(rewriter, loc, x, block);
    SmallVector<AffineMap> absMaps =
        perRow ? SmallVector<AffineMap>{AffineMap::get(2, 0, {d0, d1}, ctx),
                                        AffineMap::get(2, 0, {d0}, ctx)}
               : SmallVector<AffineMap>{AffineMap::get(3, 0, {d0, d1, d2}, ctx),
                                        AffineMap::get(3, 0, {d0, d1}, ctx)};
    SmallVector<bool> absRed = perRow ? SmallVector<bool>{false, true}
                                      : SmallVector<bool>{false, false, true};
    Value absmax =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{zeros.getType()}, ValueRange{absInput},
            ValueRange{zeros}, absMaps, iterators(absRed),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value a = math::AbsFOp::create(b, l, toF32(b, l, args[0]));
              linalg::YieldOp::create(
                  b, l,
                  ValueRange{arith::MaximumFOp::create(b, l, args[1], a)});
            })
            .getResult(0);

    // scale = absmax / 127.
    unsigned rank = scaleSizes.size();
    AffineMap id = rewriter.getMultiDimIdentityMap(rank);
    Value scales =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{zeros.getType()}, ValueRange{absmax},
            ValueRange{tensor::EmptyOp::create(rewriter, loc, scaleSizes, f32)},
            ArrayRef<AffineMap>{id, id},
            iterators(SmallVector<bool>(rank, false)),
            [&](OpBuilder &b, Location l, ValueRange args) {
              linalg::YieldOp::create(
                  b, l,
                  ValueRange{arith::DivFOp::create(b, l, args[0],
                                                   f32Const(b, l, 127.0f))});
            })
            .getResult(0);

    // q, elementwise over (n, k).
    SmallVector<OpFoldResult> qSizes{n, rewriter.getIndexAttr(k)};
    Value qEmpty =
        tensor::EmptyOp::create(rewriter, loc, qSizes, rewriter.getI8Type());
    AffineMap aMap = perRow
                         ? AffineMap::get(2, 0, {d0}, ctx)
                         : AffineMap::get(2, 0, {d0, d1.floorDiv(block)}, ctx);
    AffineMap xy = rewriter.getMultiDimIdentityMap(2);
    Value q =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{qEmpty.getType()}, ValueRange{x, absmax},
            ValueRange{qEmpty}, ArrayRef<AffineMap>{xy, aMap, xy},
            iterators({false, false}),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value a = args[1];
              Value mult =
                  arith::DivFOp::create(b, l, f32Const(b, l, 127.0f), a);
              Value v = arith::MulFOp::create(b, l, toF32(b, l, args[0]), mult);
              v = math::RoundEvenOp::create(b, l, v);
              v = arith::MaximumFOp::create(b, l, v, f32Const(b, l, -127.0f));
              v = arith::MinimumFOp::create(b, l, v, f32Const(b, l, 127.0f));
              Value i = arith::FPToSIOp::create(b, l, b.getI32Type(), v);
              i = arith::TruncIOp::create(b, l, b.getI8Type(), i);
              Value isZero = arith::CmpFOp::create(
                  b, l, arith::CmpFPredicate::OEQ, a, f32Const(b, l, 0.0f));
              Value zero = arith::ConstantIntOp::create(b, l, b.getI8Type(), 0);
              linalg::YieldOp::create(
                  b, l,
                  ValueRange{arith::SelectOp::create(b, l, isZero, zero, i)});
            })
            .getResult(0);
    rewriter.replaceOp(op, {q, scales});
    return success();
  }
};

/// sherry.matmul on tensors, through decoded weights: exact mode multiplies
/// dequantized f32 weights; int8 mode sums int8 products per scale segment
/// in i32 and combines segments in f32 in increasing K order, as the format
/// library's reference does. Then (init + y) + bias in f32, rounded once.
struct MatmulLowering : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getResult().empty())
      return rewriter.notifyMatchFailure(op, "lowered on tensors only");
    int64_t k = op.getK();
    if (ShapedType::isDynamic(k))
      return rewriter.notifyMatchFailure(op, "K must be static");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    LayoutAttr layout = op.getLayout();
    Value x = op.getInput(), weights = op.getWeights();
    Type f32 = rewriter.getF32Type();
    OpFoldResult n = tensor::getMixedSize(rewriter, loc, x, 0);
    OpFoldResult m = tensor::getMixedSize(rewriter, loc, weights, 0);
    auto mk = [&](Type elementType) {
      return RankedTensorType::get(
          {cast<ShapedType>(weights.getType()).getDimSize(0), k}, elementType);
    };
    Value zeroY =
        filled(rewriter, loc, {n, m}, f32, rewriter.getF32FloatAttr(0.0f));
    AffineExpr d0, d1, d2, d3;
    bindDims(ctx, d0, d1, d2, d3);
    Value y;
    if (op.getMode() == ActivationMode::Exact) {
      Value w = DequantizeOp::create(rewriter, loc, mk(f32), weights,
                                     op.getScales(), layout);
      y = linalg::GenericOp::create(
              rewriter, loc, TypeRange{zeroY.getType()}, ValueRange{x, w},
              ValueRange{zeroY},
              ArrayRef<AffineMap>{AffineMap::get(3, 0, {d0, d2}, ctx),
                                  AffineMap::get(3, 0, {d1, d2}, ctx),
                                  AffineMap::get(3, 0, {d0, d1}, ctx)},
              iterators({false, false, true}),
              [&](OpBuilder &b, Location l, ValueRange args) {
                Value p =
                    arith::MulFOp::create(b, l, toF32(b, l, args[0]), args[1]);
                linalg::YieldOp::create(
                    b, l, ValueRange{arith::AddFOp::create(b, l, args[2], p)});
              })
              .getResult(0);
    } else {
      auto xType = cast<RankedTensorType>(x.getType());
      auto quant = QuantizeActivationsOp::create(
          rewriter, loc,
          RankedTensorType::get(xType.getShape(), rewriter.getI8Type()),
          RankedTensorType::get({xType.getDimSize(0)}, f32), x, 0);
      Value t = UnpackOp::create(rewriter, loc, mk(rewriter.getI8Type()),
                                 weights, layout);
      // Segment length: one scale region of the weights.
      int64_t seg = k;
      if (layout.getFormat() == PackedFormat::Stq1_0)
        seg = 256;
      else if (layout.getGranularity() == ScaleGranularity::Group)
        seg = layout.getGroupSize();
      int64_t segments = k / seg;
      Value alpha = op.getScales();
      AffineMap alphaMap;
      if (layout.getFormat() == PackedFormat::Stq1_0) {
        // The in-block f16 scales as an M x K/256 f32 tensor.
        Value empty = tensor::EmptyOp::create(
            rewriter, loc,
            ArrayRef<OpFoldResult>{m, rewriter.getIndexAttr(segments)}, f32);
        Value codebook = buildCodebook(rewriter, loc);
        AffineMap id2 = rewriter.getMultiDimIdentityMap(2);
        alpha = linalg::GenericOp::create(
                    rewriter, loc, TypeRange{empty.getType()}, ValueRange{},
                    ValueRange{empty}, ArrayRef<AffineMap>{id2},
                    iterators({false, false}),
                    [&](OpBuilder &b, Location l, ValueRange) {
                      Value row = linalg::IndexOp::create(b, l, 0);
                      Value s = linalg::IndexOp::create(b, l, 1);
                      Value kk = arith::MulIOp::create(
                          b, l, s, arith::ConstantIndexOp::create(b, l, 256));
                      Decoder d(b, l, layout, k, weights, codebook);
                      linalg::YieldOp::create(
                          b, l, ValueRange{d.scale(row, kk, Value())});
                    })
                    .getResult(0);
        alphaMap = AffineMap::get(3, 0, {d1, d2}, ctx);
      } else if (layout.getGranularity() == ScaleGranularity::Tensor) {
        alphaMap = AffineMap::get(3, 0, {getAffineConstantExpr(0, ctx)}, ctx);
      } else if (layout.getGranularity() == ScaleGranularity::Row) {
        alphaMap = AffineMap::get(3, 0, {d1}, ctx);
      } else {
        alphaMap = AffineMap::get(3, 0, {d1, d2}, ctx);
      }
      // isum[n, m, s]: exact int32 sums over each segment.
      Value zeroSums =
          filled(rewriter, loc, {n, m, rewriter.getIndexAttr(segments)},
                 rewriter.getI32Type(), rewriter.getI32IntegerAttr(0));
      Value sums =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{zeroSums.getType()},
              ValueRange{splitLastDim(rewriter, loc, quant.getValues(), seg),
                         splitLastDim(rewriter, loc, t, seg)},
              ValueRange{zeroSums},
              ArrayRef<AffineMap>{AffineMap::get(4, 0, {d0, d2, d3}, ctx),
                                  AffineMap::get(4, 0, {d1, d2, d3}, ctx),
                                  AffineMap::get(4, 0, {d0, d1, d2}, ctx)},
              iterators({false, false, false, true}),
              [&](OpBuilder &b, Location l, ValueRange args) {
                Value a = arith::ExtSIOp::create(b, l, b.getI32Type(), args[0]);
                Value w = arith::ExtSIOp::create(b, l, b.getI32Type(), args[1]);
                Value p = arith::MulIOp::create(b, l, a, w);
                linalg::YieldOp::create(
                    b, l, ValueRange{arith::AddIOp::create(b, l, args[2], p)});
              })
              .getResult(0);
      // y[n, m] = sum over s, in order, of (isum * alpha) * xscale.
      y = linalg::GenericOp::create(
              rewriter, loc, TypeRange{zeroY.getType()},
              ValueRange{sums, alpha, quant.getScales()}, ValueRange{zeroY},
              ArrayRef<AffineMap>{AffineMap::get(3, 0, {d0, d1, d2}, ctx),
                                  alphaMap, AffineMap::get(3, 0, {d0}, ctx),
                                  AffineMap::get(3, 0, {d0, d1}, ctx)},
              iterators({false, false, true}),
              [&](OpBuilder &b, Location l, ValueRange args) {
                Value term =
                    arith::SIToFPOp::create(b, l, b.getF32Type(), args[0]);
                term = arith::MulFOp::create(b, l, term, toF32(b, l, args[1]));
                term = arith::MulFOp::create(b, l, term, args[2]);
                linalg::YieldOp::create(
                    b, l,
                    ValueRange{arith::AddFOp::create(b, l, args[3], term)});
              })
              .getResult(0);
    }

    // result = (init + y) + bias, in f32, rounded once, written into init.
    Value init = op.getInit();
    auto initType = cast<RankedTensorType>(init.getType());
    SmallVector<Value> ins{y};
    AffineMap id2 = rewriter.getMultiDimIdentityMap(2);
    SmallVector<AffineMap> maps{id2};
    if (Value bias = op.getBias()) {
      ins.push_back(bias);
      maps.push_back(AffineMap::get(2, 0, {d1}, ctx));
    }
    maps.push_back(id2);
    bool hasBias = op.getBias() != nullptr;
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{initType}, ins, ValueRange{init}, maps,
            iterators({false, false}),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value out = args.back();
              Value v = arith::AddFOp::create(b, l, toF32(b, l, out), args[0]);
              if (hasBias)
                v = arith::AddFOp::create(b, l, v, toF32(b, l, args[1]));
              if (v.getType() != out.getType())
                v = arith::TruncFOp::create(b, l, out.getType(), v);
              linalg::YieldOp::create(b, l, ValueRange{v});
            })
            .getResult(0);
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
  patterns.add<UnpackLowering, DequantizeLowering, QuantizeActivationsLowering,
               MatmulLowering>(patterns.getContext());
}
