//===- TableLookup.cpp - NEON lookups of the activation-table kernel ------===//
//
// The activation-table kernel on AArch64 NEON (Armv8.0). A q register is one
// 16-entry table: group i's 16 canonical sums, as low bytes and as high
// bytes (format::TableOrder::Lanes: byte 16i + j of a step holds group i of
// rows j and 16 + j). Per step, tile and group:
//
//   and / ushr  the slot nibbles of rows 0..15 and 16..31
//   tbl         low and high bytes of the 16 rows' sums
//   eor         with the sign bits as bytes (a constant-index tbl spreading
//               the mask bytes, cmtst): ~s = -s - 1 where negative
//   zip1, zip2  low and high bytes into i16 sums, 8 rows each
//   add         into i16 lanes per row, all four groups alike
//
// Each step adds at most 4 * 382 to a lane, so the lanes widen to i32 every
// 21 steps at most. The kernel adds back each row's count of negative groups
// per segment. tbl is a sherry_arm op (arm_neon has none).
//
//===----------------------------------------------------------------------===//

#include "TableLookup.h"

#include "sherry/Conversion/KernelCommon/MicroKernel.h"
#include "sherry/Dialect/SherryArm/IR/SherryArmDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

namespace {

Value splat16(OpBuilder &b, Location loc, int8_t value) {
  return byteVector(b, loc, SmallVector<int8_t>(16, value));
}

class NeonTableArithmetic : public LaneTableArithmetic {
public:
  /// With more tiles per block, the accumulators and the 8 table
  /// registers of a step spill (llc -O3, 2048 x 2048, stack accesses per
  /// step: none with 1 tile, 13 with 2, 75 with 4).
  int64_t defaultTileBlock() const override { return 1; }
  /// The low-byte tables of groups 0..3, then their high-byte tables.
  SmallVector<Value> loadTables(OpBuilder &, Location,
                                StepReader read) const override {
    SmallVector<Value> tables;
    for (int64_t i = 0; i < 8; ++i)
      tables.push_back(read(16 * i, 16));
    return tables;
  }

  /// Rows 0..7, 8..15, 16..23 and 24..31 of the tile.
  SmallVector<VectorType> accumulatorTypes(OpBuilder &b) const override {
    return SmallVector<VectorType>(4, VectorType::get({8}, b.getI16Type()));
  }

  int64_t maxStepsPerFlush() const override { return 21; }

  SmallVector<Value> lookup(OpBuilder &b, Location loc, ArrayRef<Value> tables,
                            StepReader weights, ValueRange acc) const override {
    auto bytes16 = VectorType::get({16}, b.getI8Type());
    Value v = weights(0, 64);
    Value masks[2] = {weights(64, 8), weights(72, 8)};
    SmallVector<Value> next(acc.begin(), acc.end());
    for (int64_t i = 0; i < 4; ++i) {
      Value nibbles = sliceVector(b, loc, v, 16 * i, 16);
      for (int64_t half = 0; half < 2; ++half) {
        Value index =
            half ? arith::ShRUIOp::create(b, loc, nibbles, splat16(b, loc, 4))
                       .getResult()
                 : arith::AndIOp::create(b, loc, nibbles, splat16(b, loc, 0x0f))
                       .getResult();
        // Bits 16i..16i+15 of the half's mask, one per row.
        Value negative = signBytes(b, loc, masks[half], 16 * i, 16);
        auto lookup = [&](int64_t high) -> Value {
          return arm::Tbl1Op::create(b, loc, bytes16, tables[4 * high + i],
                                     index);
        };
        addLookedUp(b, loc, lookup, negative,
                    MutableArrayRef<Value>(next).slice(2 * half, 2));
      }
    }
    return next;
  }

  Value widen(OpBuilder &b, Location loc, ValueRange acc) const override {
    auto dwords8 = VectorType::get({8}, b.getI32Type());
    SmallVector<Value> rows;
    for (Value a : acc)
      rows.push_back(arith::ExtSIOp::create(b, loc, dwords8, a));
    return concatVectors(b, loc, rows);
  }
};

} // namespace

std::unique_ptr<TableArithmetic> mlir::sherry::createNeonTableArithmetic() {
  return std::make_unique<NeonTableArithmetic>();
}
