//===- TableKernel.h - The activation-table kernel skeleton -----*- C++ -*-===//
//
// The paper's kernel for int8 sherry.matmul with constant weights: once per
// call, each group of 4 int8 activations gets the partial sums of its codes
// (tables); the weights, regrouped at compile time into tiles of 32 rows
// (format::interleaveForTables), then index those tables, 32 rows at a time.
// The loops (tiles, activation rows, scale segments, flushes of narrow
// accumulators, steps of 16 K elements) are the same on every target; a
// TableArithmetic says how tables are built and looked up.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_CONVERSION_KERNELCOMMON_TABLEKERNEL_H
#define SHERRY_CONVERSION_KERNELCOMMON_TABLEKERNEL_H

#include "sherry/Dialect/Sherry/IR/SherryOps.h"
#include "sherry/Format/Format.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

namespace mlir::sherry {

/// Reads `length` bytes from `offset` of the current step's table or weight
/// bytes, as a vector<length x i8>.
using StepReader = function_ref<Value(int64_t offset, int64_t length)>;

/// The target-dependent part of the activation-table kernel. A step is
/// stepElements() K elements of a tile of 32 weight rows, 80 interleaved
/// weight bytes per 16 of them (1.25 bits per weight).
class TableArithmetic {
public:
  virtual ~TableArithmetic();

  /// The interleaved order of the weights the lookups read.
  virtual ::sherry::format::TableOrder order() const = 0;
  /// K elements per step: 16 (4 groups), or a multiple of 16 that scale
  /// segments must then be a multiple of.
  virtual int64_t stepElements() const { return 16; }
  /// Tiles per block where the options leave it open: as many as share a
  /// step's table loads without spilling the accumulators.
  virtual int64_t defaultTileBlock() const { return 4; }
  /// Activation rows whose lookups share each step's decoded weights (the
  /// index and sign work done once for all of them), where there are that
  /// many: as many as the registers hold the accumulators of.
  virtual int64_t rowsPerPass() const { return 1; }
  /// How many times as long a weight takes as with the AVX-512 lookups,
  /// whose speed TableKernelOptions::partWeights is set for: a slower
  /// kernel gains from a second thread on a smaller matmul.
  virtual int64_t relativeWeightCost() const { return 1; }
  /// The most activation rows (a static N) the arithmetic is meant for,
  /// where the next one in order of preference takes larger or dynamic N
  /// (0: any N).
  virtual int64_t maxRows() const { return 0; }
  /// Whether a negative code's sum comes out as its bytes complemented
  /// (~s = -s - 1): the kernel then adds, per row and scale segment, the
  /// count of negative groups (format::countNegativeGroups).
  virtual bool complementsNegatives() const = 0;
  /// Table bytes per activation row and 16 K elements.
  virtual int64_t tableBytes() const = 0;
  /// The tables of 16 K elements from their activations (a vector<16xi16>
  /// of int8 values), as i8 vectors that are stored back to back.
  virtual SmallVector<Value> buildTables(OpBuilder &b, Location loc,
                                         Value x16) const = 0;
  /// The tables of a step as lookup() takes them, read once per step and
  /// shared by the tiles of a block. A read stays within the tables of one
  /// 16 K elements.
  virtual SmallVector<Value> loadTables(OpBuilder &b, Location loc,
                                        StepReader read) const = 0;
  /// The narrow accumulators of one tile.
  virtual SmallVector<VectorType> accumulatorTypes(OpBuilder &b) const = 0;
  /// Steps the narrow accumulators take without overflow.
  virtual int64_t maxStepsPerFlush() const = 0;
  /// `acc` plus one step of one tile, whose weight bytes `weights` reads.
  virtual SmallVector<Value> lookup(OpBuilder &b, Location loc,
                                    ArrayRef<Value> tables, StepReader weights,
                                    ValueRange acc) const = 0;
  /// The exact sums of the 32 rows (vector<32xi32>, row order) held by the
  /// narrow accumulators.
  virtual Value widen(OpBuilder &b, Location loc, ValueRange acc) const = 0;
};

/// A size option (uint64_t) in the kernel's signed arithmetic: sizes past
/// INT64_MAX mean "no limit" as INT64_MAX does, instead of wrapping.
inline int64_t sizeOption(uint64_t value) {
  return int64_t(std::min<uint64_t>(value, INT64_MAX));
}

/// How the table kernel splits its work.
struct TableKernelOptions {
  /// Tiles of 32 rows that share each table read (0: the arithmetic's
  /// default).
  int64_t tileBlock = 0;
  /// Matmuls with a static N of at least this many activation rows are left
  /// to a decode kernel (0: any N).
  int64_t maxBatch = 0;
  /// With more than one, an scf.forall over this many parts of the tiles,
  /// each building its own tables and computing a contiguous share of the
  /// blocks in order (one per thread); otherwise an scf.forall over blocks.
  int64_t parts = 0;
  /// No more parts than give each at least this many weights times the
  /// static N (0: no minimum); with one part left the blocks run in order,
  /// without a forall.
  int64_t partWeights = 2097152;
  /// The most table bytes built at a time: the activation rows go in blocks
  /// whose tables fit (in a core's L2), one pass over the tiles per block
  /// (0: every row at once).
  int64_t tableBytes = 524288;
  /// Sibling matmuls (collectSiblingMatmuls) whose tables are built for
  /// every activation row at once share one scf.forall over parts, one
  /// quantization and one build of the tables per part, each part writing
  /// its rows of every member's own result; otherwise each goes alone.
  bool groupSiblings = true;
  /// With parts whose tables are built for every activation row at once:
  /// an scf.forall over the blocks instead, marked for
  /// sherry-forall-work-stealing with the number of parts and with the
  /// table build marked to run once per part, so that a part that is done
  /// takes blocks from the end of a slower part's share.
  bool workStealing = false;
};

/// Replaces an int8 sherry.matmul on tensors whose weights are a constant by
/// the activation-table kernel of `arithmetic`: tables built once per call
/// (per part, per block of activation rows), weights regrouped at compile
/// time, loops over blocks of tiles of 32 rows as `options` says. Sums are
/// exact and segments combine in f32 as the reference does: the result is
/// bit-exact.
LogicalResult lowerMatmulToTableKernel(MatmulOp op, PatternRewriter &rewriter,
                                       const TableArithmetic &arithmetic,
                                       const TableKernelOptions &options);

/// Replaces the sibling matmuls `members` (a run of collectSiblingMatmuls)
/// by one table kernel of `arithmetic` at the last of them: their blocks of
/// tiles, in member order, cut into parts as one matmul's would be, each
/// part building the tables once and writing its rows of every member's own
/// result, so no member's operands or results are copied. Fails, changing
/// nothing, unless the tables of every activation row are built at once
/// and the members' weights together make more than one part.
LogicalResult lowerSiblingMatmulsToTableKernel(
    ArrayRef<MatmulOp> members, RewriterBase &rewriter,
    const TableArithmetic &arithmetic, const TableKernelOptions &options);

/// Table arithmetics in order of preference.
using TableArithmetics = std::vector<std::unique_ptr<TableArithmetic>>;

/// sherry.matmul to the table kernel of the first of `arithmetics` whose
/// steps divide the scale segments and that is meant for its N
/// (TableArithmetic::maxRows), where N is dynamic or below
/// `options.maxBatch` (0: any N); from a few activation rows on, a decode
/// kernel shares each decoded chunk between rows and catches up
/// (docs/design/2026-11-25-x86-table-kernel.md has the figures).
struct MatmulToTableKernel : OpRewritePattern<MatmulOp> {
  MatmulToTableKernel(MLIRContext *ctx, TableArithmetics arithmetics,
                      const TableKernelOptions &options);

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override;

private:
  TableArithmetics arithmetics;
  TableKernelOptions options;
};

/// The partial sums of the 16 codes with sign bit 0 of each of the groups
/// `groups` of the 16 activations `x16` (vector<16xi16>): lane 16i + c is
/// sum_p t_p(c) * x[4 * groups[i] + p], in [-381, 381], as vector<16n x i16>.
Value canonicalGroupSums(OpBuilder &b, Location loc, Value x16,
                         ArrayRef<int64_t> groups);

/// The tables of format::TableOrder::Lanes, which vpshufb (per 128-bit
/// lane) and tbl look up alike: 16 bytes per group of the step, group i's 16
/// canonical sums at 16i + c, their low bytes (64), then their high bytes
/// (64); the sign applies after the lookup by complementing both bytes.
class LaneTableArithmetic : public TableArithmetic {
public:
  ::sherry::format::TableOrder order() const override {
    return ::sherry::format::TableOrder::Lanes;
  }
  bool complementsNegatives() const override { return true; }
  int64_t tableBytes() const override { return 128; }
  SmallVector<Value> buildTables(OpBuilder &b, Location loc,
                                 Value x16) const override;

protected:
  /// Bits [first, first + count) of the 8-byte sign mask `mask8`, one byte
  /// each, 0 or -1: byte j / 8 spread to byte j, tested for bit j % 8.
  static Value signBytes(OpBuilder &b, Location loc, Value mask8, int64_t first,
                         int64_t count);
  /// The i16 sums of looked-up low and high bytes: in each 16-byte lane,
  /// bytes 0..7 (`upper` 0) or 8..15 (`upper` 1) of `low` and `high`
  /// interleaved (vpunpck{l,h}bw, zip1/zip2), as words.
  static Value interleavedSums(OpBuilder &b, Location loc, Value low,
                               Value high, int64_t upper);
  /// Adds the low-byte and the high-byte lookups (`lookup(0)`, then
  /// `lookup(1)`), complemented where `negative` (0 or -1 per byte) is set,
  /// into `acc`: their interleaved sums of bytes 0..7 of each 16-byte lane
  /// into acc[0], of 8..15 into acc[1].
  static void addLookedUp(OpBuilder &b, Location loc,
                          function_ref<Value(int64_t high)> lookup,
                          Value negative, MutableArrayRef<Value> acc);
};

} // namespace mlir::sherry

#endif // SHERRY_CONVERSION_KERNELCOMMON_TABLEKERNEL_H
