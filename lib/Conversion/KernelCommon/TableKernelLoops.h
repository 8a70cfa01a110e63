//===- TableKernelLoops.h - The table kernel's loop nests -------*- C++ -*-===//
//
// What the table kernel's driver (TableKernel.cpp) and its parallel parts
// (TablePartition.cpp) build the loops with. Private to KernelCommon.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_CONVERSION_KERNELCOMMON_TABLEKERNELLOOPS_H
#define LIB_CONVERSION_KERNELCOMMON_TABLEKERNELLOOPS_H

#include "sherry/Conversion/KernelCommon/Emitter.h"
#include "sherry/Conversion/KernelCommon/TableKernel.h"
#include "sherry/Format/Format.h"

namespace mlir::sherry::table_kernel {

constexpr int64_t kRows = ::sherry::format::kTableTileRows; // 32
constexpr int64_t kStepBytes = ::sherry::format::kTableStepBytes;

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

/// For each activation row n and step s (16 elements, groups 4s..4s+3),
/// the arithmetic's table bytes. `q` is N x K int8.
Value buildTables(Emitter &e, const TableArithmetic &arith, Value q,
                  int64_t k);

/// An scf.forall over tiles [from, to) in blocks of `count`, each block
/// computing its columns of `y` for every activation row.
Value emitTileLoop(OpBuilder &b, Location loc, const TableOperands &ops,
                   Value from, Value to, int64_t count, Value m, Value y);

/// Tiles [from, to) in order: whole blocks of `count` up to `blocksEnd`,
/// single tiles after it. Of the matmul's `tiles`, whether any fill a block
/// and whether any are left over decides statically which loops there are.
Value emitTilesInOrder(Emitter &e, const TableOperands &ops, Value from,
                       Value blocksEnd, Value to, int64_t tiles, int64_t count,
                       Value base, Value m, Value y);

/// The columns of `y` that `compute` fills from tables of the int8
/// activations `q`: built for every activation row at once (unless
/// `ops.tables` already holds them) or, with
/// `ops.rowBlock`, for blocks of that many rows in turn (slices of `q`, the
/// activation scales and `y`), so that the tables a pass over the tiles
/// reads stay in the cache of the core that built them.
Value emitRowBlocks(
    Emitter &e, TableOperands ops, Value q, Value y,
    function_ref<Value(Emitter &, const TableOperands &, Value)> compute);

/// A constant holding `data` in `type`.
Value constantBytes(OpBuilder &b, Location loc, RankedTensorType type,
                    ArrayRef<int8_t> data, StringRef name);

} // namespace mlir::sherry::table_kernel

#endif // LIB_CONVERSION_KERNELCOMMON_TABLEKERNELLOOPS_H
