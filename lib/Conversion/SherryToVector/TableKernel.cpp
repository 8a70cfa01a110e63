//===- TableKernel.cpp - The activation-table kernel skeleton -------------===//
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

#include "sherry/Conversion/SherryToVector/TableKernel.h"

#include "sherry/Conversion/SherryToVector/MicroKernel.h"

#include "sherry/Conversion/SherryToLinalg/SherryToLinalg.h"

#include "sherry/Dialect/Sherry/IR/SherryConstants.h"
#include "sherry/Dialect/Sherry/Transforms/Passes.h"
#include "sherry/Dialect/Sherry/Transforms/SiblingMatmuls.h"
#include "sherry/Format/Format.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

namespace {

constexpr int64_t kRows = format::kTableTileRows; // 32
constexpr int64_t kStepBytes = format::kTableStepBytes;

/// Small builders over one insertion point.
struct Emitter {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value addi(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value muli(Value x, int64_t c) {
    return arith::MulIOp::create(b, loc, x, idx(c));
  }
  Value bytes(ArrayRef<int8_t> values) {
    auto type = VectorType::get({int64_t(values.size())}, b.getI8Type());
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, values));
  }
  Value splat(VectorType type, Attribute value) {
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, value));
  }
  Value zeros(Type type) {
    return arith::ConstantOp::create(b, loc, b.getZeroAttr(type));
  }
  Value toF32(Value v) {
    Type f32 = b.getF32Type();
    if (auto vt = dyn_cast<VectorType>(v.getType()))
      return vt.getElementType().isF32()
                 ? v
                 : arith::ExtFOp::create(b, loc, vt.clone(f32), v).getResult();
    return v.getType().isF32()
               ? v
               : arith::ExtFOp::create(b, loc, f32, v).getResult();
  }
  /// `len` elements of `t` from `indices` along its last dimension (or
  /// along `dim`), padded with zeros past the end.
  Value read(Value t, ValueRange indices, int64_t len, bool inBounds = true,
             std::optional<unsigned> dim = std::nullopt) {
    auto type = cast<ShapedType>(t.getType());
    Value pad = zeros(type.getElementType());
    unsigned d = dim ? *dim : type.getRank() - 1;
    AffineMap map = AffineMap::get(type.getRank(), 0, b.getAffineDimExpr(d),
                                   b.getContext());
    return vector::TransferReadOp::create(
        b, loc, VectorType::get({len}, type.getElementType()), t, indices,
        AffineMapAttr::get(map), pad, Value(), b.getBoolArrayAttr({inBounds}));
  }
};

/// For each activation row n and step s (16 elements, groups 4s..4s+3),
/// the arithmetic's table bytes. `q` is N x K int8.
Value buildTables(Emitter &e, const TableArithmetic &arith, Value q,
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
                  se.read(q, {row, se.muli(s, 16)}, 16));
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

/// What the tile loops read.
struct TableOperands {
  const TableArithmetic *arith;
  Value tables;  ///< N x steps x tableBytes i8
  Value xScales; ///< N f32
  /// The tables layout's bytes (docs/format.md, section 3.3): tiles *
  /// steps * 80 i8 of codes, whole blocks of tileBlock tiles interleaved
  /// step by step, then for complementsNegatives() the counts of negative
  /// groups, tiles x segments x 32 of `countBytes` each.
  Value weights;
  /// The counts of negative groups: a slice of `weights`, so that loops of
  /// matmuls that differ only in M read them at the same (zero) offset and
  /// outline to one function.
  Value counts;
  Value scales; ///< as the op takes them, or M x K/256 f32 for stq1_0
  Value bias;   ///< M, or null
  int64_t countBytes = 0;
  int64_t k, segment;
  int64_t rowBlock; ///< activation rows per table build (0: all at once)
  /// Activation rows whose lookups share each step's decoded weights.
  int64_t rowsPerPass = 1;
  ScaleGranularity granularity;
  bool blockScales; ///< scales are per 256-block (stq1_0, converted)
  /// M is a multiple of 32: every row of every tile exists, so the reads
  /// and writes of a tile's 32 rows need no mask (which AArch64 scalarizes).
  bool wholeTiles = false;
};

/// The counts of negative groups of the 32 rows of `tile` in segment `seg`,
/// as i32.
Value negativeCounts(Emitter &e, const TableOperands &ops, Value tile,
                     Value seg) {
  auto dwords = VectorType::get({kRows}, e.b.getI32Type());
  int64_t segments = ops.k / ops.segment;
  Value at = e.muli(e.addi(e.muli(tile, segments), seg), kRows * ops.countBytes);
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
      last = e.addi(tensor::DimOp::create(e.b, e.loc, ops.scales, 0),
                    e.idx(-1));
    SmallVector<Value> lanes;
    for (int64_t r = 0; r < kRows; ++r) {
      Value row = e.addi(m0, e.idx(r));
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
    tiles.push_back(e.addi(tile0, e.idx(j)));

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
                  be.addi(be.muli(seg, segSteps), be.muli(blk, flush));
              SmallVector<Value> zeroNarrow;
              for (int64_t o = 0; o < outs; ++o)
                for (VectorType type : accTypes)
                  zeroNarrow.push_back(be.zeros(type));
              auto steps = scf::ForOp::create(
                  bb, bl, be.idx(0), be.idx(flush), be.idx(1), zeroNarrow,
                  [&](OpBuilder &tb, Location tl, Value st, ValueRange acc) {
                    Emitter te{tb, tl};
                    Value s = te.addi(first, st);
                    int64_t tableBytes = arith.tableBytes();
                    // Whole blocks (count = tile block) interleave their
                    // tiles step by step, single tiles are plain
                    // (format::interleaveForTables): either way step s of
                    // tile j starts (s * count + j) steps after tile0's
                    // first, and a block reads one stream.
                    Value base = te.addi(te.muli(tile0, rowBytes),
                                         te.muli(s, count * stepBytes));
                    SmallVector<Value> next;
                    for (int64_t r = 0; r < nRows; ++r) {
                      SmallVector<Value> tables = arith.loadTables(
                          tb, tl, [&](int64_t offset, int64_t length) {
                            assert(offset % tableBytes + length <= tableBytes &&
                                   "a table read crosses 16 K elements");
                            Value chunk = te.addi(te.muli(s, chunks),
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
                              {te.addi(base, te.idx(j * stepBytes + offset))},
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
                rowScales(se, ops, se.muli(tiles[j], kRows), seg));
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
            e.toF32(e.read(ops.bias, {e.muli(tiles[j], kRows)}, kRows,
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
  Value col0 = e.muli(tile0, kRows);
  Value width = arith::MinUIOp::create(b, loc, e.idx(count * kRows),
                                       arith::SubIOp::create(b, loc, m, col0));
  Value offset =
      base ? arith::SubIOp::create(b, loc, col0, e.muli(base, kRows)) : col0;
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
            rows.push_back(re.addi(row, re.idx(r)));
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

/// An scf.forall over tiles [from, to) in blocks of `count`, each block
/// computing its columns of `y` for every activation row.
Value emitTileLoop(OpBuilder &b, Location loc, const TableOperands &ops,
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

/// Tiles [from, to) in order: whole blocks of `count` up to `blocksEnd`,
/// single tiles after it. Of the matmul's `tiles`, whether any fill a block
/// and whether any are left over decides statically which loops there are.
Value emitTilesInOrder(Emitter &e, const TableOperands &ops, Value from,
                       Value blocksEnd, Value to, int64_t tiles, int64_t count,
                       Value base, Value m, Value y) {
  int64_t blockTiles = tiles - tiles % count;
  if (blockTiles > 0)
    y = emitBlockLoop(e, ops, from, blocksEnd, count, base, m, y);
  if (blockTiles < tiles)
    y = emitBlockLoop(e, ops, blocksEnd, to, 1, base, m, y);
  return y;
}

/// The columns of `y` that `compute` fills from tables of the int8
/// activations `q`: built for every activation row at once (unless
/// `ops.tables` already holds them) or, with
/// `ops.rowBlock`, for blocks of that many rows in turn (slices of `q`, the
/// activation scales and `y`), so that the tables a pass over the tiles
/// reads stay in the cache of the core that built them.
Value emitRowBlocks(
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

/// A constant holding `data` in `type`.
Value constantBytes(OpBuilder &b, Location loc, RankedTensorType type,
                    ArrayRef<int8_t> data, StringRef name) {
  return arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(makeInt8Elements(type, data, name)));
}

} // namespace

namespace {

/// What the kernel needs of one matmul, worked out at compile time before
/// any IR is made: a matmul that fails here leaves the IR as it was.
struct PreparedMatmul {
  mutable MatmulOp op; ///< op handles are values; getters are not const
  int64_t m, k, tiles, tileBlock, segment;
  ScaleGranularity granularity;
  /// Constant stq1_0 weights: their block scales become an M x K/256 f32
  /// constant.
  bool blockScales = false;
  /// The stq1_0 grouping: the activations go in group order.
  bool regroup = false;
  /// Constant canonical weights: their tables layout, made at compile
  /// time. Empty for weights already in the tables layout, read as they
  /// are (constant or not).
  std::vector<uint8_t> tables;
  std::vector<float> blockScaleValues; ///< M x K/256, stq1_0
  /// Bytes of each count of negative groups (complementsNegatives()), or 0.
  int64_t countBytes = 0;
};

/// The order in which `arithmetic` reads its weights, as the layout
/// attribute names it.
TableOrder attributeOrder(const TableArithmetic &arithmetic) {
  switch (arithmetic.order()) {
  case format::TableOrder::GroupPairs:
    return TableOrder::Pairs;
  case format::TableOrder::Lanes:
    return TableOrder::Lanes;
  case format::TableOrder::WordFields:
    break;
  }
  return TableOrder::Words;
}

FailureOr<PreparedMatmul> prepareMatmul(MatmulOp op, RewriterBase &rewriter,
                                        const TableArithmetic &arithmetic,
                                        const TableKernelOptions &options) {
  if (op.getResult().empty() || op.getMode() != ActivationMode::Int8)
    return rewriter.notifyMatchFailure(op, "int8 mode on tensors only");
  PreparedMatmul p;
  p.op = op;
  p.k = op.getK();
  p.m = op.getM();
  if (ShapedType::isDynamic(p.k) || ShapedType::isDynamic(p.m))
    return rewriter.notifyMatchFailure(op, "M and K must be static");
  LayoutAttr layout = op.getLayout();
  p.granularity = layout.getGranularity();
  p.regroup = layout.hasStq1_0Grouping();
  p.segment = layout.getScaleRegionLength(p.k);
  p.tiles = (p.m + kRows - 1) / kRows;
  if (p.segment % arithmetic.stepElements() != 0)
    return rewriter.notifyMatchFailure(
        op, "scale segments are no multiple of the lookup's steps");
  if (arithmetic.complementsNegatives()) {
    assert(arithmetic.order() == format::TableOrder::Lanes &&
           "the tables layout keeps counts in the lanes order only");
    p.countBytes = format::tableCountBytes(p.segment);
  }

  // Weights in the tables layout, run-time ones included: read as they
  // are, by the lookup of their order, in their blocks of tiles.
  if (layout.isTables()) {
    if (layout.getTableOrder() != attributeOrder(arithmetic))
      return rewriter.notifyMatchFailure(op, "the weights' table order is "
                                             "not this lookup's");
    p.tileBlock = layout.getTileBlock();
    return p;
  }

  Attribute bytesAttr;
  if (!matchPattern(op.getWeights(), m_Constant(&bytesAttr)))
    return rewriter.notifyMatchFailure(
        op, "weights are neither a constant nor in the tables layout");
  std::optional<std::vector<int8_t>> bytes = getElementsAsInt8(bytesAttr);
  if (!bytes)
    return rewriter.notifyMatchFailure(op, "unreadable weight constant");

  // Constant weights take the tables layout at compile time, through the
  // format library: the codes regrouped, the counts (which follow the
  // scale regions, not the scales' values) and stq1_0's block scales.
  format::PackedWeights packed;
  packed.layout = toFormatLayout(layout);
  packed.rows = p.m;
  packed.cols = p.k;
  packed.data.assign(bytes->begin(), bytes->end());
  packed.scaleSpec = toScaleSpec(layout);
  p.blockScales = layout.getFormat() == PackedFormat::Stq1_0;
  if (!p.blockScales)
    packed.scales.assign(format::numScales(packed.scaleSpec, p.m, p.k), 1.0f);
  p.tileBlock =
      options.tileBlock > 0 ? options.tileBlock : arithmetic.defaultTileBlock();
  format::Result<format::PackedWeights> tables =
      format::toTables(packed, {arithmetic.order(), p.tileBlock});
  if (!tables.ok())
    return rewriter.notifyMatchFailure(op, tables.getStatus().message());
  p.tables = std::move(tables->data);
  if (p.blockScales)
    p.blockScaleValues = std::move(tables->scales);
  return p;
}

/// The constants and operands of a prepared matmul, created at the
/// rewriter's insertion point; tables and activation scales come later.
TableOperands materializeMatmul(const PreparedMatmul &p, RewriterBase &rewriter,
                                const TableArithmetic &arithmetic) {
  Location loc = p.op.getLoc();
  TableOperands ops;
  ops.arith = &arithmetic;
  ops.k = p.k;
  ops.granularity = p.granularity;
  ops.blockScales = p.blockScales;
  ops.wholeTiles = p.m % kRows == 0;
  ops.segment = p.segment;
  ops.countBytes = p.countBytes;
  int64_t n = p.op.getN(), perPass = arithmetic.rowsPerPass();
  ops.rowsPerPass = !ShapedType::isDynamic(n) && n < perPass ? 1 : perPass;
  ops.weights = p.op.getWeights();
  if (!p.tables.empty()) {
    auto weightsType = RankedTensorType::get({int64_t(p.tables.size())},
                                             rewriter.getI8Type());
    ops.weights = constantBytes(
        rewriter, loc, weightsType,
        ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(p.tables.data()),
                         p.tables.size()),
        "sherry_tables");
  }
  ops.scales = p.op.getScales();
  if (p.blockScales) {
    auto scalesType =
        RankedTensorType::get({p.m, p.k / 256}, rewriter.getF32Type());
    ops.scales = arith::ConstantOp::create(
        rewriter, loc,
        cast<TypedAttr>(makeFloatElements(scalesType, p.blockScaleValues,
                                          "sherry_block_scales")));
  }
  ops.bias = p.op.getBias();
  if (ops.countBytes) {
    int64_t countsOffset = p.tiles * (p.k / 16) * kStepBytes;
    int64_t size = p.tiles * (p.k / p.segment) * kRows * ops.countBytes;
    ops.counts = tensor::ExtractSliceOp::create(
        rewriter, loc, ops.weights,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(countsOffset)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(size)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
  }
  return ops;
}

/// The int8 activations of `op` (in group order for the stq1_0 grouping)
/// and their scales.
std::pair<Value, Value> quantizeInput(RewriterBase &rewriter, MatmulOp op,
                                      bool regroup) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto xType = cast<RankedTensorType>(x.getType());
  auto quant = QuantizeActivationsOp::create(
      rewriter, loc,
      RankedTensorType::get(xType.getShape(), rewriter.getI8Type()),
      RankedTensorType::get({xType.getDimSize(0)}, rewriter.getF32Type()), x,
      0);
  Value q = quant.getValues();
  if (regroup)
    q = regroupStq1_0(rewriter, loc, q, /*toGroupMajor=*/true);
  return {q, quant.getScales()};
}

/// Activation rows per table build (0: every row at once), from the bytes
/// options.tableBytes allows.
int64_t rowBlockOf(const TableArithmetic &arithmetic,
                   const TableKernelOptions &options, int64_t k, int64_t n) {
  int64_t rowTableBytes = (k / 16) * arithmetic.tableBytes();
  int64_t rowBlock =
      options.tableBytes > 0
          ? std::max<int64_t>(1, options.tableBytes / rowTableBytes)
          : 0;
  if (!ShapedType::isDynamic(n) && n <= rowBlock)
    rowBlock = 0;
  return rowBlock;
}

/// The work partsFor weighs: the weights of `tiles` tiles of K elements
/// (padded rows included), times N where it is static, times what a weight
/// costs `arith` against the AVX-512 kernels.
int64_t partWork(const TableArithmetic &arith, int64_t tiles, int64_t k,
                 int64_t n) {
  return tiles * kRows * k * (ShapedType::isDynamic(n) ? 1 : n) *
         arith.relativeWeightCost();
}

/// Parts for `work` weights (times the static N) as the options allow.
int64_t partsFor(const TableKernelOptions &options, int64_t work) {
  int64_t parts = options.parts;
  if (parts > 1 && options.partWeights > 0)
    parts = std::min(parts, work / options.partWeights);
  return parts;
}

/// One matmul of a part loop: its operands (without tables), its tiles in
/// blocks of `count`, its M and its accumulator.
struct PartMember {
  TableOperands ops;
  int64_t tiles, count, m;
  Value init;
};

/// An scf.forall over `parts` contiguous parts of the `members`' blocks of
/// tiles, in member order, which share the int8 activations `q`: a member
/// short of a block counts as one block, and the tiles past a member's last
/// block go with the part that has it. Each part builds its own tables from
/// `q` (once for all members where every member takes all activation rows
/// at once, else per block of rows) and writes its rows of each member's
/// own accumulator: with one part per thread the tables are written and
/// read by the same core, instead of crossing to the other cores' caches on
/// every call (the forall over blocks of emitTileLoop). Returns the
/// members' results.
///
/// With `workStealing` and tables built for every activation row at once,
/// the forall has one iteration per block (unit) instead, marked
/// kWorkStealingAttrName = `parts`, and its table build kPerPartAttrName:
/// sherry-forall-work-stealing makes it `parts` parts again, each building
/// its tables once and taking its share of the blocks in order, then
/// blocks from the end of the other parts' shares. A thread slowed down (by
/// another tenant of its core, by its memory path) no longer holds up the
/// join with the whole of its static share; without that pass the loop is
/// still right, with tables per block.
SmallVector<Value> emitPartLoop(OpBuilder &b, Location loc,
                                ArrayRef<PartMember> members, Value q,
                                int64_t parts, bool workStealing) {
  SmallVector<int64_t> unitOffsets;
  int64_t units = 0;
  for (const PartMember &member : members) {
    unitOffsets.push_back(units);
    units += std::max<int64_t>(1, member.tiles / member.count);
  }
  SmallVector<Value> inits = llvm::map_to_vector(
      members, [](const PartMember &member) { return member.init; });
  bool sharedTables = llvm::all_of(members, [](const PartMember &member) {
    return member.ops.rowBlock == 0;
  });
  // One iteration per unit, or per part.
  bool perUnit = workStealing && sharedTables && units > parts;
  int64_t iterations = perUnit ? units : parts;
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(iterations)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)}, inits,
      /*mapping=*/std::nullopt,
      [&](OpBuilder &fb, Location fl, ValueRange args) {
        Emitter fe{fb, fl};
        Value part = args[0];
        // Units [part * units / parts, (part + 1) * units / parts), or unit
        // `part` alone.
        auto unitOf = [&](Value p) -> Value {
          if (perUnit)
            return p;
          return arith::DivUIOp::create(fb, fl, fe.muli(p, units),
                                        fe.idx(parts))
              .getResult();
        };
        Value lo = unitOf(part), hi = unitOf(fe.addi(part, fe.idx(1)));
        Value tables;
        if (sharedTables) {
          tables = buildTables(fe, *members[0].ops.arith, q, members[0].ops.k);
          if (perUnit)
            tables.getDefiningOp()->setAttr(kPerPartAttrName, fb.getUnitAttr());
        }
        Value n = tensor::DimOp::create(fb, fl, q, 0);
        struct Insert {
          Value rows, shared;
          SmallVector<OpFoldResult> offsets, sizes, strides;
        };
        SmallVector<Insert> inserts;
        for (size_t i = 0; i < members.size(); ++i) {
          const PartMember &member = members[i];
          int64_t count = member.count, blocks = member.tiles / count;
          int64_t memberUnits = std::max<int64_t>(1, blocks);
          // This member's units in the part, clamped to [0, memberUnits].
          auto clamp = [&](Value u) {
            Value shifted = arith::SubIOp::create(
                fb, fl,
                arith::MaxSIOp::create(fb, fl, u, fe.idx(unitOffsets[i])),
                fe.idx(unitOffsets[i]));
            return arith::MinSIOp::create(fb, fl, shifted, fe.idx(memberUnits))
                .getResult();
          };
          Value from = clamp(lo), to = clamp(hi);
          Value first = fe.muli(from, count);
          Value blocksEnd = fe.muli(to, count);
          if (blocks == 0)
            first = blocksEnd = fe.idx(0);
          // The tiles past the last block go with the part that has it.
          Value hasLast = arith::AndIOp::create(
              fb, fl,
              arith::CmpIOp::create(fb, fl, arith::CmpIPredicate::eq, to,
                                    fe.idx(memberUnits)),
              arith::CmpIOp::create(fb, fl, arith::CmpIPredicate::ult, from,
                                    to));
          Value last = arith::SelectOp::create(fb, fl, hasLast,
                                               fe.idx(member.tiles), blocksEnd);
          Value mValue = fe.idx(member.m);
          Value col0 =
              arith::MinUIOp::create(fb, fl, fe.muli(first, kRows), mValue);
          Value end =
              arith::MinUIOp::create(fb, fl, fe.muli(last, kRows), mValue);
          Insert ins;
          ins.shared = args[1 + i];
          ins.offsets = {fb.getIndexAttr(0), col0};
          ins.sizes = {n, arith::SubIOp::create(fb, fl, end, col0).getResult()};
          ins.strides = {fb.getIndexAttr(1), fb.getIndexAttr(1)};
          Value slice = tensor::ExtractSliceOp::create(
              fb, fl, ins.shared, ins.offsets, ins.sizes, ins.strides);
          TableOperands ops = member.ops;
          ops.tables = tables;
          ins.rows = emitRowBlocks(
              fe, ops, q, slice,
              [&](Emitter &be, const TableOperands &block, Value rows) {
                return emitTilesInOrder(be, block, first, blocksEnd, last,
                                        member.tiles, count, first, mValue,
                                        rows);
              });
          inserts.push_back(std::move(ins));
        }
        auto terminator = scf::InParallelOp::create(fb, fl);
        OpBuilder::InsertionGuard guard(fb);
        fb.setInsertionPointToStart(terminator.getBody());
        for (Insert &ins : inserts)
          tensor::ParallelInsertSliceOp::create(fb, fl, ins.rows, ins.shared,
                                                ins.offsets, ins.sizes,
                                                ins.strides);
      });
  if (perUnit)
    forall->setAttr(kWorkStealingAttrName, b.getI64IntegerAttr(parts));
  return SmallVector<Value>(forall.getResults());
}

/// What a part pays, in weights, for each member it has blocks of, beyond
/// their weights: the member's own weight stream and, where kernel loops
/// are not outlined (sherry-outline-kernel-loops), its own loop nest (about
/// 12 KB of code, cold in every call since the weights stream through the
/// caches). Measured on the decode step before outlining (docs/design/2026-11-25-x86-table-kernel.md):
/// the part of q's last block, k and v took as long as 3.6 blocks of q, at
/// K = 2048 about half a block of 16 tiles.
constexpr int64_t kMemberStartWeights = int64_t(1) << 19;

/// The order in which emitPartLoop should lay out the blocks of `members`
/// (indices into it) so that the costliest of `parts` parts is cheapest: a
/// part costs its weights plus kMemberStartWeights per member it has blocks
/// of. Every order is tried for up to 6 members; the given order stays
/// unless another is strictly cheaper.
SmallVector<size_t> partBalancedOrder(ArrayRef<PartMember> members,
                                      int64_t parts) {
  SmallVector<size_t> order =
      llvm::to_vector(llvm::seq<size_t>(0, members.size()));
  if (members.size() > 6)
    return order;
  // Each member's units (as emitPartLoop counts them) and their weights.
  SmallVector<SmallVector<int64_t>> unitWeights;
  int64_t units = 0;
  for (const PartMember &member : members) {
    int64_t blocks = member.tiles / member.count;
    int64_t rowWeights = kRows * member.ops.k;
    SmallVector<int64_t> weights;
    if (blocks == 0) {
      weights.push_back(member.tiles * rowWeights);
    } else {
      weights.assign(blocks, member.count * rowWeights);
      weights.back() += (member.tiles % member.count) * rowWeights;
    }
    units += weights.size();
    unitWeights.push_back(std::move(weights));
  }
  auto cost = [&](ArrayRef<size_t> candidate) {
    int64_t worst = 0, unit = 0;
    SmallVector<int64_t> partCost(parts, 0);
    SmallVector<int64_t> lastMember(parts, -1);
    for (size_t i : candidate) {
      for (int64_t weights : unitWeights[i]) {
        int64_t part = 0;
        // The part whose [p * units / parts, (p + 1) * units / parts) holds
        // `unit`.
        while ((part + 1) * units / parts <= unit)
          ++part;
        partCost[part] += weights;
        if (lastMember[part] != int64_t(i)) {
          partCost[part] += kMemberStartWeights;
          lastMember[part] = i;
        }
        ++unit;
      }
    }
    for (int64_t c : partCost)
      worst = std::max(worst, c);
    return worst;
  };
  SmallVector<size_t> candidate = order;
  int64_t best = cost(order);
  while (std::next_permutation(candidate.begin(), candidate.end())) {
    int64_t c = cost(candidate);
    if (c < best) {
      best = c;
      order = candidate;
    }
  }
  return order;
}

} // namespace

LogicalResult
mlir::sherry::lowerMatmulToTableKernel(MatmulOp op, PatternRewriter &rewriter,
                                       const TableArithmetic &arithmetic,
                                       const TableKernelOptions &options) {
  FailureOr<PreparedMatmul> prepared =
      prepareMatmul(op, rewriter, arithmetic, options);
  if (failed(prepared))
    return failure();
  const PreparedMatmul &p = *prepared;
  Location loc = op.getLoc();
  Emitter e{rewriter, loc};
  TableOperands ops = materializeMatmul(p, rewriter, arithmetic);
  auto [q, xScales] = quantizeInput(rewriter, op, p.regroup);
  ops.xScales = xScales;
  int64_t n = op.getN(), m = p.m, k = p.k, tiles = p.tiles;
  int64_t tileBlock = p.tileBlock;
  // Rows whose tables fit options.tableBytes; no blocks where every row
  // fits.
  ops.rowBlock = rowBlockOf(arithmetic, options, k, n);
  Value mValue = e.idx(m);
  int64_t mainTiles = tiles - tiles % tileBlock;
  Value y = op.getInit();
  if (options.parts > 1) {
    // Only parts of at least `partWeights` weights (padded rows included),
    // times the activation rows where N is static.
    int64_t parts = partsFor(options, partWork(arithmetic, tiles, k, n));
    if (parts > 1) {
      PartMember member{ops, tiles, tileBlock, m, y};
      rewriter.replaceOp(op, emitPartLoop(rewriter, loc, member, q, parts,
                                          options.workStealing));
      return success();
    }
    // Too small to share: every block in order, on the calling thread.
    Value zero = e.idx(0);
    rewriter.replaceOp(
        op,
        emitRowBlocks(e, ops, q, y,
                      [&](Emitter &be, const TableOperands &block, Value rows) {
                        return emitTilesInOrder(
                            be, block, zero, be.idx(mainTiles), be.idx(tiles),
                            tiles, tileBlock, zero, mValue, rows);
                      }));
    return success();
  }
  rewriter.replaceOp(
      op, emitRowBlocks(
              e, ops, q, y,
              [&](Emitter &be, const TableOperands &block, Value rows) {
                if (mainTiles > 0)
                  rows =
                      emitTileLoop(be.b, be.loc, block, be.idx(0),
                                   be.idx(mainTiles), tileBlock, mValue, rows);
                if (mainTiles < tiles)
                  rows = emitTileLoop(be.b, be.loc, block, be.idx(mainTiles),
                                      be.idx(tiles), 1, mValue, rows);
                return rows;
              }));
  return success();
}

/// The parts of the sibling loop for `members`, or 0 where they would not
/// take it: the checks of prepareMatmul that need no format work, tables of
/// every activation row at once and more than one part for their weights
/// together.
static int64_t siblingParts(ArrayRef<MatmulOp> members,
                            const TableArithmetic &arithmetic,
                            const TableKernelOptions &options) {
  if (members.size() < 2 || options.parts <= 1)
    return 0;
  MatmulOp front = members.front();
  int64_t n = front.getN(), k = front.getK();
  if (ShapedType::isDynamic(n) || ShapedType::isDynamic(k) ||
      rowBlockOf(arithmetic, options, k, n) != 0)
    return 0;
  int64_t work = 0;
  for (MatmulOp op : members) {
    if (op.getResult().empty() || op.getMode() != ActivationMode::Int8 ||
        ShapedType::isDynamic(op.getM()) ||
        op.getLayout().getScaleRegionLength(k) % arithmetic.stepElements() !=
            0 ||
        (!op.getLayout().isTables() &&
         !matchPattern(op.getWeights(), m_Constant())) ||
        (op.getLayout().isTables() &&
         op.getLayout().getTableOrder() != attributeOrder(arithmetic)))
      return 0;
    work += partWork(arithmetic, (op.getM() + kRows - 1) / kRows, k, n);
  }
  int64_t parts = partsFor(options, work);
  return parts > 1 ? parts : 0;
}

LogicalResult mlir::sherry::lowerSiblingMatmulsToTableKernel(
    ArrayRef<MatmulOp> members, RewriterBase &rewriter,
    const TableArithmetic &arithmetic, const TableKernelOptions &options) {
  int64_t parts = siblingParts(members, arithmetic, options);
  if (parts == 0)
    return failure();
  SmallVector<PreparedMatmul> prepared;
  for (MatmulOp op : members) {
    FailureOr<PreparedMatmul> p =
        prepareMatmul(op, rewriter, arithmetic, options);
    if (failed(p))
      return failure();
    prepared.push_back(std::move(*p));
  }
  MatmulOp last = members.back();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(last);
  SmallVector<PartMember> partMembers;
  for (const PreparedMatmul &p : prepared)
    partMembers.push_back({materializeMatmul(p, rewriter, arithmetic), p.tiles,
                           p.tileBlock, p.m, p.op.getInit()});
  auto [q, xScales] = quantizeInput(rewriter, last, prepared[0].regroup);
  for (PartMember &member : partMembers) {
    member.ops.xScales = xScales;
    member.ops.rowBlock = 0;
  }
  Location loc = FusedLoc::get(
      rewriter.getContext(),
      llvm::map_to_vector(members, [](MatmulOp op) { return op.getLoc(); }));
  SmallVector<size_t> order = partBalancedOrder(partMembers, parts);
  SmallVector<PartMember> ordered =
      llvm::map_to_vector(order, [&](size_t i) { return partMembers[i]; });
  SmallVector<Value> results =
      emitPartLoop(rewriter, loc, ordered, q, parts, options.workStealing);
  for (auto [i, result] : llvm::zip_equal(order, results))
    rewriter.replaceOp(members[i], result);
  return success();
}

TableArithmetic::~TableArithmetic() = default;

Value mlir::sherry::canonicalGroupSums(OpBuilder &b, Location loc, Value x16,
                                       ArrayRef<int64_t> groups) {
  int64_t lanes = 16 * groups.size();
  auto words = VectorType::get({lanes}, b.getI16Type());
  Value sum;
  for (int64_t p = 0; p < 4; ++p) {
    SmallVector<int16_t> column;
    SmallVector<int64_t> elements;
    for (int64_t i = 0; i < lanes; ++i) {
      column.push_back(format::decodeGroup(i % 16).value()[p]);
      elements.push_back(4 * groups[i / 16] + p);
    }
    Value x = vector::ShuffleOp::create(b, loc, x16, x16, elements);
    Value term = arith::MulIOp::create(
        b, loc, x,
        arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(words, ArrayRef<int16_t>(column))));
    sum = sum ? arith::AddIOp::create(b, loc, sum, term).getResult() : term;
  }
  return sum;
}

SmallVector<Value> LaneTableArithmetic::buildTables(OpBuilder &b, Location loc,
                                                    Value x16) const {
  Value sums = canonicalGroupSums(b, loc, x16, {0, 1, 2, 3});
  auto words = cast<VectorType>(sums.getType());
  auto bytes = words.clone(b.getI8Type());
  Value low = arith::TruncIOp::create(b, loc, bytes, sums);
  Value eight = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(words, b.getI16IntegerAttr(8)));
  Value high = arith::TruncIOp::create(
      b, loc, bytes, arith::ShRSIOp::create(b, loc, sums, eight));
  return {low, high};
}

MatmulToTableKernel::MatmulToTableKernel(MLIRContext *ctx,
                                         TableArithmetics arithmetics,
                                         const TableKernelOptions &options)
    : OpRewritePattern(ctx, /*benefit=*/2), arithmetics(std::move(arithmetics)),
      options(options) {}

LogicalResult
MatmulToTableKernel::matchAndRewrite(MatmulOp op,
                                     PatternRewriter &rewriter) const {
  int64_t n = op.getN(), k = op.getK();
  if (options.maxBatch > 0 && !ShapedType::isDynamic(n) &&
      n >= options.maxBatch)
    return rewriter.notifyMatchFailure(op, "a batch for the decode kernel");
  if (ShapedType::isDynamic(k))
    return rewriter.notifyMatchFailure(op, "K must be static");
  int64_t segment = op.getLayout().getScaleRegionLength(k);
  for (const std::unique_ptr<TableArithmetic> &arithmetic : arithmetics) {
    int64_t maxRows = arithmetic->maxRows();
    if (maxRows > 0 && (ShapedType::isDynamic(n) || n > maxRows))
      continue;
    if (segment % arithmetic->stepElements() != 0)
      continue;
    // Weights in the tables layout take the lookup of their order.
    if (op.getLayout().isTables() &&
        op.getLayout().getTableOrder() != attributeOrder(*arithmetic))
      continue;
    // Siblings (one N, K and layout, so one arithmetic) go as one loop nest
    // when the last of them is rewritten.
    if (options.groupSiblings &&
        isSiblingCandidate(op, SiblingWeights::ConstantOrTables)) {
      for (SmallVector<MatmulOp> &run : collectSiblingMatmuls(
               *op->getBlock(), SiblingWeights::ConstantOrTables)) {
        if (!llvm::is_contained(run, op) ||
            siblingParts(run, *arithmetic, options) == 0)
          continue;
        if (op != run.back())
          return rewriter.notifyMatchFailure(
              op, "lowered with its siblings, at the last of them");
        if (succeeded(lowerSiblingMatmulsToTableKernel(run, rewriter,
                                                       *arithmetic, options)))
          return success();
      }
    }
    return lowerMatmulToTableKernel(op, rewriter, *arithmetic, options);
  }
  return rewriter.notifyMatchFailure(
      op, "no lookup of the target reads these weights (their scale "
          "segments, or their table order)");
}

Value LaneTableArithmetic::signBytes(OpBuilder &b, Location loc, Value mask8,
                                     int64_t first, int64_t count) {
  SmallVector<int64_t> spread;
  SmallVector<int8_t> bit;
  for (int64_t j = first; j < first + count; ++j) {
    spread.push_back(j / 8);
    bit.push_back(int8_t(1u << (j % 8)));
  }
  Value bits = byteVector(b, loc, bit);
  Value tested = arith::AndIOp::create(
      b, loc, vector::ShuffleOp::create(b, loc, mask8, mask8, spread), bits);
  return arith::ExtSIOp::create(
      b, loc, VectorType::get({count}, b.getI8Type()),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tested, bits));
}

Value LaneTableArithmetic::interleavedSums(OpBuilder &b, Location loc,
                                           Value low, Value high,
                                           int64_t upper) {
  int64_t n = cast<VectorType>(low.getType()).getNumElements();
  SmallVector<int64_t> interleave;
  for (int64_t lane = 0; lane < n / 16; ++lane)
    for (int64_t j = 8 * upper; j < 8 * upper + 8; ++j) {
      interleave.push_back(16 * lane + j);
      interleave.push_back(n + 16 * lane + j);
    }
  return vector::BitCastOp::create(
      b, loc, VectorType::get({n / 2}, b.getI16Type()),
      vector::ShuffleOp::create(b, loc, low, high, interleave));
}

void LaneTableArithmetic::addLookedUp(OpBuilder &b, Location loc,
                                      function_ref<Value(int64_t)> lookup,
                                      Value negative,
                                      MutableArrayRef<Value> acc) {
  Value low = arith::XOrIOp::create(b, loc, lookup(0), negative);
  Value high = arith::XOrIOp::create(b, loc, lookup(1), negative);
  for (int64_t upper = 0; upper < 2; ++upper)
    acc[upper] = arith::AddIOp::create(
        b, loc, acc[upper], interleavedSums(b, loc, low, high, upper));
}
