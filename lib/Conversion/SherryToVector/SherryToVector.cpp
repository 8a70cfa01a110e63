//===- SherryToVector.cpp - sherry.matmul to a vector micro-kernel --------===//
//
// Lowers sherry.matmul on tensors to loops over output rows whose body
// decodes a chunk of 32 or 64 packed weights straight into a vector of
// ternary lanes and multiply-accumulates it with activation vectors: no
// decoded weights ever reach memory. Upstream vector, arith and scf ops only,
// so the kernel is correct on every LLVM target.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/Passes.h"

#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_CONVERTSHERRYTOVECTOR
#include "sherry/Conversion/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

/// Small builders over one insertion point.
class Emitter {
public:
  Emitter(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value addi(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value muli(Value x, int64_t c) {
    return arith::MulIOp::create(b, loc, x, idx(c));
  }
  Value toF32(Value v) {
    return v.getType().isF32()
               ? v
               : arith::ExtFOp::create(b, loc, b.getF32Type(), v).getResult();
  }

  /// A constant i8 vector holding `values`.
  Value bytes(ArrayRef<int8_t> values) {
    auto type = VectorType::get({int64_t(values.size())}, b.getI8Type());
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, values));
  }
  /// An i8 vector of `lanes` copies of `v`.
  Value splat(int64_t lanes, int8_t v) {
    return bytes(SmallVector<int8_t>(lanes, v));
  }
  Value zeros(VectorType type) {
    return arith::ConstantOp::create(b, loc, b.getZeroAttr(type));
  }

  /// Reads `len` contiguous elements of row `row` of the 2-D tensor `t`,
  /// from column `col`.
  Value read(Value t, Value row, Value col, int64_t len) {
    Type element = cast<ShapedType>(t.getType()).getElementType();
    Value pad = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
    return vector::TransferReadOp::create(
        b, loc, VectorType::get({len}, element), t, ValueRange{row, col}, pad,
        ArrayRef<bool>{true});
  }

  OpBuilder &b;
  Location loc;
};

/// Decodes `groups` consecutive groups into 4 * groups ternary i8 lanes in
/// group-major order (lane p of group j at 4j + p). `slotBytes` holds their
/// groups / 2 slot bytes and `signBytes` their sign bits, group j at bit
/// j % 8 of byte j / 8. The decoding is arithmetic on the 5-bit code
/// (spec/format.md, section 2): lane p is 0 where p is the zero lane z;
/// otherwise it is the (p - [p > z])-th non-zero lane, whose value is the
/// first non-zero lane's sign flipped by slot bit b0 (second) or b1 (third).
Value decodeTernary(Emitter &e, Value slotBytes, Value signBytes,
                    int64_t groups) {
  int64_t lanes = 4 * groups;
  SmallVector<int64_t> slotOf, signOf;
  SmallVector<int8_t> slotShift, signShift, lane;
  for (int64_t i = 0; i < lanes; ++i) {
    int64_t j = i / 4;
    slotOf.push_back(j / 2);
    signOf.push_back(j / 8);
    slotShift.push_back(4 * (j % 2));
    signShift.push_back(j % 8);
    lane.push_back(i % 4);
  }
  OpBuilder &b = e.b;
  Location loc = e.loc;
  auto shr = [&](Value v, Value amount) -> Value {
    return arith::ShRUIOp::create(b, loc, v, amount);
  };
  auto andi = [&](Value v, int8_t mask) -> Value {
    return arith::AndIOp::create(b, loc, v, e.splat(lanes, mask));
  };
  Value slot =
      andi(shr(vector::ShuffleOp::create(b, loc, slotBytes, slotBytes, slotOf),
               e.bytes(slotShift)),
           15);
  Value sign =
      andi(shr(vector::ShuffleOp::create(b, loc, signBytes, signBytes, signOf),
               e.bytes(signShift)),
           1);
  Value p = e.bytes(lane);
  Value zeroLane = shr(slot, e.splat(lanes, 2));
  Value isZero =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, p, zeroLane);
  Value after =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, p, zeroLane);
  // Rank among the non-zero lanes: p, less one past the zero.
  Value rank = arith::SubIOp::create(
      b, loc, p,
      arith::ExtUIOp::create(b, loc, VectorType::get({lanes}, b.getI8Type()),
                             after));
  // Bit r of (b1 b0 0) flips the r-th non-zero lane.
  Value flips = arith::ShLIOp::create(b, loc, andi(slot, 3), e.splat(lanes, 1));
  Value flip = andi(shr(flips, rank), 1);
  Value negative = arith::XOrIOp::create(b, loc, sign, flip);
  // 1 - 2 * negative: +1 or -1.
  Value value = arith::SubIOp::create(
      b, loc, e.splat(lanes, 1),
      arith::ShLIOp::create(b, loc, negative, e.splat(lanes, 1)));
  return arith::SelectOp::create(b, loc, isZero, e.splat(lanes, 0), value);
}

/// How sherry.matmul's K is cut: into scale segments (one scale each) and,
/// inside a segment, into chunks decoded at once.
struct KernelShape {
  PackedFormat format;
  ScaleGranularity granularity;
  int64_t k;
  int64_t segment;
  int64_t chunk;
  bool int8;
};

/// Where the slot and sign bytes of the chunk starting at element `k0` of a
/// row lie, as column offsets in the packed row.
std::pair<Value, Value> chunkColumns(Emitter &e, const KernelShape &shape,
                                     Value k0) {
  Value slotCol, signCol;
  if (shape.format == PackedFormat::Sherry) {
    // K/8 slot bytes then K/32 sign bytes; group k0/4 starts the chunk.
    slotCol = arith::DivUIOp::create(e.b, e.loc, k0, e.idx(8));
    signCol = e.addi(e.idx(shape.k / 8),
                     arith::DivUIOp::create(e.b, e.loc, k0, e.idx(32)));
  } else {
    // 42-byte blocks of 256 elements; chunk c (64 elements, 16 groups) of
    // a block has slot bytes 8c.. and sign bytes 32 + 2c.
    Value block = arith::DivUIOp::create(e.b, e.loc, k0, e.idx(256));
    Value c = arith::DivUIOp::create(
        e.b, e.loc, arith::RemUIOp::create(e.b, e.loc, k0, e.idx(256)),
        e.idx(64));
    Value base = e.muli(block, 42);
    slotCol = e.addi(base, e.muli(c, 8));
    signCol = e.addi(base, e.addi(e.idx(32), e.muli(c, 2)));
  }
  return {slotCol, signCol};
}

/// The weight scale of segment `s` of row `m`, as f32.
Value segmentScale(Emitter &e, const KernelShape &shape, Value packed,
                   Value scales, Value m, Value s) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  if (shape.format == PackedFormat::Stq1_0) {
    // The block's f16 scale, little endian in bytes 40 and 41.
    Value col = e.addi(e.muli(s, 42), e.idx(40));
    Value two = e.read(packed, m, col, 2);
    Value half = vector::BitCastOp::create(
        b, loc, VectorType::get({1}, b.getF16Type()), two);
    return e.toF32(vector::ExtractOp::create(b, loc, half, 0));
  }
  SmallVector<Value> indices;
  switch (shape.granularity) {
  case ScaleGranularity::Tensor:
    indices = {e.idx(0)};
    break;
  case ScaleGranularity::Row:
    indices = {m};
    break;
  case ScaleGranularity::Group:
    indices = {m, s};
    break;
  }
  return e.toF32(tensor::ExtractOp::create(b, loc, scales, indices));
}

/// Views activations of `stq1_0` weights in the order their groups hold
/// them: inside each 64-element chunk, element 16p + l moves to 4l + p, so
/// that a decoded chunk (group-major) meets its activations lane by lane.
Value groupMajor(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t k = type.getDimSize(1);
  Type element = type.getElementType();
  SmallVector<OpFoldResult> n{tensor::getMixedSize(b, loc, x, 0)};
  auto split =
      RankedTensorType::get({type.getDimSize(0), k / 64, 4, 16}, element);
  Value expanded = tensor::ExpandShapeOp::create(
      b, loc, split, x, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
  SmallVector<OpFoldResult> sizes{n[0], b.getIndexAttr(k / 64),
                                  b.getIndexAttr(16), b.getIndexAttr(4)};
  Value empty = tensor::EmptyOp::create(b, loc, sizes, element);
  Value moved = linalg::TransposeOp::create(b, loc, expanded, empty,
                                            ArrayRef<int64_t>{0, 1, 3, 2})
                    .getResult()[0];
  return tensor::CollapseShapeOp::create(
      b, loc, type, moved, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
}

struct MatmulToVector : OpRewritePattern<MatmulOp> {
  MatmulToVector(MLIRContext *ctx, int64_t batchBlock)
      : OpRewritePattern(ctx), batchBlock(batchBlock) {}

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getResult().empty())
      return rewriter.notifyMatchFailure(op, "lowered on tensors only");
    KernelShape shape;
    shape.k = op.getK();
    if (ShapedType::isDynamic(shape.k))
      return rewriter.notifyMatchFailure(op, "K must be static");
    LayoutAttr layout = op.getLayout();
    shape.format = layout.getFormat();
    shape.granularity = layout.getGranularity();
    shape.int8 = op.getMode() == ActivationMode::Int8;
    shape.segment = shape.k;
    if (shape.format == PackedFormat::Stq1_0)
      shape.segment = 256;
    else if (shape.granularity == ScaleGranularity::Group)
      shape.segment = layout.getGroupSize();
    // Chunks are whole sign bytes (8 groups) and never cross a segment.
    if (shape.segment % 64 == 0)
      shape.chunk = 64;
    else if (shape.segment % 32 == 0)
      shape.chunk = 32;
    else
      return rewriter.notifyMatchFailure(
          op, "scale groups are not a multiple of 32 elements");

    Location loc = op.getLoc();
    Emitter e(rewriter, loc);
    Value x = op.getInput();
    Value xScales;
    if (shape.int8) {
      auto xType = cast<RankedTensorType>(x.getType());
      auto quant = QuantizeActivationsOp::create(
          rewriter, loc,
          RankedTensorType::get(xType.getShape(), rewriter.getI8Type()),
          RankedTensorType::get({xType.getDimSize(0)}, rewriter.getF32Type()),
          x, 0);
      x = quant.getValues();
      xScales = quant.getScales();
    }
    if (shape.format == PackedFormat::Stq1_0)
      x = groupMajor(rewriter, loc, x);

    Value packed = op.getWeights(), scales = op.getScales(),
          bias = op.getBias();
    Value n = tensor::DimOp::create(rewriter, loc, x, 0);
    Value m = tensor::DimOp::create(rewriter, loc, packed, 0);
    // Activation rows go in blocks of `batchBlock` that share each decoded
    // chunk, then one at a time.
    Value nb = e.idx(batchBlock);
    Value nMain = arith::SubIOp::create(
        rewriter, loc, n, arith::RemUIOp::create(rewriter, loc, n, nb));
    auto rows = scf::ForOp::create(
        rewriter, loc, e.idx(0), m, e.idx(1), ValueRange{op.getInit()},
        [&](OpBuilder &b, Location l, Value row, ValueRange iter) {
          Emitter re(b, l);
          auto blocks = scf::ForOp::create(
              b, l, re.idx(0), nMain, nb, iter,
              [&](OpBuilder &bb, Location ll, Value n0, ValueRange it) {
                Emitter be(bb, ll);
                scf::YieldOp::create(bb, ll,
                                     emitRows(be, shape, x, xScales, packed,
                                              scales, bias, row, n0, batchBlock,
                                              it[0]));
              });
          auto tail = scf::ForOp::create(
              b, l, nMain, n, re.idx(1), blocks.getResults(),
              [&](OpBuilder &bb, Location ll, Value n0, ValueRange it) {
                Emitter be(bb, ll);
                scf::YieldOp::create(bb, ll,
                                     emitRows(be, shape, x, xScales, packed,
                                              scales, bias, row, n0, 1, it[0]));
              });
          scf::YieldOp::create(b, l, tail.getResults());
        });
    rewriter.replaceOp(op, rows.getResults());
    return success();
  }

  /// Computes output row `row` for activation rows n0 .. n0 + count - 1 and
  /// inserts them into `y` (which holds the accumulator `init`); returns the
  /// updated tensor.
  static Value emitRows(Emitter &e, const KernelShape &shape, Value x,
                        Value xScales, Value packed, Value scales, Value bias,
                        Value row, Value n0, int64_t count, Value y) {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    int64_t lanes = shape.chunk;
    // int8 lanes sum in i16 while a segment cannot overflow it.
    Type accElement = b.getF32Type();
    if (shape.int8)
      accElement = (shape.segment / shape.chunk) * 127 <= 32767
                       ? b.getI16Type()
                       : b.getI32Type();
    auto accType = VectorType::get({lanes}, accElement);
    SmallVector<Value> nIdx;
    for (int64_t i = 0; i < count; ++i)
      nIdx.push_back(e.addi(n0, e.idx(i)));

    SmallVector<Value> zeroSums(count, e.f32(0.0f));
    auto segments = scf::ForOp::create(
        b, loc, e.idx(0), e.idx(shape.k / shape.segment), e.idx(1), zeroSums,
        [&](OpBuilder &sb, Location sl, Value s, ValueRange sums) {
          Emitter se(sb, sl);
          Value k0 = se.muli(s, shape.segment);
          SmallVector<Value> zeroAccs(count, se.zeros(accType));
          auto chunks = scf::ForOp::create(
              sb, sl, se.idx(0), se.idx(shape.segment / shape.chunk), se.idx(1),
              zeroAccs,
              [&](OpBuilder &cb, Location cl, Value c, ValueRange accs) {
                Emitter ce(cb, cl);
                Value kc = ce.addi(k0, ce.muli(c, shape.chunk));
                auto [slotCol, signCol] = chunkColumns(ce, shape, kc);
                Value w = decodeTernary(
                    ce, ce.read(packed, row, slotCol, shape.chunk / 8),
                    ce.read(packed, row, signCol, shape.chunk / 32),
                    shape.chunk / 4);
                SmallVector<Value> next;
                if (!shape.int8)
                  w = arith::SIToFPOp::create(
                      cb, cl, VectorType::get({lanes}, cb.getF32Type()), w);
                for (int64_t i = 0; i < count; ++i) {
                  Value xv = ce.read(x, nIdx[i], kc, lanes);
                  Value acc;
                  if (shape.int8) {
                    // |x| <= 127 and w in {-1, 0, 1}: the i8 product is
                    // exact.
                    Value p = arith::MulIOp::create(cb, cl, xv, w);
                    p = arith::ExtSIOp::create(cb, cl, accType, p);
                    acc = arith::AddIOp::create(cb, cl, accs[i], p);
                  } else {
                    if (!cast<VectorType>(xv.getType())
                             .getElementType()
                             .isF32())
                      xv = arith::ExtFOp::create(cb, cl, w.getType(), xv);
                    Value p = arith::MulFOp::create(cb, cl, xv, w);
                    acc = arith::AddFOp::create(cb, cl, accs[i], p);
                  }
                  next.push_back(acc);
                }
                scf::YieldOp::create(cb, cl, next);
              });

          Value alpha = segmentScale(se, shape, packed, scales, row, s);
          SmallVector<Value> nextSums;
          for (int64_t i = 0; i < count; ++i) {
            Value acc = chunks.getResult(i);
            Value term;
            if (shape.int8) {
              // As the reference: float(isum) * alpha, then * xscale.
              acc = arith::ExtSIOp::create(
                  sb, sl, VectorType::get({lanes}, sb.getI32Type()), acc);
              Value isum = vector::ReductionOp::create(
                  sb, sl, vector::CombiningKind::ADD, acc);
              term = arith::SIToFPOp::create(sb, sl, sb.getF32Type(), isum);
              term = arith::MulFOp::create(sb, sl, term, alpha);
              Value xs = tensor::ExtractOp::create(sb, sl, xScales,
                                                   ValueRange{nIdx[i]});
              term = arith::MulFOp::create(sb, sl, term, xs);
            } else {
              Value sum = vector::ReductionOp::create(
                  sb, sl, vector::CombiningKind::ADD, acc);
              term = arith::MulFOp::create(sb, sl, sum, alpha);
            }
            nextSums.push_back(arith::AddFOp::create(sb, sl, sums[i], term));
          }
          scf::YieldOp::create(sb, sl, nextSums);
        });

    // (init + y) + bias in f32, rounded once into the result type.
    for (int64_t i = 0; i < count; ++i) {
      Value init =
          tensor::ExtractOp::create(b, loc, y, ValueRange{nIdx[i], row});
      Value v =
          arith::AddFOp::create(b, loc, e.toF32(init), segments.getResult(i));
      if (bias)
        v = arith::AddFOp::create(
            b, loc, v,
            e.toF32(tensor::ExtractOp::create(b, loc, bias, ValueRange{row})));
      if (v.getType() != init.getType())
        v = arith::TruncFOp::create(b, loc, init.getType(), v);
      y = tensor::InsertOp::create(b, loc, v, y, ValueRange{nIdx[i], row});
    }
    return y;
  }

  int64_t batchBlock;
};

struct ConvertSherryToVectorPass
    : public mlir::sherry::impl::ConvertSherryToVectorBase<
          ConvertSherryToVectorPass> {
  using Base::Base;

  void runOnOperation() override {
    if (batchBlock < 1) {
      getOperation()->emitError()
          << "convert-sherry-to-vector: batch-block must be at least 1, got "
          << int64_t(batchBlock);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateSherryToVectorPatterns(patterns, batchBlock);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::sherry::populateSherryToVectorPatterns(RewritePatternSet &patterns,
                                                  int64_t batchBlock) {
  patterns.add<MatmulToVector>(patterns.getContext(), batchBlock);
}
