//===- MicroKernel.cpp - The sherry.matmul micro-kernel skeleton ----------===//
//
// Builds, on tensors, the loops every target's sherry.matmul kernel shares:
// output rows, blocks of activation rows that share each decoded chunk,
// scale segments in K order, and chunks inside a segment. The chunk
// arithmetic comes from a ChunkArithmetic.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/KernelCommon/MicroKernel.h"

#include "sherry/Conversion/KernelCommon/Emitter.h"
#include "sherry/Conversion/KernelCommon/Regroup.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sherry;

ChunkArithmetic::~ChunkArithmetic() = default;

FailureOr<KernelShape> KernelShape::get(MatmulOp op, std::string &reason) {
  KernelShape shape;
  shape.k = op.getK();
  if (ShapedType::isDynamic(shape.k)) {
    reason = "K must be static";
    return failure();
  }
  LayoutAttr layout = op.getLayout();
  // The tables layout is the table kernels' (and the linalg reference's).
  if (layout.isTables()) {
    reason = "the tables layout is read by the table kernels";
    return failure();
  }
  shape.format = layout.getFormat();
  shape.granularity = layout.getGranularity();
  shape.int8 = op.getMode() == ActivationMode::Int8;
  shape.segment = layout.getScaleRegionLength(shape.k);
  // Chunks are whole sign bytes (8 groups) and never cross a segment.
  if (shape.segment % 64 == 0) {
    shape.chunk = 64;
  } else if (shape.segment % 32 == 0) {
    shape.chunk = 32;
  } else {
    reason = "scale groups are not a multiple of 32 elements";
    return failure();
  }
  return shape;
}

namespace {

/// Column offsets in a packed row: of a chunk's slot bytes, then of its sign
/// bytes.
using ChunkColumns = std::pair<Value, Value>;

/// Where the slot and sign bytes of the chunk starting at element `k0` of a
/// row lie.
ChunkColumns chunkColumns(Emitter &e, const KernelShape &shape, Value k0) {
  if (shape.format == PackedFormat::Sherry) {
    // K/8 slot bytes then K/32 sign bytes; group k0/4 starts the chunk.
    return {e.div(k0, 8), e.add(e.idx(shape.k / 8), e.div(k0, 32))};
  }
  // 42-byte blocks of 256 elements; the c-th 64 elements (16 groups) of a
  // block have slot bytes 8c.. and sign bytes 32 + 2c (so a chunk of 128
  // reads two of them in a row).
  Value base = e.mul(e.div(k0, 256), 42);
  Value c = e.div(arith::RemUIOp::create(e.b, e.loc, k0, e.idx(256)), 64);
  return {e.add(base, e.mul(c, 8)),
          e.add(base, e.add(e.idx(32), e.mul(c, 2)))};
}

/// The weight scale of segment `s` of row `m`, as f32.
Value segmentScale(Emitter &e, const KernelShape &shape, Value packed,
                   Value scales, Value m, Value s) {
  if (shape.format == PackedFormat::Stq1_0) {
    // The block's f16 scale, little endian in bytes 40 and 41, read as two
    // scalars (a 2-byte vector load trips AArch64 instruction selection at
    // -O0).
    Type i16 = e.b.getI16Type();
    Value col = e.add(e.mul(s, 42), e.idx(40));
    Value lo =
        arith::ExtUIOp::create(e.b, e.loc, i16, e.extract(packed, {m, col}));
    Value hi = arith::ExtUIOp::create(
        e.b, e.loc, i16, e.extract(packed, {m, e.add(col, e.idx(1))}));
    Value bits = arith::OrIOp::create(
        e.b, e.loc, lo,
        arith::ShLIOp::create(
            e.b, e.loc, hi, arith::ConstantIntOp::create(e.b, e.loc, i16, 8)));
    return e.toF32(
        arith::BitcastOp::create(e.b, e.loc, e.b.getF16Type(), bits));
  }
  switch (shape.granularity) {
  case ScaleGranularity::Tensor:
    return e.toF32(e.extract(scales, {e.idx(0)}));
  case ScaleGranularity::Row:
    return e.toF32(e.extract(scales, {m}));
  case ScaleGranularity::Group:
    return e.toF32(e.extract(scales, {m, s}));
  }
  llvm_unreachable("unknown scale granularity");
}

/// The i32 sum of each segment of each row of int8 activations q: N x
/// (K / segment).
Value segmentSums(OpBuilder &b, Location loc, Value q, int64_t segment) {
  auto type = cast<RankedTensorType>(q.getType());
  int64_t k = type.getDimSize(1), n = type.getDimSize(0);
  auto split =
      RankedTensorType::get({n, k / segment, segment}, type.getElementType());
  Value expanded = tensor::ExpandShapeOp::create(
      b, loc, split, q, SmallVector<ReassociationIndices>{{0}, {1, 2}});
  SmallVector<OpFoldResult> sizes{tensor::getMixedSize(b, loc, q, 0),
                                  b.getIndexAttr(k / segment)};
  Value empty = tensor::EmptyOp::create(b, loc, sizes, b.getI32Type());
  Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  Value init = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
  MLIRContext *ctx = b.getContext();
  AffineExpr d0, d1, d2;
  bindDims(ctx, d0, d1, d2);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{expanded},
             ValueRange{init},
             ArrayRef<AffineMap>{AffineMap::get(3, 0, {d0, d1, d2}, ctx),
                                 AffineMap::get(3, 0, {d0, d1}, ctx)},
             ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                           utils::IteratorType::parallel,
                                           utils::IteratorType::reduction},
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value v =
                   arith::ExtSIOp::create(nb, nl, nb.getI32Type(), args[0]);
               linalg::YieldOp::create(
                   nb, nl,
                   ValueRange{arith::AddIOp::create(nb, nl, args[1], v)});
             })
      .getResult(0);
}

/// The values every row block of the kernel reads.
struct KernelOperands {
  Value x;       ///< activations (int8 in int8 mode), group-major
  Value xScales; ///< int8 mode: N activation scales
  Value xSums;   ///< offset weights: N x segments activation sums
  Value packed, scales, bias;
};

/// The weights of the chunk at `columns` of row `m`, as `arithmetic`
/// decodes them.
Value decodeChunk(Emitter &e, const KernelShape &shape,
                  const ChunkArithmetic &arithmetic, const KernelOperands &ops,
                  Value m, const ChunkColumns &columns) {
  return arithmetic.decode(
      e.b, e.loc, shape, e.read(ops.packed, m, columns.first, shape.chunk / 8),
      e.read(ops.packed, m, columns.second, shape.chunk / 32));
}

/// Computes output rows m0 .. m0 + rowCount - 1 for activation rows n0 ..
/// n0 + count - 1 and inserts them into `y` (which holds the accumulator
/// `init`); returns the updated tensor. Every (row, activation row) pair has
/// an accumulator of its own: independent dependency chains, and each
/// decoded chunk and each activation chunk is read once per block.
Value emitBlock(Emitter &e, const KernelShape &shape,
                const ChunkArithmetic &arithmetic, const KernelOperands &ops,
                Value m0, int64_t rowCount, Value n0, int64_t count, Value y,
                Value panel) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  VectorType accType = arithmetic.accumulatorType(b, shape);
  SmallVector<Value> mIdx, nIdx;
  for (int64_t r = 0; r < rowCount; ++r)
    mIdx.push_back(e.add(m0, e.idx(r)));
  for (int64_t i = 0; i < count; ++i)
    nIdx.push_back(e.add(n0, e.idx(i)));
  int64_t pairs = rowCount * count;

  SmallVector<Value> zeroSums(pairs, e.f32(0.0f));
  auto segments = scf::ForOp::create(
      b, loc, e.idx(0), e.idx(shape.k / shape.segment), e.idx(1), zeroSums,
      [&](OpBuilder &sb, Location sl, Value s, ValueRange sums) {
        Emitter se(sb, sl);
        Value k0 = se.mul(s, shape.segment);
        Value zeroAcc =
            arith::ConstantOp::create(sb, sl, sb.getZeroAttr(accType));
        SmallVector<Value> zeroAccs(pairs, zeroAcc);
        auto chunks = scf::ForOp::create(
            sb, sl, se.idx(0), se.idx(shape.segment / shape.chunk), se.idx(1),
            zeroAccs,
            [&](OpBuilder &cb, Location cl, Value c, ValueRange accs) {
              Emitter ce(cb, cl);
              Value kc = ce.add(k0, ce.mul(c, shape.chunk));
              std::optional<ChunkColumns> columns;
              if (!panel)
                columns = chunkColumns(ce, shape, kc);
              SmallVector<Value> xs;
              for (int64_t i = 0; i < count; ++i)
                xs.push_back(ce.read(ops.x, nIdx[i], kc, shape.chunk));
              SmallVector<Value> next;
              for (int64_t r = 0; r < rowCount; ++r) {
                Value w = panel ? ce.read(panel, ce.idx(r), kc, shape.chunk)
                                : decodeChunk(ce, shape, arithmetic, ops,
                                              mIdx[r], *columns);
                for (int64_t i = 0; i < count; ++i)
                  next.push_back(arithmetic.accumulate(
                      cb, cl, shape, accs[r * count + i], xs[i], w));
              }
              scf::YieldOp::create(cb, cl, next);
            });

        SmallVector<Value> nextSums;
        for (int64_t r = 0; r < rowCount; ++r) {
          Value alpha =
              segmentScale(se, shape, ops.packed, ops.scales, mIdx[r], s);
          for (int64_t i = 0; i < count; ++i) {
            int64_t pair = r * count + i;
            Value sum =
                arithmetic.reduce(sb, sl, shape, chunks.getResult(pair));
            Value term;
            if (shape.int8) {
              if (ops.xSums)
                sum = arith::SubIOp::create(
                    sb, sl, sum, se.extract(ops.xSums, {nIdx[i], s}));
              // As the reference: float(isum) * alpha, then * xscale.
              term = arith::SIToFPOp::create(sb, sl, sb.getF32Type(), sum);
              term = arith::MulFOp::create(sb, sl, term, alpha);
              term = arith::MulFOp::create(sb, sl, term,
                                           se.extract(ops.xScales, {nIdx[i]}));
            } else {
              term = arith::MulFOp::create(sb, sl, sum, alpha);
            }
            nextSums.push_back(arith::AddFOp::create(sb, sl, sums[pair], term));
          }
        }
        scf::YieldOp::create(sb, sl, nextSums);
      });

  // (init + y) + bias in f32, rounded once into the result type.
  for (int64_t r = 0; r < rowCount; ++r) {
    Value bias;
    if (ops.bias)
      bias = e.toF32(e.extract(ops.bias, {mIdx[r]}));
    for (int64_t i = 0; i < count; ++i) {
      Value init = e.extract(y, {nIdx[i], mIdx[r]});
      Value v = arith::AddFOp::create(b, loc, e.toF32(init),
                                      segments.getResult(r * count + i));
      if (bias)
        v = arith::AddFOp::create(b, loc, v, bias);
      if (v.getType() != init.getType())
        v = arith::TruncFOp::create(b, loc, init.getType(), v);
      y = tensor::InsertOp::create(b, loc, v, y, ValueRange{nIdx[i], mIdx[r]});
    }
  }
  return y;
}

/// Rows m0 .. m0 + rowCount - 1 of the weights decoded once, as a
/// rowCount x K tensor of the arithmetic's weight bytes, for blocks of
/// activation rows to read instead of decoding each chunk again.
Value decodePanel(Emitter &e, const KernelShape &shape,
                  const ChunkArithmetic &arithmetic, const KernelOperands &ops,
                  Value m0, int64_t rowCount) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value empty =
      tensor::EmptyOp::create(b, loc, {rowCount, shape.k}, b.getI8Type());
  return scf::ForOp::create(
             b, loc, e.idx(0), e.idx(shape.k / shape.chunk), e.idx(1),
             ValueRange{empty},
             [&](OpBuilder &cb, Location cl, Value c, ValueRange iter) {
               Emitter ce(cb, cl);
               Value kc = ce.mul(c, shape.chunk);
               ChunkColumns columns = chunkColumns(ce, shape, kc);
               Value panel = iter[0];
               for (int64_t r = 0; r < rowCount; ++r) {
                 Value w = decodeChunk(ce, shape, arithmetic, ops,
                                       ce.add(m0, ce.idx(r)), columns);
                 panel = vector::TransferWriteOp::create(
                             cb, cl, w, panel, ValueRange{ce.idx(r), kc},
                             ArrayRef<bool>{true})
                             .getResult();
               }
               scf::YieldOp::create(cb, cl, panel);
             })
      .getResult(0);
}

/// Loops `[from, to)` in steps of `step`, threading `y` through `body(i)`.
template <typename BodyFn>
Value loop(OpBuilder &b, Location loc, Value from, Value to, int64_t step,
           Value y, BodyFn body) {
  Value stepValue = arith::ConstantIndexOp::create(b, loc, step);
  return scf::ForOp::create(
             b, loc, from, to, stepValue, ValueRange{y},
             [&](OpBuilder &lb, Location ll, Value i, ValueRange iter) {
               Emitter le(lb, ll);
               scf::YieldOp::create(lb, ll, body(le, i, iter[0]));
             })
      .getResult(0);
}

/// The largest multiple of `block` not above `size`.
Value roundDown(Emitter &e, Value size, int64_t block) {
  return arith::SubIOp::create(
      e.b, e.loc, size, arith::RemUIOp::create(e.b, e.loc, size, e.idx(block)));
}

using BlockBody = llvm::function_ref<Value(Emitter &, Value, int64_t, Value)>;

/// Emits the body for `[from, to)` in blocks of `block` elements, then the
/// rest in blocks of the powers of two below `block`, largest first (each
/// of those runs at most once). `body` gets the block's start and size.
Value blockedLoop(Emitter &e, Value from, Value to, int64_t block, Value y,
                  BlockBody body) {
  SmallVector<int64_t> sizes = {block};
  for (int64_t size = llvm::PowerOf2Ceil(block) / 2; size >= 1; size /= 2)
    if (size < block)
      sizes.push_back(size);
  // With static bounds, only the sizes that run are emitted.
  std::optional<int64_t> staticFrom = getConstantIntValue(from);
  std::optional<int64_t> staticTo = getConstantIntValue(to);
  std::optional<int64_t> left;
  if (staticFrom && staticTo)
    left = *staticTo - *staticFrom;
  Value lo = from;
  for (int64_t size : sizes) {
    if (left) {
      if (*left < size)
        continue;
      *left %= size;
    }
    Value count = arith::SubIOp::create(e.b, e.loc, to, lo);
    Value hi = arith::AddIOp::create(e.b, e.loc, lo, roundDown(e, count, size));
    y = loop(e.b, e.loc, lo, hi, size, y, [&](Emitter &le, Value i, Value iy) {
      return body(le, i, size, iy);
    });
    lo = hi;
  }
  return y;
}

} // namespace

LogicalResult
mlir::sherry::lowerMatmulToMicroKernel(MatmulOp op, PatternRewriter &rewriter,
                                       const ChunkArithmetic &arithmetic,
                                       const MicroKernelBlocks &blocks) {
  if (op.getResult().empty())
    return rewriter.notifyMatchFailure(op, "lowered on tensors only");
  std::string reason;
  FailureOr<KernelShape> shape = KernelShape::get(op, reason);
  if (failed(shape))
    return rewriter.notifyMatchFailure(op, reason);
  if (!arithmetic.supports(*shape))
    return rewriter.notifyMatchFailure(op, "not supported by the arithmetic");
  int64_t chunk = arithmetic.chunkSize(*shape);
  if (chunk % shape->chunk != 0 || shape->segment % chunk != 0)
    return rewriter.notifyMatchFailure(op, "chunks must tile the segments");
  shape->chunk = chunk;
  if (arithmetic.lanesMajor(*shape) && shape->chunk % 64 != 0)
    return rewriter.notifyMatchFailure(op, "lane-major chunks hold 64");

  Location loc = op.getLoc();
  Emitter e(rewriter, loc);
  KernelOperands ops;
  ops.x = op.getInput();
  ops.packed = op.getWeights();
  ops.scales = op.getScales();
  ops.bias = op.getBias();
  if (shape->int8) {
    auto xType = cast<RankedTensorType>(ops.x.getType());
    auto quant = QuantizeActivationsOp::create(
        rewriter, loc,
        RankedTensorType::get(xType.getShape(), rewriter.getI8Type()),
        RankedTensorType::get({xType.getDimSize(0)}, rewriter.getF32Type()),
        ops.x, 0);
    ops.x = quant.getValues();
    ops.xScales = quant.getScales();
    if (arithmetic.offsetsWeights(*shape))
      ops.xSums = segmentSums(rewriter, loc, ops.x, shape->segment);
  }
  // stq1_0 chunks hold their activations lane-major, sherry ones
  // group-major: regroup where the arithmetic wants the other order.
  bool lanesMajor = arithmetic.lanesMajor(*shape);
  if ((shape->format == PackedFormat::Stq1_0) != lanesMajor)
    ops.x = regroupStq1_0(rewriter, loc, ops.x, /*toGroupMajor=*/!lanesMajor);

  // Static sizes as constants, so that blockedLoop drops blocks that
  // cannot run.
  Value n = getValueOrCreateConstantIndexOp(
      rewriter, loc, tensor::getMixedSize(rewriter, loc, ops.x, 0));
  Value m = getValueOrCreateConstantIndexOp(
      rewriter, loc, tensor::getMixedSize(rewriter, loc, ops.packed, 0));
  // Output rows go in blocks of `rowBlock`, activation rows in blocks of
  // `batchBlock` (each pair of blocks shares its decoded chunks and
  // activation reads); the rest go in smaller blocks, so that N below the
  // batch block still shares its chunks.
  // Where N is static and at least panelMinBatch, each block of rows is
  // decoded once into a panel that every block of activation rows reads.
  std::optional<int64_t> staticN = getConstantIntValue(n);
  bool panels = blocks.panelMinBatch > 0 && staticN &&
                *staticN >= blocks.panelMinBatch;
  int64_t rowBlock = panels ? blocks.panelRows : blocks.rows;
  int64_t batchBlock = panels ? blocks.panelBatch : blocks.batch;
  Value y = blockedLoop(
      e, e.idx(0), m, rowBlock, op.getInit(),
      [&](Emitter &re, Value m0, int64_t rowCount, Value ry) {
        Value panel =
            panels ? decodePanel(re, *shape, arithmetic, ops, m0, rowCount)
                   : Value();
        return blockedLoop(
            re, re.idx(0), n, batchBlock, ry,
            [&](Emitter &be, Value n0, int64_t batchCount, Value by) {
              return emitBlock(be, *shape, arithmetic, ops, m0, rowCount, n0,
                               batchCount, by, panel);
            });
      });
  rewriter.replaceOp(op, y);
  return success();
}
