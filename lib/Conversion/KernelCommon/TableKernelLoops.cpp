//===- TableKernelLoops.cpp - The table kernel's loop nests ---------------===//
//
// The loops of the activation-table kernel around a TableArithmetic: the
// tables of every activation row built once per call (or once per part),
// then per block of tiles and activation row, per scale segment, per flush
// of the narrow accumulators, per step (16 K elements or a multiple), one
// lookup per tile. Narrow sums widen to i32 before they could overflow;
// segments combine in f32 as matmulInt8 does, lane by lane: the result is
// bit-exact.
//
//===----------------------------------------------------------------------===//

#include "TableKernelLoops.h"

#include "sherry/Conversion/KernelCommon/Emitter.h"
#include "sherry/Dialect/Sherry/IR/SherryConstants.h"
#include "sherry/Dialect/Sherry/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sherry;
using namespace mlir::sherry::table_kernel;

Value table_kernel::buildTables(Emitter &e, const TableArithmetic &arith, Value q,
                  int64_t k) {
  int64_t steps = k / 16;
  Value n = tensor::DimOp::create(e.b, e.loc, q, 0);
  // An allocation, not a tensor.empty: its effects keep loop-invariant code
  // motion from hoisting the tables out of a forall over parts, where each
  // part builds its own copy on its own core.
  auto type = RankedTensorType::get(
      {ShapedType::kDynamic, steps, arith.tableBytes()}, e.b.getI8Type());
  Value empty =
      bufferization::AllocTensorOp::create(e.b, e.loc, type, ValueRange{n});
  auto rows = scf::ForOp::create(
      e.b, e.loc, e.idx(0), n, e.idx(1), ValueRange{empty},
      [&](OpBuilder &rb, Location rl, Value row, ValueRange rowIter) {
        Emitter re{rb, rl};
        auto stepLoop = scf::ForOp::create(
            rb, rl, re.idx(0), re.idx(steps), re.idx(1), rowIter,
            [&](OpBuilder &sb, Location sl, Value s, ValueRange iter) {
              Emitter se{sb, sl};
              Value x16 = arith::ExtSIOp::create(
                  sb, sl, VectorType::get({16}, sb.getI16Type()),
                  se.read(q, {row, se.mul(s, 16)}, 16));
              Value t = iter[0];
              int64_t offset = 0;
              for (Value piece : arith.buildTables(sb, sl, x16)) {
                t = vector::TransferWriteOp::create(
                        sb, sl, piece, t, ValueRange{row, s, se.idx(offset)},
                        ArrayRef<bool>{true})
                        .getResult();
                offset += cast<VectorType>(piece.getType()).getNumElements();
              }
              scf::YieldOp::create(sb, sl, t);
            });
        scf::YieldOp::create(rb, rl, stepLoop.getResults());
      });
  return rows.getResult(0);
}

namespace {

/// The counts of negative groups of the 32 rows of `tile` in segment `seg`,
/// as i32.
Value negativeCounts(Emitter &e, const TableOperands &ops, Value tile,
                     Value seg) {
  auto dwords = VectorType::get({kRows}, e.b.getI32Type());
  int64_t segments = ops.k / ops.segment;
  Value at = e.mul(e.add(e.mul(tile, segments), seg), kRows * ops.countBytes);
  Value bytes = e.read(ops.counts, {at}, kRows * ops.countBytes);
  if (ops.countBytes == 2)
    bytes = vector::BitCastOp::create(
        e.b, e.loc, VectorType::get({kRows}, e.b.getI16Type()), bytes);
  return arith::ExtUIOp::create(e.b, e.loc, dwords, bytes);
}

/// The weight scales of the 32 rows from m0 in segment `s`, as f32.
Value rowScales(Emitter &e, const TableOperands &ops, Value m0, Value s) {
  auto f32x32 = VectorType::get({kRows}, e.b.getF32Type());
  if (ops.blockScales || ops.granularity == ScaleGranularity::Group) {
    // A column of the M x segments scales: 32 scalar reads into a vector.
    // (A strided transfer_read lowers to a loop that inserts one lane at a
    // time through the stack, costing as much as the segment's lookups.)
    // Rows past M read row M - 1; the output write masks them off.
    auto type = cast<RankedTensorType>(ops.scales.getType());
    Value last;
    if (!ops.wholeTiles)
      last = e.add(tensor::DimOp::create(e.b, e.loc, ops.scales, 0),
                    e.idx(-1));
    SmallVector<Value> lanes;
    for (int64_t r = 0; r < kRows; ++r) {
      Value row = e.add(m0, e.idx(r));
      if (!ops.wholeTiles)
        row = arith::MinSIOp::create(e.b, e.loc, row, last);
      lanes.push_back(
          tensor::ExtractOp::create(e.b, e.loc, ops.scales, ValueRange{row, s}));
    }
    return e.toF32(vector::FromElementsOp::create(
        e.b, e.loc, VectorType::get({kRows}, type.getElementType()), lanes));
  }
  if (ops.granularity == ScaleGranularity::Row)
    return e.toF32(e.read(ops.scales, {m0}, kRows, ops.wholeTiles));
  Value one =
      tensor::ExtractOp::create(e.b, e.loc, ops.scales, ValueRange{e.idx(0)});
  return vector::BroadcastOp::create(e.b, e.loc, f32x32, e.toF32(one));
}

/// Output rows of `count` tiles from `tile0` (columns from `col0` of `y`,
/// a slice whose column 0 is row tile0 * 32), for the activation rows
/// `rows`: each step's weights are read and decoded once for all of them
/// (the lookups of every row read the same weight values, which CSE
/// merges), each row looking them up in its own tables.
Value emitTiles(Emitter &e, const TableOperands &ops, Value tile0,
                int64_t count, ArrayRef<Value> rows, Value y) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  const TableArithmetic &arith = *ops.arith;
  auto dwords = VectorType::get({kRows}, b.getI32Type());
  auto floats = VectorType::get({kRows}, b.getF32Type());
  // Steps of `chunks` times 16 K elements.
  int64_t chunks = arith.stepElements() / 16;
  int64_t segSteps = ops.segment / arith.stepElements();
  int64_t rowBytes = (ops.k / 16) * kStepBytes;
  int64_t stepBytes = chunks * kStepBytes;
  int64_t flush = std::max<int64_t>(1, arith.maxStepsPerFlush());
  while (segSteps % flush != 0)
    --flush;
  SmallVector<VectorType> accTypes = arith.accumulatorTypes(b);
  int64_t accs = accTypes.size();
  int64_t nRows = rows.size();
  // Sums, wide and narrow accumulators go row-major: (row r, tile j) is
  // element r * count + j.
  int64_t outs = nRows * count;

  SmallVector<Value> tiles;
  for (int64_t j = 0; j < count; ++j)
    tiles.push_back(e.add(tile0, e.idx(j)));

  SmallVector<Value> zeroSums(outs, e.zeros(floats));
  auto segments = scf::ForOp::create(
      b, loc, e.idx(0), e.idx(ops.k / ops.segment), e.idx(1), zeroSums,
      [&](OpBuilder &sb, Location sl, Value seg, ValueRange sums) {
        Emitter se{sb, sl};
        SmallVector<Value> zero32(outs, se.zeros(dwords));
        auto blocks = scf::ForOp::create(
            sb, sl, se.idx(0), se.idx(segSteps / flush), se.idx(1), zero32,
            [&](OpBuilder &bb, Location bl, Value blk, ValueRange wide) {
              Emitter be{bb, bl};
              Value first =
                  be.add(be.mul(seg, segSteps), be.mul(blk, flush));
              SmallVector<Value> zeroNarrow;
              for (int64_t o = 0; o < outs; ++o)
                for (VectorType type : accTypes)
                  zeroNarrow.push_back(be.zeros(type));
              auto steps = scf::ForOp::create(
                  bb, bl, be.idx(0), be.idx(flush), be.idx(1), zeroNarrow,
                  [&](OpBuilder &tb, Location tl, Value st, ValueRange acc) {
                    Emitter te{tb, tl};
                    Value s = te.add(first, st);
                    int64_t tableBytes = arith.tableBytes();
                    // Whole blocks (count = tile block) interleave their
                    // tiles step by step, single tiles are plain
                    // (format::interleaveForTables): either way step s of
                    // tile j starts (s * count + j) steps after tile0's
                    // first, and a block reads one stream.
                    Value base = te.add(te.mul(tile0, rowBytes),
                                         te.mul(s, count * stepBytes));
                    SmallVector<Value> next;
                    for (int64_t r = 0; r < nRows; ++r) {
                      SmallVector<Value> tables = arith.loadTables(
                          tb, tl, [&](int64_t offset, int64_t length) {
                            assert(offset % tableBytes + length <= tableBytes &&
                                   "a table read crosses 16 K elements");
                            Value chunk = te.add(te.mul(s, chunks),
                                                  te.idx(offset / tableBytes));
                            return te.read(
                                ops.tables,
                                {rows[r], chunk, te.idx(offset % tableBytes)},
                                length);
                          });
                      for (int64_t j = 0; j < count; ++j) {
                        auto weights = [&](int64_t offset, int64_t length) {
                          return te.read(
                              ops.weights,
                              {te.add(base, te.idx(j * stepBytes + offset))},
                              length);
                        };
                        llvm::append_range(
                            next, arith.lookup(
                                      tb, tl, tables, weights,
                                      acc.slice(accs * (r * count + j), accs)));
                      }
                    }
                    scf::YieldOp::create(tb, tl, next);
                  });
              SmallVector<Value> widened;
              for (int64_t o = 0; o < outs; ++o)
                widened.push_back(arith::AddIOp::create(
                    bb, bl, wide[o],
                    arith.widen(bb, bl,
                                steps.getResults().slice(accs * o, accs))));
              scf::YieldOp::create(bb, bl, widened);
            });
        // As the reference, lane by lane: float(isum) * alpha, * xscale.
        SmallVector<Value> next;
        for (int64_t r = 0; r < nRows; ++r) {
          Value xs = vector::BroadcastOp::create(
              sb, sl, floats,
              tensor::ExtractOp::create(sb, sl, ops.xScales,
                                        ValueRange{rows[r]}));
          for (int64_t j = 0; j < count; ++j) {
            Value isum = blocks.getResult(r * count + j);
            if (ops.countBytes)
              isum = arith::AddIOp::create(
                  sb, sl, isum, negativeCounts(se, ops, tiles[j], seg));
            Value term = arith::SIToFPOp::create(sb, sl, floats, isum);
            term = arith::MulFOp::create(
                sb, sl, term,
                rowScales(se, ops, se.mul(tiles[j], kRows), seg));
            term = arith::MulFOp::create(sb, sl, term, xs);
            next.push_back(
                arith::AddFOp::create(sb, sl, sums[r * count + j], term));
          }
        }
        scf::YieldOp::create(sb, sl, next);
      });

  // (init + y) + bias in f32, rounded once; rows past M are masked off
  // (where there are any: !ops.wholeTiles).
  auto yType = cast<RankedTensorType>(y.getType());
  for (int64_t r = 0; r < nRows; ++r)
    for (int64_t j = 0; j < count; ++j) {
      Value col = e.idx(kRows * j);
      Value init = e.read(y, {rows[r], col}, kRows, ops.wholeTiles);
      Value v = arith::AddFOp::create(b, loc, e.toF32(init),
                                      segments.getResult(r * count + j));
      if (ops.bias)
        v = arith::AddFOp::create(
            b, loc, v,
            e.toF32(e.read(ops.bias, {e.mul(tiles[j], kRows)}, kRows,
                           ops.wholeTiles)));
      if (yType.getElementType() != b.getF32Type())
        v = arith::TruncFOp::create(
            b, loc, VectorType::get({kRows}, yType.getElementType()), v);
      y = vector::TransferWriteOp::create(b, loc, v, y,
                                          ValueRange{rows[r], col},
                                          ArrayRef<bool>{ops.wholeTiles})
              .getResult();
    }
  return y;
}

/// The slice of `y` (all activation rows) that holds the columns of tiles
/// [tile0, tile0 + count), not past row M; column 0 of `y` is row
/// `base * 32` (or row 0 without a `base`).
struct ColumnSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};
ColumnSlice blockColumns(Emitter &e, Value tile0, Value base, int64_t count,
                         Value m, Value y) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value col0 = e.mul(tile0, kRows);
  Value width = arith::MinUIOp::create(b, loc, e.idx(count * kRows),
                                       arith::SubIOp::create(b, loc, m, col0));
  Value offset =
      base ? arith::SubIOp::create(b, loc, col0, e.mul(base, kRows)) : col0;
  return {{b.getIndexAttr(0), offset},
          {tensor::DimOp::create(b, loc, y, 0).getResult(), width},
          {b.getIndexAttr(1), b.getIndexAttr(1)}};
}

/// The loop over the activation rows of `slice`, each computing the tiles
/// [tile0, tile0 + count), in passes of the arithmetic's rows per pass
/// (then one row at a time for the rest): the kernel's hot loop nest,
/// marked for sherry-outline-kernel-loops, so that every matmul with the
/// same K, block and arithmetic can share one copy of its code.
Value emitRowLoop(Emitter &e, const TableOperands &ops, Value tile0,
                  int64_t count, Value slice) {
  Value n = tensor::DimOp::create(e.b, e.loc, slice, 0);
  int64_t perPass = std::max<int64_t>(1, ops.rowsPerPass);
  // Rows [from, to) in passes of `rowsPerPass`.
  auto passes = [&](Emitter &le, Value from, Value to, int64_t rowsPerPass,
                    Value y) {
    auto loop = scf::ForOp::create(
        le.b, le.loc, from, to, le.idx(rowsPerPass), ValueRange{y},
        [&](OpBuilder &rb, Location rl, Value row, ValueRange iter) {
          Emitter re{rb, rl};
          SmallVector<Value> rows;
          for (int64_t r = 0; r < rowsPerPass; ++r)
            rows.push_back(re.add(row, re.idx(r)));
          scf::YieldOp::create(rb, rl,
                               emitTiles(re, ops, tile0, count, rows, iter[0]));
        });
    loop->setAttr(kOutlineAttrName, le.b.getUnitAttr());
    return loop.getResult(0);
  };
  if (perPass == 1)
    return passes(e, e.idx(0), n, 1, slice);
  Value whole = arith::SubIOp::create(
      e.b, e.loc, n, arith::RemUIOp::create(e.b, e.loc, n, e.idx(perPass)));
  Value y = passes(e, e.idx(0), whole, perPass, slice);
  return passes(e, whole, n, 1, y);
}

} // namespace

Value table_kernel::emitTileLoop(OpBuilder &b, Location loc, const TableOperands &ops,
                   Value from, Value to, int64_t count, Value m, Value y) {
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{from}, ArrayRef<OpFoldResult>{to},
      ArrayRef<OpFoldResult>{b.getIndexAttr(count)}, ValueRange{y},
      /*mapping=*/std::nullopt,
      [&](OpBuilder &fb, Location fl, ValueRange args) {
        Emitter fe{fb, fl};
        Value tile0 = args[0], shared = args[1];
        ColumnSlice cols = blockColumns(fe, tile0, Value(), count, m, shared);
        Value slice = tensor::ExtractSliceOp::create(
            fb, fl, shared, cols.offsets, cols.sizes, cols.strides);
        Value rows = emitRowLoop(fe, ops, tile0, count, slice);
        auto terminator = scf::InParallelOp::create(fb, fl);
        OpBuilder::InsertionGuard guard(fb);
        fb.setInsertionPointToStart(terminator.getBody());
        tensor::ParallelInsertSliceOp::create(
            fb, fl, rows, shared, cols.offsets, cols.sizes, cols.strides);
      });
  return forall.getResult(0);
}

namespace {

/// Columns of tiles [tile0, tile0 + count) of `y` (not past row M), whose
/// column 0 is row `base * 32`, for every activation row, as an
/// extract_slice / insert_slice pair around the row loop.
Value emitBlockColumns(Emitter &e, const TableOperands &ops, Value tile0,
                       Value base, int64_t count, Value m, Value y) {
  ColumnSlice cols = blockColumns(e, tile0, base, count, m, y);
  Value slice = tensor::ExtractSliceOp::create(e.b, e.loc, y, cols.offsets,
                                               cols.sizes, cols.strides);
  return tensor::InsertSliceOp::create(
      e.b, e.loc, emitRowLoop(e, ops, tile0, count, slice), y, cols.offsets,
      cols.sizes, cols.strides);
}

/// An scf.for over tiles [from, to) in blocks of `count`, in order: the
/// columns of `y`, whose column 0 is row `base * 32`.
Value emitBlockLoop(Emitter &e, const TableOperands &ops, Value from, Value to,
                    int64_t count, Value base, Value m, Value y) {
  return scf::ForOp::create(
             e.b, e.loc, from, to, e.idx(count), ValueRange{y},
             [&](OpBuilder &lb, Location ll, Value tile0, ValueRange iter) {
               Emitter le{lb, ll};
               scf::YieldOp::create(
                   lb, ll,
                   emitBlockColumns(le, ops, tile0, base, count, m, iter[0]));
             })
      .getResult(0);
}

} // namespace

Value table_kernel::emitTilesInOrder(Emitter &e, const TableOperands &ops, Value from,
                       Value blocksEnd, Value to, int64_t tiles, int64_t count,
                       Value base, Value m, Value y) {
  int64_t blockTiles = tiles - tiles % count;
  if (blockTiles > 0)
    y = emitBlockLoop(e, ops, from, blocksEnd, count, base, m, y);
  if (blockTiles < tiles)
    y = emitBlockLoop(e, ops, blocksEnd, to, 1, base, m, y);
  return y;
}

Value table_kernel::emitRowBlocks(
    Emitter &e, TableOperands ops, Value q, Value y,
    function_ref<Value(Emitter &, const TableOperands &, Value)> compute) {
  if (ops.rowBlock == 0) {
    if (!ops.tables)
      ops.tables = buildTables(e, *ops.arith, q, ops.k);
    return compute(e, ops, y);
  }
  Value n = tensor::DimOp::create(e.b, e.loc, q, 0);
  return scf::ForOp::create(
             e.b, e.loc, e.idx(0), n, e.idx(ops.rowBlock), ValueRange{y},
             [&](OpBuilder &rb, Location rl, Value row0, ValueRange iter) {
               Emitter re{rb, rl};
               Value rows = arith::MinUIOp::create(
                   rb, rl, re.idx(ops.rowBlock),
                   arith::SubIOp::create(rb, rl, n, row0));
               OpFoldResult one = rb.getIndexAttr(1), zero = rb.getIndexAttr(0);
               auto rowSlice = [&](Value t) {
                 auto type = cast<RankedTensorType>(t.getType());
                 SmallVector<OpFoldResult> offsets{row0}, sizes{rows},
                     strides{one};
                 for (int64_t d = 1; d < type.getRank(); ++d) {
                   offsets.push_back(zero);
                   sizes.push_back(tensor::getMixedSize(rb, rl, t, d));
                   strides.push_back(one);
                 }
                 return std::make_tuple(offsets, sizes, strides);
               };
               auto slice = [&](Value t) {
                 auto [offsets, sizes, strides] = rowSlice(t);
                 return tensor::ExtractSliceOp::create(rb, rl, t, offsets,
                                                       sizes, strides)
                     .getResult();
               };
               TableOperands block = ops;
               block.tables = buildTables(re, *ops.arith, slice(q), ops.k);
               block.xScales = slice(ops.xScales);
               auto [offsets, sizes, strides] = rowSlice(iter[0]);
               Value rowsIn = tensor::ExtractSliceOp::create(
                   rb, rl, iter[0], offsets, sizes, strides);
               scf::YieldOp::create(rb, rl,
                                    tensor::InsertSliceOp::create(
                                        rb, rl, compute(re, block, rowsIn),
                                        iter[0], offsets, sizes, strides)
                                        .getResult());
             })
      .getResult(0);
}

Value table_kernel::constantBytes(OpBuilder &b, Location loc, RankedTensorType type,
                    ArrayRef<int8_t> data, StringRef name) {
  return arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(makeInt8Elements(type, data, name)));
}
