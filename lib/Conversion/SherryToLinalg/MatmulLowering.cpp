//===- MatmulLowering.cpp - sherry.quantize_activations and sherry.matmul -===//
//
// The portable matmul: int8 activations per row or block, then the
// contraction on decoded weights, bit-exact with the format library.
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

} // namespace

void mlir::sherry::linalg_lowering::populateMatmulLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<QuantizeActivationsLowering, MatmulLowering>(patterns.getContext());
}
