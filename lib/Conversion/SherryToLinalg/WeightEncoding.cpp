//===- WeightEncoding.cpp - ternarize, pack and repack to linalg ---------===//
//
// Weights into the packed layouts on run-time operands: the ternary
// projection, the packing of values into codes, and repacking between
// layouts, bit for bit as the format library does on constants.
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
      Emitter x{rewriter, loc};
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
          Emitter x{b, l};
          Value row = linalg::IndexOp::create(b, l, 0);
          Value g = linalg::IndexOp::create(b, l, 1);
          // Padding rows read row 0 and keep code 0.
          Value real = x.lt(row, mValue);
          Decoder d(b, l, from, k, src, codebook, mValue);
          Value code = d.code(x.select(real, row, x.idx(0)), g);
          return x.toByte(x.select(real, code, x.i32(0)));
        });
    auto codeAt = [&](Emitter &x, Value row, Value g) -> Value {
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
            Emitter x{b, l};
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
    Emitter top{rewriter, loc};
    Value codeBytes = top.mul(tiles, tileBytes);
    Value bytesInit =
        tensor::EmptyOp::create(rewriter, loc, ArrayRef<OpFoldResult>{codeBytes}, i8);
    AffineMap id1 = rewriter.getMultiDimIdentityMap(1);
    Value body = generic(
        rewriter, loc, {}, bytesInit, {id1}, {false},
        [&](OpBuilder &b, Location l, ValueRange) -> Value {
          Emitter x{b, l};
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
          Emitter x{b, l};
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
          Emitter x{b, l};
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
          Emitter x{b, l};
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

} // namespace

void mlir::sherry::linalg_lowering::populateWeightEncodingPatterns(RewritePatternSet &patterns) {
  patterns.add<TernarizeLowering, PackLowering, RepackLowering>(patterns.getContext());
}
