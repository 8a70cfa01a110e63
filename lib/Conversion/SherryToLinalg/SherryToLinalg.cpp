//===- SherryToLinalg.cpp - sherry decoding to linalg ---------------------===//
//
// Lowers the decoding ops to linalg.generic on tensors with upstream ops
// only: the portable reference path, and what makes them bufferizable.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/Passes.h"

#include "sherry/Conversion/KernelCommon/Emitter.h"
#include "sherry/Conversion/KernelCommon/Regroup.h"

#include "sherry/Dialect/Sherry/IR/SherryConstants.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"
#include "sherry/Dialect/Sherry/Utils/RuntimeErrors.h"
#include "sherry/Format/Format.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/TypeSwitch.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

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
  /// `rows` (an index) is M, which the tables layout's positions need.
  Decoder(OpBuilder &b, Location loc, LayoutAttr layout, int64_t k,
          Value packed, Value codebook, Value rows = Value())
      : b(b), loc(loc), layout(layout), cols(k), packed(packed),
        codebook(codebook), rows(rows) {}

  /// The ternary value of (m, k) as an i32 in {-1, 0, 1}.
  Value ternary(Value m, Value k) {
    Value group, lane;
    if (!layout.hasStq1_0Grouping()) {
      // Group g = k / 4 holds lane k % 4.
      group = div(k, 4);
      lane = rem(k, 4);
    } else {
      // Block k / 256; inside it, element r = 64c + l + 16p is lane p of
      // group 16c + l.
      Value r = rem(k, 256);
      lane = div(rem(r, 64), 16);
      group = add(mul(div(k, 256), 64), add(mul(div(r, 64), 16), rem(r, 16)));
    }
    Value entry = tensor::ExtractOp::create(
        b, loc, codebook,
        ValueRange{
            arith::IndexCastOp::create(b, loc, b.getIndexType(), code(m, group))});
    Value q = andi(shr(extend(entry), toI32(mul(lane, 2))), 3);
    return arith::SubIOp::create(b, loc, q, i32(1));
  }

  /// The 5-bit code of group g (in the grouping's order) of row m, as an
  /// i32.
  Value code(Value m, Value g) {
    if (layout.isTables())
      return tablesCode(m, g);
    Value slotByte, signByte, bitInSigns;
    if (layout.getFormat() == PackedFormat::Sherry) {
      // Slot nibble in byte g / 2, sign bit in byte K/8 + g / 8 of the row.
      slotByte = byteAt(m, div(g, 2));
      signByte = byteAt(m, add(idx(cols / 8), div(g, 8)));
      bitInSigns = rem(g, 8);
    } else {
      // 42-byte blocks of 64 groups: 32 slot bytes, 8 sign bytes.
      Value base = mul(div(g, 64), 42), gi = rem(g, 64);
      slotByte = byteAt(m, add(base, div(gi, 2)));
      signByte = byteAt(m, add(add(base, idx(32)), div(gi, 8)));
      bitInSigns = rem(gi, 8);
    }
    Value slot = andi(shr(extend(slotByte), toI32(mul(rem(g, 2), 4))), 15);
    Value sign = andi(shr(extend(signByte), toI32(bitInSigns)), 1);
    return arith::OrIOp::create(b, loc, shl(sign, 4), slot);
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

  /// Where step s (of `stepBytes`) of `tile` starts in the tables layout:
  /// the tiles of whole blocks interleave step by step, the others do not
  /// (format::interleaveForTables).
  Value tablesStep(Value tile, Value s, int64_t stepBytes) {
    int64_t block = layout.getTileBlock();
    int64_t tileBytes = (cols / 16) * format::kTableStepBytes;
    Value tiles = div(add(rows, idx(format::kTableTileRows - 1)),
                      format::kTableTileRows);
    Value blocked = arith::SubIOp::create(b, loc, tiles, rem(tiles, block));
    Value inBlock =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tile, blocked);
    Value first = arith::SelectOp::create(
        b, loc, inBlock, arith::SubIOp::create(b, loc, tile, rem(tile, block)),
        tile);
    Value width = arith::SelectOp::create(b, loc, inBlock, idx(block), idx(1));
    Value within = add(arith::MulIOp::create(b, loc, s, width),
                       arith::SubIOp::create(b, loc, tile, first));
    return add(mul(first, tileBytes), mul(within, stepBytes));
  }

private:
  /// The code of (m, g) read from the tables layout's positions.
  Value tablesCode(Value m, Value g) {
    Value tile = div(m, format::kTableTileRows);
    Value r = rem(m, format::kTableTileRows);
    if (layout.getTableOrder() == TableOrder::Words) {
      // Four steps of 320 bytes per 64 K elements: five 16-bit words a row.
      Value four = tablesStep(tile, div(g, 16), 4 * format::kTableStepBytes);
      Value f = rem(g, 16);
      auto word = [&](Value v) {
        Value at = add(four, add(mul(v, 64), mul(r, 2)));
        return arith::OrIOp::create(b, loc, extend(byteAt1(at)),
                                    shl(extend(byteAt1(add(at, idx(1)))), 8))
            .getResult();
      };
      Value fields = andi(shr(word(div(f, 3)), toI32(mul(rem(f, 3), 5))), 31);
      Value spread = i32(0);
      for (int64_t v = 0; v < 5; ++v)
        spread = arith::OrIOp::create(b, loc, spread,
                                      shl(andi(shr(word(idx(v)), i32(15)), 1),
                                          4 - v));
      Value last =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, f, idx(15));
      return arith::SelectOp::create(b, loc, last, spread, fields);
    }
    Value step = tablesStep(tile, div(g, 4), format::kTableStepBytes);
    Value i = rem(g, 4);
    // Byte `at` of the step and whether the code is its high nibble.
    Value at, high;
    if (layout.getTableOrder() == TableOrder::Pairs) {
      at = add(mul(r, 2), rem(i, 2));
      high = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, i, idx(2));
    } else {
      at = add(mul(i, 16), rem(r, 16));
      high =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, r, idx(16));
    }
    Value shift = arith::SelectOp::create(b, loc, high, i32(4), i32(0));
    Value slot = andi(shr(extend(byteAt1(add(step, at))), shift), 15);
    Value mask = add(add(step, idx(64)),
                     arith::SelectOp::create(b, loc, high, idx(8), idx(0)));
    Value sign = andi(shr(extend(byteAt1(add(mask, div(at, 8)))),
                          toI32(rem(at, 8))),
                      1);
    return arith::OrIOp::create(b, loc, shl(sign, 4), slot);
  }

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
  Value byteAt1(Value at) {
    return tensor::ExtractOp::create(b, loc, packed, ValueRange{at});
  }

  OpBuilder &b;
  Location loc;
  LayoutAttr layout;
  int64_t cols;
  Value packed, codebook, rows;
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

Value f32Const(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// The absmax of each row of the N x K `x` (K static) into `zeros` (N
/// f32), 16 lanes at a time, as integers: with the sign bit cleared, the
/// order of floats is the order of their bits (NaNs above infinity), so a
/// maxsi of the bits is maximumf's result, a NaN where it gives one. A
/// maximumf chain costs several instructions per step on x86 (its NaN and
/// -0 rules), and a linalg reduction keeps its maximum in memory; the
/// activations of every decode-step matmul wait for this loop.
Value rowAbsmax(OpBuilder &b, Location loc, Value x, Value zeros, int64_t k) {
  constexpr int64_t kLanes = 16;
  auto f32Lanes = VectorType::get({kLanes}, b.getF32Type());
  auto i32Lanes = VectorType::get({kLanes}, b.getI32Type());
  auto xType = cast<RankedTensorType>(x.getType());
  auto idx = [&](OpBuilder &ib, int64_t v) {
    return arith::ConstantIndexOp::create(ib, loc, v);
  };
  Value n = tensor::DimOp::create(b, loc, x, 0);
  return scf::ForOp::create(
             b, loc, idx(b, 0), n, idx(b, 1), ValueRange{zeros},
             [&](OpBuilder &rb, Location rl, Value row, ValueRange rowIter) {
               Value zero = arith::ConstantOp::create(
                   rb, rl, DenseElementsAttr::get(i32Lanes, int32_t(0)));
               Value magnitude = arith::ConstantOp::create(
                   rb, rl, DenseElementsAttr::get(i32Lanes, INT32_MAX));
               auto chunks = scf::ForOp::create(
                   rb, rl, idx(rb, 0), idx(rb, k), idx(rb, kLanes),
                   ValueRange{zero},
                   [&](OpBuilder &cb, Location cl, Value j, ValueRange acc) {
                     // Past K, zeros: they never win a maximum of |x|.
                     Value pad = arith::ConstantOp::create(
                         cb, cl, cb.getZeroAttr(xType.getElementType()));
                     Value v = vector::TransferReadOp::create(
                         cb, cl, f32Lanes.clone(xType.getElementType()), x,
                         ValueRange{row, j}, pad,
                         ArrayRef<bool>{k % kLanes == 0});
                     if (!xType.getElementType().isF32())
                       v = arith::ExtFOp::create(cb, cl, f32Lanes, v);
                     Value bits = arith::AndIOp::create(
                         cb, cl, arith::BitcastOp::create(cb, cl, i32Lanes, v),
                         magnitude);
                     scf::YieldOp::create(cb, cl,
                                          ValueRange{arith::MaxSIOp::create(
                                              cb, cl, acc[0], bits)});
                   });
               Value max = vector::ReductionOp::create(
                   rb, rl, vector::CombiningKind::MAXSI, chunks.getResult(0));
               max = arith::BitcastOp::create(rb, rl, rb.getF32Type(), max);
               scf::YieldOp::create(
                   rb, rl,
                   ValueRange{tensor::InsertOp::create(rb, rl, max, rowIter[0],
                                                       ValueRange{row})});
             })
      .getResult(0);
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
    if (std::optional<std::string> why = whyNotLowerableToLinalg(op))
      return rewriter.notifyMatchFailure(op, *why);
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
        perRow
            ? rowAbsmax(rewriter, loc, x, zeros, k)
            : linalg::GenericOp::create(
                  rewriter, loc, TypeRange{zeros.getType()},
                  ValueRange{absInput}, ValueRange{zeros}, absMaps,
                  iterators(absRed),
                  [&](OpBuilder &b, Location l, ValueRange args) {
                    Value a = math::AbsFOp::create(b, l, toF32(b, l, args[0]));
                    linalg::YieldOp::create(
                        b, l,
                        ValueRange{
                            arith::MaximumFOp::create(b, l, args[1], a)});
                  })
                  .getResult(0);

    // scale = absmax / 127, or 0 where 127 / absmax overflows (all zero, or
    // below about 3.7e-37: the block counts as zero).
    auto overflows = [&](OpBuilder &b, Location l, Value a) {
      Value mult = arith::DivFOp::create(b, l, f32Const(b, l, 127.0f), a);
      return arith::CmpFOp::create(
          b, l, arith::CmpFPredicate::OEQ, mult,
          f32Const(b, l, std::numeric_limits<float>::infinity()));
    };
    unsigned rank = scaleSizes.size();
    AffineMap id = rewriter.getMultiDimIdentityMap(rank);
    Value scales =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{zeros.getType()}, ValueRange{absmax},
            ValueRange{tensor::EmptyOp::create(rewriter, loc, scaleSizes, f32)},
            ArrayRef<AffineMap>{id, id},
            iterators(SmallVector<bool>(rank, false)),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value scale =
                  arith::DivFOp::create(b, l, args[0], f32Const(b, l, 127.0f));
              linalg::YieldOp::create(b, l,
                                      ValueRange{arith::SelectOp::create(
                                          b, l, overflows(b, l, args[0]),
                                          f32Const(b, l, 0.0f), scale)});
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
              Value zero = arith::ConstantIntOp::create(b, l, b.getI8Type(), 0);
              linalg::YieldOp::create(b, l,
                                      ValueRange{arith::SelectOp::create(
                                          b, l, overflows(b, l, a), zero, i)});
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
    if (std::optional<std::string> why = whyNotLowerableToLinalg(op))
      return rewriter.notifyMatchFailure(op, *why);
    int64_t k = op.getK();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    LayoutAttr layout = op.getLayout();
    Value x = op.getInput(), weights = op.getWeights();
    Type f32 = rewriter.getF32Type();
    OpFoldResult n = tensor::getMixedSize(rewriter, loc, x, 0);
    // The accumulator's columns: the tables layout's bytes do not say M.
    OpFoldResult m = tensor::getMixedSize(rewriter, loc, op.getInit(), 1);
    if (layout.isTables() && ShapedType::isDynamic(op.getM()))
      return rewriter.notifyMatchFailure(op, "M must be static");
    auto mk = [&](Type elementType) {
      return RankedTensorType::get({op.getM(), k}, elementType);
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
      int64_t seg = layout.getScaleRegionLength(k);
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

/// A tensor viewed with its last dimension split into (size0, size1, ...).
Value expandLast(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> split) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape{type.getDimSize(0)};
  shape.append(split.begin(), split.end());
  ReassociationIndices last;
  for (unsigned i = 0; i < split.size(); ++i)
    last.push_back(i + 1);
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), v,
      SmallVector<ReassociationIndices>{{0}, last});
}

/// An elementwise or reducing linalg.generic with one result.
template <typename BodyFn>
Value generic(OpBuilder &b, Location loc, ValueRange ins, Value init,
              ArrayRef<AffineMap> maps, ArrayRef<bool> isReduction,
              BodyFn body) {
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
             iterators(isReduction),
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, ValueRange{body(nb, nl, args)});
             })
      .getResult(0);
}

/// sherry.ternarize on tensors, as format::ternarize computes it: per
/// group, the first lane of smallest |w| becomes 0, the others sign(w) with
/// sign(0) = +1; each scale is the f64 sum of the kept |w| of its region,
/// in row, group and lane order, over their count, rounded to f32 (then to
/// the scale type). stq1_0 weights are first put in group order.
struct TernarizeLowering : OpRewritePattern<TernarizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TernarizeOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType wType = op.getWeights().getType();
    int64_t k = wType.getDimSize(1);
    if (std::optional<std::string> why = whyNotLowerableToLinalg(op))
      return rewriter.notifyMatchFailure(op, *why);
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    LayoutAttr layout = op.getLayout();
    bool stq = layout.getFormat() == PackedFormat::Stq1_0;
    int64_t groups = k / 4;
    Type f32 = rewriter.getF32Type(), f64 = rewriter.getF64Type();
    Type i8 = rewriter.getI8Type(), i32 = rewriter.getI32Type();
    OpFoldResult m = tensor::getMixedSize(rewriter, loc, op.getWeights(), 0);
    AffineExpr d0, d1, d2;
    bindDims(ctx, d0, d1, d2);
    AffineMap mgp = AffineMap::get(3, 0, {d0, d1, d2}, ctx);
    AffineMap mg = AffineMap::get(3, 0, {d0, d1}, ctx);

    Value w = op.getWeights();
    if (stq)
      w = regroupStq1_0(rewriter, loc, w, /*toGroupMajor=*/true);
    Value lanes = expandLast(rewriter, loc, w, {groups, 4});

    // The zero lane of every group: strict < over lanes in order keeps the
    // lowest lane on ties.
    Value inf = filled(
        rewriter, loc, {m, rewriter.getIndexAttr(groups)}, f32,
        rewriter.getF32FloatAttr(std::numeric_limits<float>::infinity()));
    Value lane0 = filled(rewriter, loc, {m, rewriter.getIndexAttr(groups)}, i32,
                         rewriter.getI32IntegerAttr(0));
    auto argmin = linalg::GenericOp::create(
        rewriter, loc, TypeRange{inf.getType(), lane0.getType()},
        ValueRange{lanes}, ValueRange{inf, lane0},
        ArrayRef<AffineMap>{mgp, mg, mg}, iterators({false, false, true}),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value a = math::AbsFOp::create(b, l, toF32(b, l, args[0]));
          Value p = arith::IndexCastOp::create(
              b, l, i32, linalg::IndexOp::create(b, l, 2));
          Value less = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, a,
                                             args[1]);
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::SelectOp::create(b, l, less, a, args[1]),
                         arith::SelectOp::create(b, l, less, p, args[2])});
        });
    Value zeroLane = argmin.getResult(1);

    // Values, in group order, then back to the layout's element order.
    Value valuesEmpty = tensor::EmptyOp::create(
        rewriter, loc,
        ArrayRef<OpFoldResult>{m, rewriter.getIndexAttr(groups),
                               rewriter.getIndexAttr(4)},
        i8);
    Value values = generic(
        rewriter, loc, ValueRange{lanes, zeroLane}, valuesEmpty, {mgp, mg, mgp},
        {false, false, false},
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value p = arith::IndexCastOp::create(
              b, l, i32, linalg::IndexOp::create(b, l, 2));
          Value isZero =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, p, args[1]);
          Value negative =
              arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT,
                                    toF32(b, l, args[0]), f32Const(b, l, 0));
          auto c = [&](int64_t v) -> Value {
            return arith::ConstantIntOp::create(b, l, i8, v);
          };
          Value sign = arith::SelectOp::create(b, l, negative, c(-1), c(1));
          return arith::SelectOp::create(b, l, isZero, c(0), sign);
        });
    auto flat = RankedTensorType::get(wType.getShape(), i8);
    values = tensor::CollapseShapeOp::create(
        rewriter, loc, flat, values,
        SmallVector<ReassociationIndices>{{0}, {1, 2}});
    if (stq)
      values = regroupStq1_0(rewriter, loc, values, /*toGroupMajor=*/false);

    // Scale regions over (m, g, p) and their kept counts (3 per group).
    RankedTensorType scalesType = op.getScales().getType();
    int64_t regionGroups;
    AffineMap regionMap;
    SmallVector<bool> isReduction{false, true, true};
    SmallVector<OpFoldResult> sumSizes;
    if (layout.getGranularity() == ScaleGranularity::Group) {
      int64_t size = layout.getScaleRegionLength(k);
      regionGroups = size / 4;
      regionMap = AffineMap::get(3, 0, {d0, d1.floorDiv(regionGroups)}, ctx);
      sumSizes = {m, rewriter.getIndexAttr(k / size)};
    } else if (layout.getGranularity() == ScaleGranularity::Row) {
      regionGroups = groups;
      regionMap = AffineMap::get(3, 0, {d0}, ctx);
      sumSizes = {m};
    } else {
      regionGroups = groups * wType.getDimSize(0);
      regionMap = AffineMap::get(3, 0, {getAffineConstantExpr(0, ctx)}, ctx);
      sumSizes = {rewriter.getIndexAttr(1)};
      isReduction = {true, true, true};
    }
    Value zeros =
        filled(rewriter, loc, sumSizes, f64, rewriter.getF64FloatAttr(0.0));
    Value sums = generic(
        rewriter, loc, ValueRange{lanes, zeroLane}, zeros, {mgp, mg, regionMap},
        isReduction, [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value p = arith::IndexCastOp::create(
              b, l, i32, linalg::IndexOp::create(b, l, 2));
          Value kept =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, p, args[1]);
          Value a = arith::ExtFOp::create(
              b, l, f64,
              math::AbsFOp::create(b, l, toF32(b, l, args[0])).getResult());
          Value zero = arith::ConstantOp::create(b, l, b.getF64FloatAttr(0.0));
          return arith::AddFOp::create(
              b, l, args[2], arith::SelectOp::create(b, l, kept, a, zero));
        });
    unsigned rank = sumSizes.size();
    AffineMap id = rewriter.getMultiDimIdentityMap(rank);
    Value scalesEmpty = tensor::EmptyOp::create(rewriter, loc, sumSizes,
                                                scalesType.getElementType());
    double count = 3.0 * double(regionGroups);
    Value scales = generic(
        rewriter, loc, ValueRange{sums}, scalesEmpty, {id, id},
        SmallVector<bool>(rank, false),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value mean = arith::DivFOp::create(
              b, l, args[0],
              arith::ConstantOp::create(b, l, b.getF64FloatAttr(count)));
          Value v = arith::TruncFOp::create(b, l, f32, mean);
          if (!scalesType.getElementType().isF32())
            v = arith::TruncFOp::create(b, l, scalesType.getElementType(), v);
          return v;
        });
    if (scales.getType() != scalesType)
      scales = tensor::CastOp::create(rewriter, loc, scalesType, scales);
    rewriter.replaceOp(op, {values, scales});
    return success();
  }
};

/// sherry.pack on tensors: per group, the code of its four values (zero
/// lane, sign of the first non-zero lane, flips of the second and third),
/// slot nibbles and sign bits laid out as the layout says; stq1_0 blocks
/// end with their f16 scale. Values that are not a valid group (exactly one
/// zero, +-1 elsewhere) stop the program with a message (cf.assert).
struct PackLowering : OpRewritePattern<PackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType vType = op.getValues().getType();
    int64_t k = vType.getDimSize(1);
    if (std::optional<std::string> why = whyNotLowerableToLinalg(op))
      return rewriter.notifyMatchFailure(op, *why);
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    bool stq = op.getLayout().getFormat() == PackedFormat::Stq1_0;
    int64_t groups = k / 4;
    Type i8 = rewriter.getI8Type(), i32 = rewriter.getI32Type();
    OpFoldResult m = tensor::getMixedSize(rewriter, loc, op.getValues(), 0);
    AffineExpr d0, d1, d2;
    bindDims(ctx, d0, d1, d2);

    Value values = op.getValues();
    if (stq)
      values = regroupStq1_0(rewriter, loc, values, /*toGroupMajor=*/true);
    // codes[m, g]: 5-bit code of group g (in group order).
    Value codesEmpty = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{m, rewriter.getIndexAttr(groups)},
        i32);
    Value bad = filled(rewriter, loc, {}, i32, rewriter.getI32IntegerAttr(0));
    AffineMap mg2 = AffineMap::get(2, 0, {d0, d1}, ctx);
    auto codesOp = linalg::GenericOp::create(
        rewriter, loc, TypeRange{codesEmpty.getType(), bad.getType()},
        ValueRange{}, ValueRange{codesEmpty, bad},
        ArrayRef<AffineMap>{mg2, AffineMap::get(2, 0, {}, ctx)},
        iterators({false, true}),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value row = linalg::IndexOp::create(b, l, 0);
          Value g = linalg::IndexOp::create(b, l, 1);
          auto c = [&](int64_t v) -> Value {
            return arith::ConstantIntOp::create(b, l, i32, v);
          };
          auto eq = [&](Value x, Value y) -> Value {
            return arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, x, y);
          };
          auto sel = [&](Value cond, Value x, Value y) -> Value {
            return arith::SelectOp::create(b, l, cond, x, y);
          };
          Value t[4];
          Value zerosCount = c(0),
                valid = arith::ConstantIntOp::create(b, l, b.getI1Type(), 1);
          for (int64_t p = 0; p < 4; ++p) {
            Value col = arith::AddIOp::create(
                b, l,
                arith::MulIOp::create(b, l, g,
                                      arith::ConstantIndexOp::create(b, l, 4)),
                arith::ConstantIndexOp::create(b, l, p));
            t[p] = arith::ExtSIOp::create(
                b, l, i32,
                tensor::ExtractOp::create(b, l, values, ValueRange{row, col}));
            Value isZero = eq(t[p], c(0));
            zerosCount = arith::AddIOp::create(
                b, l, zerosCount, arith::ExtUIOp::create(b, l, i32, isZero));
            Value unit = arith::OrIOp::create(
                b, l, isZero,
                arith::OrIOp::create(b, l, eq(t[p], c(1)), eq(t[p], c(-1))));
            valid = arith::AndIOp::create(b, l, valid, unit);
          }
          valid = arith::AndIOp::create(b, l, valid, eq(zerosCount, c(1)));
          // z: the zero lane; n0 < n1 < n2: the others.
          Value z =
              sel(eq(t[0], c(0)), c(0),
                  sel(eq(t[1], c(0)), c(1), sel(eq(t[2], c(0)), c(2), c(3))));
          Value first = sel(eq(z, c(0)), t[1], t[0]);
          Value second = sel(
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule, z, c(1)),
              t[2], t[1]);
          Value third = sel(
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule, z, c(2)),
              t[3], t[2]);
          auto bit = [&](Value cond) -> Value {
            return arith::ExtUIOp::create(b, l, i32, cond);
          };
          Value sign = bit(arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::slt, first, c(0)));
          Value b0 = bit(arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne,
                                               second, first));
          Value b1 = bit(arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne,
                                               third, first));
          Value code = arith::OrIOp::create(
              b, l, arith::ShLIOp::create(b, l, sign, c(4)),
              arith::OrIOp::create(
                  b, l, arith::ShLIOp::create(b, l, z, c(2)),
                  arith::OrIOp::create(
                      b, l, arith::ShLIOp::create(b, l, b1, c(1)), b0)));
          Value badCount = arith::AddIOp::create(
              b, l, args[1],
              bit(arith::XOrIOp::create(
                  b, l, valid,
                  arith::ConstantIntOp::create(b, l, b.getI1Type(), 1))));
          linalg::YieldOp::create(b, l, ValueRange{code, badCount});
        });
    Value codes = codesOp.getResult(0);
    Value badGroups = tensor::ExtractOp::create(
        rewriter, loc, codesOp.getResult(1), ValueRange{});
    // Reported (sherry_runtime_error); the bytes of such a group are
    // unspecified, and nothing is touched out of bounds.
    FailureOr<func::FuncOp> reporter =
        getOrDeclareRuntimeErrorFunction(op->getParentOfType<ModuleOp>());
    if (failed(reporter))
      return failure();
    Value anyBad = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ne, badGroups,
        arith::ConstantIntOp::create(rewriter, loc, i32, 0));
    emitRuntimeErrorIf(
        rewriter, loc, *reporter, anyBad,
        describeForRuntimeError(op) +
            "%lld of %lld groups of 4 values do not hold exactly one 0 and "
            "+1 or -1 elsewhere; their bytes are unspecified",
        badGroups,
        arith::MulIOp::create(
            rewriter, loc, getValueOrCreateConstantIndexOp(rewriter, loc, m),
            arith::ConstantIndexOp::create(rewriter, loc, groups)));

    // Slot bytes (2 groups each) and sign bytes (8 groups each), in group
    // order; then the layout's bytes from them.
    AffineMap mn = AffineMap::get(3, 0, {d0, d1}, ctx);
    Value slotCodes = expandLast(rewriter, loc, codes, {groups / 2, 2});
    Value slotZeros =
        filled(rewriter, loc, {m, rewriter.getIndexAttr(groups / 2)}, i8,
               rewriter.getI8IntegerAttr(0));
    Value slots = generic(
        rewriter, loc, ValueRange{slotCodes}, slotZeros,
        {AffineMap::get(3, 0, {d0, d1, d2}, ctx), mn}, {false, false, true},
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value i = arith::IndexCastOp::create(
              b, l, i32, linalg::IndexOp::create(b, l, 2));
          Value nibble = arith::AndIOp::create(
              b, l, args[0], arith::ConstantIntOp::create(b, l, i32, 15));
          Value shifted = arith::ShLIOp::create(
              b, l, nibble,
              arith::MulIOp::create(
                  b, l, i, arith::ConstantIntOp::create(b, l, i32, 4)));
          return arith::OrIOp::create(
              b, l, args[1], arith::TruncIOp::create(b, l, i8, shifted));
        });
    Value signCodes = expandLast(rewriter, loc, codes, {groups / 8, 8});
    Value signZeros =
        filled(rewriter, loc, {m, rewriter.getIndexAttr(groups / 8)}, i8,
               rewriter.getI8IntegerAttr(0));
    Value signs = generic(
        rewriter, loc, ValueRange{signCodes}, signZeros,
        {AffineMap::get(3, 0, {d0, d1, d2}, ctx), mn}, {false, false, true},
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value i = arith::IndexCastOp::create(
              b, l, i32, linalg::IndexOp::create(b, l, 2));
          Value sign = arith::ShRUIOp::create(
              b, l, args[0], arith::ConstantIntOp::create(b, l, i32, 4));
          return arith::OrIOp::create(
              b, l, args[1],
              arith::TruncIOp::create(b, l, i8,
                                      arith::ShLIOp::create(b, l, sign, i)));
        });

    RankedTensorType packedType = op.getPacked().getType();
    int64_t bytes = packedType.getDimSize(1);
    Value packedEmpty = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{m, rewriter.getIndexAttr(bytes)},
        i8);
    Value scales = op.getScales();
    AffineMap id2 = rewriter.getMultiDimIdentityMap(2);
    Value packed = generic(
        rewriter, loc, ValueRange{}, packedEmpty, {id2}, {false, false},
        [&](OpBuilder &b, Location l, ValueRange) -> Value {
          Value row = linalg::IndexOp::create(b, l, 0);
          Value col = linalg::IndexOp::create(b, l, 1);
          auto idx = [&](int64_t v) -> Value {
            return arith::ConstantIndexOp::create(b, l, v);
          };
          auto lt = [&](Value x, int64_t v) -> Value {
            return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, x,
                                         idx(v));
          };
          auto sub = [&](Value x, int64_t v) -> Value {
            return arith::SubIOp::create(b, l, x, idx(v));
          };
          auto at = [&](Value t, Value c) -> Value {
            return tensor::ExtractOp::create(b, l, t, ValueRange{row, c});
          };
          // Indices are clamped into range so that every extract is in
          // bounds whichever branch the select takes.
          auto clamp = [&](Value v, int64_t hi) -> Value {
            return arith::MinUIOp::create(b, l, v, idx(hi - 1));
          };
          if (!stq) {
            Value isSlot = lt(col, k / 8);
            Value slot = at(slots, clamp(col, k / 8));
            Value sign = at(signs, clamp(sub(col, k / 8), k / 32));
            return arith::SelectOp::create(b, l, isSlot, slot, sign);
          }
          Value block = arith::DivUIOp::create(b, l, col, idx(42));
          Value r = arith::RemUIOp::create(b, l, col, idx(42));
          Value blockBase = arith::MulIOp::create(b, l, block, idx(32));
          Value slot =
              at(slots,
                 clamp(arith::AddIOp::create(b, l, blockBase, r), groups / 2));
          Value signCol = arith::AddIOp::create(
              b, l, arith::MulIOp::create(b, l, block, idx(8)), sub(r, 32));
          Value sign = at(signs, clamp(signCol, groups / 8));
          Value half = at(scales, block);
          Value bits = arith::BitcastOp::create(b, l, b.getI16Type(), half);
          Value lo = arith::TruncIOp::create(b, l, i8, bits);
          Value hi = arith::TruncIOp::create(
              b, l, i8,
              arith::ShRUIOp::create(
                  b, l, bits,
                  arith::ConstantIntOp::create(b, l, b.getI16Type(), 8)));
          Value scaleByte = arith::SelectOp::create(b, l, lt(r, 41), lo, hi);
          Value v = arith::SelectOp::create(b, l, lt(r, 40), sign, scaleByte);
          return arith::SelectOp::create(b, l, lt(r, 32), slot, v);
        });
    if (packed.getType() != packedType)
      packed = tensor::CastOp::create(rewriter, loc, packedType, packed);
    rewriter.replaceOp(op, packed);
    return success();
  }
};

/// Index arithmetic inside a linalg.generic body.
struct IndexMath {
  OpBuilder &b;
  Location loc;
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t c) {
    return arith::MulIOp::create(b, loc, x, idx(c));
  }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value div(Value x, int64_t c) {
    return arith::DivUIOp::create(b, loc, x, idx(c));
  }
  Value div(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value rem(Value x, int64_t c) {
    return arith::RemUIOp::create(b, loc, x, idx(c));
  }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  }
  Value shr(Value v, int64_t n) {
    return arith::ShRUIOp::create(b, loc, v, i32(n));
  }
  Value shl(Value v, int64_t n) {
    return arith::ShLIOp::create(b, loc, v, i32(n));
  }
  Value andi(Value v, int64_t mask) {
    return arith::AndIOp::create(b, loc, v, i32(mask));
  }
  Value ori(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value toByte(Value v) {
    return arith::TruncIOp::create(b, loc, b.getI8Type(), v);
  }
};

/// sherry.repack on run-time operands: the code of every (row, group) read
/// from the source layout into an M x K/4 tensor (padded to whole tiles of
/// zero codes for the tables layout), then the target's bytes written from
/// it, one byte per element of a linalg.generic; for the lanes order the
/// counts of negative groups follow. The source's and the target's bytes
/// agree with the format library's (the fold) bit for bit.
struct RepackLowering : OpRewritePattern<RepackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RepackOp op,
                                PatternRewriter &rewriter) const override {
    if (std::optional<std::string> why = whyNotLowerableToLinalg(op))
      return rewriter.notifyMatchFailure(op, *why);
    int64_t k = op.getK();
    LayoutAttr from = op.getFrom(), to = op.getTo();
    Location loc = op.getLoc();
    Type i8 = rewriter.getI8Type(), i32 = rewriter.getI32Type();
    int64_t groups = k / 4;
    Value src = op.getPacked();
    OpFoldResult m =
        from.isTables()
            ? OpFoldResult(rewriter.getIndexAttr(op.getM()))
            : tensor::getMixedSize(rewriter, loc, src, 0);
    Value mValue = getValueOrCreateConstantIndexOp(rewriter, loc, m);
    Value codebook = buildCodebook(rewriter, loc);

    // The codes, over whole tiles where the target is the tables layout.
    OpFoldResult codeRows = m;
    Value tiles;
    if (to.isTables()) {
      IndexMath x{rewriter, loc};
      tiles = x.div(x.add(mValue, x.idx(format::kTableTileRows - 1)),
                    format::kTableTileRows);
      codeRows = x.mul(tiles, format::kTableTileRows);
    }
    Value codesInit = tensor::EmptyOp::create(
        rewriter, loc,
        ArrayRef<OpFoldResult>{codeRows, rewriter.getIndexAttr(groups)}, i8);
    AffineMap id2 = rewriter.getMultiDimIdentityMap(2);
    Value codes = generic(
        rewriter, loc, {}, codesInit, {id2}, {false, false},
        [&](OpBuilder &b, Location l, ValueRange) -> Value {
          IndexMath x{b, l};
          Value row = linalg::IndexOp::create(b, l, 0);
          Value g = linalg::IndexOp::create(b, l, 1);
          // Padding rows read row 0 and keep code 0.
          Value real = x.lt(row, mValue);
          Decoder d(b, l, from, k, src, codebook, mValue);
          Value code = d.code(x.select(real, row, x.idx(0)), g);
          return x.toByte(x.select(real, code, x.i32(0)));
        });
    auto codeAt = [&](IndexMath &x, Value row, Value g) -> Value {
      Value c = tensor::ExtractOp::create(x.b, x.loc, codes,
                                          ValueRange{row, g});
      return arith::ExtUIOp::create(x.b, x.loc, i32, c);
    };

    SmallVector<Value> results;
    Value bytes = to.isTables()
                      ? writeTables(rewriter, loc, to, k, tiles, codes, codeAt)
                      : writeCanonical(rewriter, loc, op, to, k, m, codeAt);
    if (bytes.getType() != op.getResult().getType())
      bytes = tensor::CastOp::create(rewriter, loc, op.getResult().getType(),
                                     bytes);
    results.push_back(bytes);
    if (op.getResultScales()) {
      // stq1_0's f16 block scales, apart.
      auto type = op.getResultScales().getType();
      Value init = tensor::EmptyOp::create(
          rewriter, loc,
          ArrayRef<OpFoldResult>{m, rewriter.getIndexAttr(k / 256)},
          type.getElementType());
      results.push_back(generic(
          rewriter, loc, {}, init, {id2}, {false, false},
          [&](OpBuilder &b, Location l, ValueRange) -> Value {
            IndexMath x{b, l};
            Value row = linalg::IndexOp::create(b, l, 0);
            Value blk = linalg::IndexOp::create(b, l, 1);
            Decoder d(b, l, from, k, src, codebook, mValue);
            Value s = d.scale(row, x.mul(blk, 256), Value());
            if (s.getType() != type.getElementType())
              s = arith::TruncFOp::create(b, l, type.getElementType(), s);
            return s;
          }));
    }
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  /// The tables layout's bytes from `codes` (whole tiles x K / 4).
  template <typename CodeAt>
  static Value writeTables(PatternRewriter &rewriter, Location loc,
                           LayoutAttr to, int64_t k, Value tiles, Value codes,
                           CodeAt codeAt) {
    Type i8 = rewriter.getI8Type(), i32 = rewriter.getI32Type();
    int64_t steps = k / 16, block = to.getTileBlock();
    bool words = to.getTableOrder() == TableOrder::Words;
    int64_t stepBytes = words ? 4 * format::kTableStepBytes
                              : format::kTableStepBytes;
    int64_t tileBytes = steps * format::kTableStepBytes;
    IndexMath top{rewriter, loc};
    Value codeBytes = top.mul(tiles, tileBytes);
    Value bytesInit =
        tensor::EmptyOp::create(rewriter, loc, ArrayRef<OpFoldResult>{codeBytes}, i8);
    AffineMap id1 = rewriter.getMultiDimIdentityMap(1);
    Value body = generic(
        rewriter, loc, {}, bytesInit, {id1}, {false},
        [&](OpBuilder &b, Location l, ValueRange) -> Value {
          IndexMath x{b, l};
          Value o = linalg::IndexOp::create(b, l, 0);
          // Which tile, step and byte of the step `o` is: whole blocks
          // interleave their tiles step by step, the tail does not.
          Value blocked = x.sub(tiles, x.rem(tiles, block));
          Value inBlocks = x.lt(o, x.mul(blocked, tileBytes));
          Value r = x.rem(o, block * tileBytes);
          Value blockTile = x.add(x.mul(x.div(o, block * tileBytes), block),
                                  x.div(x.rem(r, block * stepBytes), stepBytes));
          Value tile = x.select(inBlocks, blockTile, x.div(o, tileBytes));
          Value s = x.select(inBlocks, x.div(r, block * stepBytes),
                             x.div(x.rem(o, tileBytes), stepBytes));
          Value within = x.rem(o, stepBytes);
          Value row0 = x.mul(tile, format::kTableTileRows);
          if (words) {
            // Word v of row rr: three whole codes and a bit of the 16th.
            Value v = x.div(within, 64), rr = x.div(x.rem(within, 64), 2);
            Value row = x.add(row0, rr), g0 = x.mul(s, 16);
            Value last = codeAt(x, row, x.add(g0, x.idx(15)));
            Value vi = arith::IndexCastOp::create(b, l, i32, v);
            Value bit = x.andi(arith::ShRUIOp::create(
                                   b, l, last, arith::SubIOp::create(
                                                   b, l, x.i32(4), vi)),
                               1);
            Value word = x.shl(bit, 15);
            for (int64_t j = 0; j < 3; ++j)
              word = x.ori(word,
                           x.shl(codeAt(x, row,
                                        x.add(g0, x.add(x.mul(v, 3), x.idx(j)))),
                                 5 * j));
            Value high = x.rem(within, 2);
            Value shift = arith::IndexCastOp::create(
                b, l, i32, x.mul(high, 8));
            return x.toByte(arith::ShRUIOp::create(b, l, word, shift));
          }
          bool pairs = to.getTableOrder() == TableOrder::Pairs;
          // The (row, group) of the low or high nibble of step byte `byte`.
          auto rowGroup = [&](Value byte, bool high) {
            if (pairs)
              return std::make_pair(
                  x.add(row0, x.div(byte, 2)),
                  x.add(x.mul(s, 4), x.add(x.rem(byte, 2), x.idx(high ? 2 : 0))));
            return std::make_pair(
                x.add(row0, x.add(x.rem(byte, 16), x.idx(high ? 16 : 0))),
                x.add(x.mul(s, 4), x.div(byte, 16)));
          };
          auto code = [&](Value byte, bool high) {
            auto [row, g] = rowGroup(byte, high);
            return codeAt(x, row, g);
          };
          // Bytes 0..63: two slot nibbles.
          Value nibbleByte = x.select(x.lt(within, x.idx(64)), within, x.idx(0));
          Value slots = x.ori(x.andi(code(nibbleByte, false), 15),
                              x.shl(x.andi(code(nibbleByte, true), 15), 4));
          // Bytes 64..79: the sign bits of the low, then the high nibbles,
          // of eight step bytes each.
          Value maskByte = x.select(x.lt(within, x.idx(64)), x.idx(0),
                                    x.sub(within, x.idx(64)));
          Value first = x.mul(x.rem(maskByte, 8), 8);
          Value highMask = x.lt(x.idx(7), maskByte);
          Value signs = x.i32(0);
          for (int64_t j = 0; j < 8; ++j) {
            Value byte = x.add(first, x.idx(j));
            Value sign = x.select(highMask, x.shr(code(byte, true), 4),
                                  x.shr(code(byte, false), 4));
            signs = x.ori(signs, x.shl(sign, j));
          }
          return x.toByte(x.select(x.lt(within, x.idx(64)), slots, signs));
        });
    if (to.getTableOrder() != TableOrder::Lanes)
      return body;

    // The counts of negative groups per tile, scale region and row.
    int64_t segment = to.getScaleRegionLength(k), segments = k / segment;
    int64_t width = format::tableCountBytes(segment);
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr d0, d1, d2, d3;
    bindDims(ctx, d0, d1, d2, d3);
    Value grouped = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({ShapedType::kDynamic, format::kTableTileRows,
                               segments, segment / 4},
                              i8),
        codes, SmallVector<ReassociationIndices>{{0, 1}, {2, 3}},
        ArrayRef<OpFoldResult>{tiles,
                               rewriter.getIndexAttr(format::kTableTileRows),
                               rewriter.getIndexAttr(segments),
                               rewriter.getIndexAttr(segment / 4)});
    Value zeros = filled(
        rewriter, loc,
        {tiles, rewriter.getIndexAttr(segments),
         rewriter.getIndexAttr(format::kTableTileRows)},
        i32, rewriter.getI32IntegerAttr(0));
    Value counts = generic(
        rewriter, loc, {grouped}, zeros,
        {AffineMap::get(4, 0, {d0, d1, d2, d3}, ctx),
         AffineMap::get(4, 0, {d0, d2, d1}, ctx)},
        {false, false, false, true},
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          IndexMath x{b, l};
          Value c = arith::ExtUIOp::create(b, l, i32, args[0]);
          return arith::AddIOp::create(b, l, args[1], x.shr(c, 4));
        });
    Value countsFlat = tensor::CollapseShapeOp::create(
        rewriter, loc, counts,
        SmallVector<ReassociationIndices>{{0, 1, 2}});
    Value countBytesSize =
        top.mul(tiles, segments * format::kTableTileRows * width);
    Value countBytesInit = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{countBytesSize}, i8);
    Value countBytes = generic(
        rewriter, loc, {}, countBytesInit, {rewriter.getMultiDimIdentityMap(1)},
        {false}, [&](OpBuilder &b, Location l, ValueRange) -> Value {
          IndexMath x{b, l};
          Value o = linalg::IndexOp::create(b, l, 0);
          Value count = tensor::ExtractOp::create(b, l, countsFlat,
                                                  ValueRange{x.div(o, width)});
          Value shift =
              arith::IndexCastOp::create(b, l, i32, x.mul(x.rem(o, width), 8));
          return x.toByte(arith::ShRUIOp::create(b, l, count, shift));
        });
    Value all = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{top.add(codeBytes, countBytesSize)},
        i8);
    OpFoldResult one = rewriter.getIndexAttr(1);
    all = tensor::InsertSliceOp::create(
        rewriter, loc, body, all, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{codeBytes}, ArrayRef<OpFoldResult>{one});
    all = tensor::InsertSliceOp::create(
        rewriter, loc, countBytes, all, ArrayRef<OpFoldResult>{codeBytes},
        ArrayRef<OpFoldResult>{countBytesSize}, ArrayRef<OpFoldResult>{one});
    return all;
  }

  /// The canonical layout's bytes (M x bytes per row) from `codes`.
  template <typename CodeAt>
  static Value writeCanonical(PatternRewriter &rewriter, Location loc,
                              RepackOp op, LayoutAttr to, int64_t k,
                              OpFoldResult m, CodeAt codeAt) {
    Type i8 = rewriter.getI8Type();
    bool stq = to.getFormat() == PackedFormat::Stq1_0;
    Value scales = op.getScales();
    Value init = tensor::EmptyOp::create(
        rewriter, loc,
        ArrayRef<OpFoldResult>{m, rewriter.getIndexAttr(to.getRowBytes(k))},
        i8);
    return generic(
        rewriter, loc, {}, init, {rewriter.getMultiDimIdentityMap(2)},
        {false, false}, [&](OpBuilder &b, Location l, ValueRange) -> Value {
          IndexMath x{b, l};
          Value row = linalg::IndexOp::create(b, l, 0);
          Value j = linalg::IndexOp::create(b, l, 1);
          // The slot byte of groups 2w, 2w + 1 and the sign byte of groups
          // 8w' .. 8w' + 7 (relative to `base`), as the byte is one or the
          // other.
          Value base, w, slotBytes;
          if (stq) {
            base = x.mul(x.div(j, 42), 64);
            w = x.rem(j, 42);
            slotBytes = x.idx(32);
          } else {
            base = x.idx(0);
            w = j;
            slotBytes = x.idx(k / 8);
          }
          Value isSlot = x.lt(w, slotBytes);
          Value slotW = x.select(isSlot, w, x.idx(0));
          Value g = x.add(base, x.mul(slotW, 2));
          Value slots =
              x.ori(x.andi(codeAt(x, row, g), 15),
                    x.shl(x.andi(codeAt(x, row, x.add(g, x.idx(1))), 15), 4));
          // Sign bytes: 8 of them per stq1_0 block, K / 32 per sherry row.
          Value signW = x.select(isSlot, x.idx(0), x.sub(w, slotBytes));
          Value signEnd = stq ? x.idx(40) : x.idx(k / 8 + k / 32);
          Value isSign = x.lt(w, signEnd);
          signW = x.select(isSign, signW, x.idx(0));
          Value signs = x.i32(0);
          for (int64_t bit = 0; bit < 8; ++bit) {
            Value c = codeAt(x, row, x.add(base, x.add(x.mul(signW, 8),
                                                       x.idx(bit))));
            signs = x.ori(signs, x.shl(x.shr(c, 4), bit));
          }
          Value byte = x.select(isSlot, slots, signs);
          if (stq) {
            // Bytes 40 and 41: the block's f16 scale, little endian.
            Value blk = x.div(j, 42);
            Value scale = tensor::ExtractOp::create(b, l, scales,
                                                    ValueRange{row, blk});
            Value bits = arith::ExtUIOp::create(
                b, l, b.getI32Type(),
                arith::BitcastOp::create(b, l, b.getI16Type(), scale));
            Value scaleByte = x.select(x.lt(w, x.idx(41)), x.andi(bits, 255),
                                       x.shr(bits, 8));
            byte = x.select(isSign, byte, scaleByte);
          }
          return x.toByte(byte);
        });
  }
};

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
  patterns.add<UnpackLowering, DequantizeLowering, QuantizeActivationsLowering,
               MatmulLowering, TernarizeLowering, PackLowering,
               RepackLowering>(
      patterns.getContext());
}
