//===- SherryToNeon.cpp - sherry.matmul to AArch64 NEON kernels -----------===//
//
// The convert-sherry-to-neon pass (the table kernel: TableLookup.cpp), and
// the AArch64 chunk arithmetics of the sherry.matmul micro-kernel, for int8
// mode: with the dot product extension (Armv8.2-A +dotprod) below, and for
// plain Armv8.0 NEON (smull + sadalp, NeonArithmetic). A chunk is 32
// or 64 weights (8 or 16 groups), decoded into signed ternary bytes in
// group-major order (lane p of group j at 4j + p):
//
//   slot nibble and sign byte of each lane's group: constant byte shuffles
//   (tbl with constant indices), a per-lane shift (ushl) and masks;
//   zero lane z = slot >> 2; rank r = p - [p > z] among the non-zero lanes;
//   negative = sign ^ bit r of (b1 b0 0); value = p == z ? 0 : +-1
//   (cmeq, cmhi, cmtst, bsl).
//
// Activations and weights are both signed, so `sdot` (arm_neon.intr.sdot,
// four i8 products into each i32 lane) takes them as they are: no offset,
// no activation sums. 16 weights per sdot and activation row; a segment's
// i32 lanes are summed once (addv).
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/Passes.h"

#include "TableLookup.h"

#include "sherry/Conversion/SherryToVector/KernelChoice.h"
#include "sherry/Conversion/SherryToVector/MicroKernel.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ArmNeon/ArmNeonDialect.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_CONVERTSHERRYTONEON
#include "sherry/Conversion/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

class NeonDotprodArithmetic : public ChunkArithmetic {
public:
  bool supports(const KernelShape &shape) const override {
    return shape.int8 && (shape.chunk == 32 || shape.chunk == 64);
  }

  /// One i32 lane per group (the four products sdot adds).
  VectorType accumulatorType(OpBuilder &b,
                             const KernelShape &shape) const override {
    return VectorType::get({shape.chunk / 4}, b.getI32Type());
  }

  /// Signed lanes straight from the portable decode: sdot takes signed
  /// weights and activations, so no offset and no activation sums.
  Value decode(OpBuilder &b, Location loc, const KernelShape &shape,
               Value slotBytes, Value signBytes) const override {
    return decodeTernary(b, loc, slotBytes, signBytes, shape.chunk / 4);
  }

  /// acc + x . w, 16 bytes per sdot: lane l of `acc` gains the four
  /// products of group l.
  Value accumulate(OpBuilder &b, Location loc, const KernelShape &shape,
                   Value acc, Value x, Value w) const override {
    auto words4 = VectorType::get({4}, b.getI32Type());
    for (int64_t q = 0; q < shape.chunk / 16; ++q) {
      Value part = arm_neon::SdotOp::create(b, loc, words4,
                                            sliceVector(b, loc, acc, 4 * q, 4),
                                            sliceVector(b, loc, w, 16 * q, 16),
                                            sliceVector(b, loc, x, 16 * q, 16));
      acc = vector::InsertStridedSliceOp::create(
          b, loc, part, acc, ArrayRef<int64_t>{4 * q}, ArrayRef<int64_t>{1});
    }
    return acc;
  }

  Value reduce(OpBuilder &b, Location loc, const KernelShape &,
               Value acc) const override {
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc);
  }
};

/// Armv8.0 NEON, no dot product instructions: the same signed decode, then
/// per activation row one `smull` per 8 weights, summed in i16 lanes
/// (`smlal`, `smlal2`: at most 8 products of at most 127 per lane in a chunk
/// of 64) and widened once per chunk into 8 i32 lanes (`saddw`, `saddw2`).
class NeonArithmetic : public NeonDotprodArithmetic {
public:
  VectorType accumulatorType(OpBuilder &b, const KernelShape &) const override {
    return VectorType::get({8}, b.getI32Type());
  }

  Value accumulate(OpBuilder &b, Location loc, const KernelShape &shape,
                   Value acc, Value x, Value w) const override {
    auto halves8 = VectorType::get({8}, b.getI16Type());
    Value sum;
    for (int64_t h = 0; h < shape.chunk / 8; ++h) {
      Value product = arm_neon::SMullOp::create(
          b, loc, halves8, sliceVector(b, loc, w, 8 * h, 8),
          sliceVector(b, loc, x, 8 * h, 8));
      sum = sum ? arith::AddIOp::create(b, loc, sum, product).getResult()
                : product;
    }
    return arith::AddIOp::create(
        b, loc, acc, arith::ExtSIOp::create(b, loc, acc.getType(), sum));
  }
};

struct ConvertSherryToNeonPass
    : public mlir::sherry::impl::ConvertSherryToNeonBase<
          ConvertSherryToNeonPass> {
  using Base::Base;

  void runOnOperation() override {
    if (isa != "neon-dotprod" && isa != "neon") {
      getOperation()->emitError()
          << "convert-sherry-to-neon: unknown isa '" << isa
          << "'; expected 'neon-dotprod' or 'neon'";
      return signalPassFailure();
    }
    if (rowBlock < 0 || batchBlock < 0) {
      getOperation()->emitError()
          << "convert-sherry-to-neon: row-block and batch-block must not be "
             "negative (0: the isa's default), got row-block="
          << int64_t(rowBlock) << " batch-block=" << int64_t(batchBlock);
      return signalPassFailure();
    }
    if (strategy != "auto" && strategy != "tables" && strategy != "decode") {
      getOperation()->emitError()
          << "convert-sherry-to-neon: unknown strategy '" << strategy
          << "'; expected 'auto', 'tables' or 'decode'";
      return signalPassFailure();
    }
    if (tileBlock < 0 || tableParts < 0 || tablesMaxBatch < 0 ||
        tablePartWeights < 0 || tableBytes < 0) {
      getOperation()->emitError()
          << "convert-sherry-to-neon: tile-block, table-parts, "
             "table-part-weights, table-bytes and tables-max-batch must not "
             "be negative, got tile-block="
          << int64_t(tileBlock) << " table-parts=" << int64_t(tableParts)
          << " table-part-weights=" << int64_t(tablePartWeights)
          << " table-bytes=" << int64_t(tableBytes)
          << " tables-max-batch=" << int64_t(tablesMaxBatch);
      return signalPassFailure();
    }
    // Without sdot an accumulator takes two registers, so one row at a time
    // keeps 8 of them in the 32 (llc -O3: no spills in the chunk loop).
    bool dotprod = isa == "neon-dotprod";
    int64_t rows = rowBlock ? int64_t(rowBlock) : (dotprod ? 4 : 1);
    int64_t batch = batchBlock ? int64_t(batchBlock) : (dotprod ? 4 : 8);
    RewritePatternSet tables(&getContext()), decode(&getContext());
    if (strategy != "decode") {
      TableArithmetics tbl;
      tbl.push_back(createNeonTableArithmetic());
      tables.add<MatmulToTableKernel>(
          &getContext(), std::move(tbl),
          TableKernelOptions{tileBlock, tablesMaxBatch, tableParts,
                             tablePartWeights, tableBytes, tableSiblings,
                             tableWorkStealing});
    }
    populateSherryToNeonPatterns(decode, dotprod, rows, batch);
    if (failed(applyTableAndDecodePatterns(getOperation(), strategy,
                                           onlyMarked, std::move(tables),
                                           std::move(decode))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::sherry::populateSherryToNeonPatterns(RewritePatternSet &patterns,
                                                bool dotprod, int64_t rowBlock,
                                                int64_t batchBlock) {
  if (dotprod)
    patterns.add<MicroKernelPattern<NeonDotprodArithmetic>>(
        patterns.getContext(), rowBlock, batchBlock);
  else
    patterns.add<MicroKernelPattern<NeonArithmetic>>(patterns.getContext(),
                                                     rowBlock, batchBlock);
}
