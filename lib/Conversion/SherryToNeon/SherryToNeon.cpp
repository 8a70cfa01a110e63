//===- SherryToNeon.cpp - sherry.matmul to AArch64 NEON kernels -----------===//
//
// The convert-sherry-to-neon pass (the table kernel: TableLookup.cpp), and
// the AArch64 chunk arithmetics of the sherry.matmul micro-kernel: with the
// dot product extension (Armv8.2-A +dotprod, NeonDotprodArithmetic), for
// plain Armv8.0 NEON (smull + sadalp, NeonArithmetic), and exact mode
// (FMA, NeonExactArithmetic). Chunks of 128 or 64 weights decode
// lane-major by table lookups (decodeLanesMajor); chunks of 32 (scale
// groups of 32) group-major by arithmetic on the 5-bit codes
// (decodeTernary).
//
// Activations and weights are both signed, so `sdot` (arm_neon.intr.sdot,
// four i8 products into each i32 lane) takes them as they are: no offset,
// no activation sums. 16 weights per sdot and activation row, into one q
// register; a segment's i32 lanes are summed once (addv).
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/Passes.h"

#include "TableLookup.h"

#include "sherry/Conversion/KernelCommon/KernelChoice.h"
#include "sherry/Conversion/KernelCommon/MicroKernel.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"
#include "sherry/Dialect/SherryArm/IR/SherryArmDialect.h"
#include "sherry/Format/Format.h"

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
namespace format = ::sherry::format;

namespace {

/// Decodes a chunk of 64 or 128 weights lane-major, 64 at a time: q
/// register p of each 64 holds lane p of its 16 groups, looked up by `tbl`
/// in a 32-byte table of that lane's signed values (16 slots, then the
/// same negated) at slot + 16 * sign. Per 64 weights: 4 tbl, and for the
/// index a byte shuffle, cmtst, umin and orr; per chunk: and, ushr and one
/// zip per 64 for the slot nibbles (a chunk of 128 shares the and and the
/// ushr, which only one of Neoverse N1's two vector pipes runs). The eight
/// table registers are loop invariant.
Value decodeLanesMajor(OpBuilder &b, Location loc, Value slotBytes,
                       Value signBytes) {
  int64_t slotCount = cast<VectorType>(slotBytes.getType()).getNumElements();
  auto splat = [&](int64_t lanes, int8_t v) {
    return byteVector(b, loc, SmallVector<int8_t>(lanes, v));
  };
  Value low = arith::AndIOp::create(b, loc, slotBytes, splat(slotCount, 0x0f));
  Value high = arith::ShRUIOp::create(b, loc, slotBytes, splat(slotCount, 4));
  auto bytes16 = VectorType::get({16}, b.getI8Type());
  SmallVector<Value> lanes;
  for (int64_t half = 0; half < slotCount / 8; ++half) {
    // Slot nibble of group j at byte j: the low nibbles of the 8 slot bytes
    // interleaved with their high nibbles (zip1, zip2).
    SmallVector<int64_t> interleave, spread;
    SmallVector<int8_t> bit;
    for (int64_t j = 0; j < 16; ++j) {
      int64_t byte = 8 * half + j / 2;
      interleave.push_back(j % 2 == 0 ? byte : slotCount + byte);
      spread.push_back(2 * half + j / 8);
      bit.push_back(int8_t(1u << (j % 8)));
    }
    Value slots = vector::ShuffleOp::create(b, loc, low, high, interleave);
    // Sign bit of group j (bit j % 8 of sign byte j / 8) as all ones
    // (cmtst), then 16: umin rather than and, which llc would fold with
    // the compare into cmeq and bic, one instruction more.
    Value signs = arith::AndIOp::create(
        b, loc,
        vector::ShuffleOp::create(b, loc, signBytes, signBytes, spread),
        byteVector(b, loc, bit));
    Value negative = arith::ExtSIOp::create(
        b, loc, bytes16,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, signs,
                              splat(16, 0)));
    Value index = arith::OrIOp::create(
        b, loc, slots,
        arith::MinUIOp::create(b, loc, negative, splat(16, 16)));
    for (int64_t p = 0; p < 4; ++p) {
      SmallVector<int8_t> positive, negated;
      for (int64_t slot = 0; slot < 16; ++slot) {
        int8_t t = int8_t(((format::kCodebook[slot] >> (2 * p)) & 3) - 1);
        positive.push_back(t);
        negated.push_back(int8_t(-t));
      }
      lanes.push_back(arm::Tbl2Op::create(b, loc, bytes16,
                                          byteVector(b, loc, positive),
                                          byteVector(b, loc, negated), index));
    }
  }
  return concatVectors(b, loc, lanes);
}

/// Int8 mode with the dot product extension. Chunks of 64 and 128 decode
/// lane-major (decodeLanesMajor), chunks of 32 group-major by arithmetic
/// (decodeTernary).
class NeonDotprodArithmetic : public ChunkArithmetic {
public:
  /// The kernel's default chunks; chunkSize widens 64 to 128.
  bool supports(const KernelShape &shape) const override {
    return shape.int8 && (shape.chunk == 32 || shape.chunk == 64);
  }

  bool lanesMajor(const KernelShape &shape) const override {
    return shape.chunk % 64 == 0;
  }

  /// 128 where the segments allow, for the shared nibble split.
  int64_t chunkSize(const KernelShape &shape) const override {
    return shape.chunk == 64 && shape.segment % 128 == 0 ? 128 : shape.chunk;
  }

  /// One q register: every sdot of a chunk adds into its four i32 lanes,
  /// so that blocks of rows and activation rows keep their accumulators in
  /// registers.
  VectorType accumulatorType(OpBuilder &b, const KernelShape &) const override {
    return VectorType::get({4}, b.getI32Type());
  }

  /// Signed lanes: sdot takes signed weights and activations, so no offset
  /// and no activation sums.
  Value decode(OpBuilder &b, Location loc, const KernelShape &shape,
               Value slotBytes, Value signBytes) const override {
    if (lanesMajor(shape))
      return decodeLanesMajor(b, loc, slotBytes, signBytes);
    return decodeTernary(b, loc, slotBytes, signBytes, shape.chunk / 4);
  }

  /// acc + x . w, 16 bytes per sdot, all into the same four lanes (lane l
  /// gains four products of every fourth group).
  Value accumulate(OpBuilder &b, Location loc, const KernelShape &shape,
                   Value acc, Value x, Value w) const override {
    for (int64_t q = 0; q < shape.chunk / 16; ++q)
      acc = arm_neon::SdotOp::create(b, loc, acc.getType(), acc,
                                     sliceVector(b, loc, w, 16 * q, 16),
                                     sliceVector(b, loc, x, 16 * q, 16));
    return acc;
  }

  Value reduce(OpBuilder &b, Location loc, const KernelShape &,
               Value acc) const override {
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc);
  }
};

/// Armv8.0 NEON, no dot product instructions: the same signed decode, then
/// per activation row one `smull` per 8 weights, summed in i16 lanes
/// (`smlal`, `smlal2`: at most 16 products of at most 128 per lane in a
/// chunk of 128) and added pairwise into one q register of i32 lanes once
/// per chunk (`sadalp`).
class NeonArithmetic : public NeonDotprodArithmetic {
public:
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
        b, loc, acc, arm::SaddlpOp::create(b, loc, acc.getType(), sum));
  }
};

/// Exact mode: the signed decode, FMA into 8 f32 lanes (two q registers).
using NeonExactArithmetic = ExactFromInt8Arithmetic<NeonDotprodArithmetic, 8>;

struct ConvertSherryToNeonPass
    : public mlir::sherry::impl::ConvertSherryToNeonBase<
          ConvertSherryToNeonPass> {
  using Base::Base;

  void runOnOperation() override {
    bool dotprod = isa == NeonIsa::NeonDotprod;
    RewritePatternSet tables(&getContext()), decode(&getContext());
    if (strategy != KernelStrategy::Decode) {
      TableArithmetics tbl;
      tbl.push_back(createNeonTableArithmetic());
      tables.add<MatmulToTableKernel>(
          &getContext(), std::move(tbl),
          TableKernelOptions{tileBlock, tablesMaxBatch, tableParts,
                             sizeOption(tablePartWeights),
                             sizeOption(tableBytes), tableSiblings,
                             tableWorkStealing});
    }
    populateSherryToNeonPatterns(decode, dotprod, rowBlock, batchBlock);
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
  // The blocks of the chunk loop that llc -O3 keeps in registers with the
  // eight table registers of the decode (2048 x 2048, N = 1 and 128): for
  // sdot, 2 rows by 3 activation rows of one q register each; for exact
  // mode, 1 by 2 of two q registers of f32. From 8 activation rows, sdot
  // decodes each block of 4 rows once into a panel and multiplies it in
  // blocks of 4 by 4, which the decode's registers no longer crowd
  // (Neoverse N1: 11.5 cycles per 256 weight and activation-row pairs,
  // 18.7 without the panel). smull is bound by its multiplies on N1 either
  // way (32 cycles per 256 pairs, one vector pipe), but its fused 2 x 2
  // loop spills where the panel's does not: from 2 activation rows it
  // decodes 2 rows at a time into a panel and multiplies them 2 by 2.
  MLIRContext *ctx = patterns.getContext();
  auto orDefault = [](int64_t given, int64_t fallback) {
    return given > 0 ? given : fallback;
  };
  int64_t rows = orDefault(rowBlock, 2);
  if (dotprod)
    patterns.add<MicroKernelPattern<NeonDotprodArithmetic>>(
        ctx, MicroKernelBlocks{rows, orDefault(batchBlock, 3),
                               /*panelMinBatch=*/8, orDefault(rowBlock, 4),
                               orDefault(batchBlock, 4)});
  else
    patterns.add<MicroKernelPattern<NeonArithmetic>>(
        ctx, MicroKernelBlocks{rows, orDefault(batchBlock, 1),
                               /*panelMinBatch=*/2, rows,
                               orDefault(batchBlock, 2)});
  // Exact mode needs no dot product instructions: the same kernel for both.
  patterns.add<MicroKernelPattern<NeonExactArithmetic>>(
      ctx, orDefault(rowBlock, 1), orDefault(batchBlock, 2));
}
