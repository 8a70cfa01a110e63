//===- SherryToX86.cpp - sherry.matmul to x86 SIMD kernels ----------------===//
//
// The convert-sherry-to-x86 pass, and the x86 chunk arithmetic of the
// sherry.matmul micro-kernel for int8 mode on AVX-512 with BW, VBMI and VNNI
// (AVX2 and AVX-512BW alone: ShuffleKernel.cpp; the paper's activation
// tables: TableLookup.cpp). A chunk is 64 weights (16 groups):
//
//   vpbroadcastq   the 8 slot bytes into every quadword
//   vpmultishiftqb byte 4j + p takes the 8 bits at 4j - 2: slot j in bits 2-5
//   vpternlogd     (that & 0x3c) | p: a table index 4 * slot + p
//   vpord {k}      + 0x40 in the 4 bytes of each group whose sign bit is set
//                  (the 16 sign bits are the mask register)
//   vpermt2b       a 128-byte table: index 4 * code + p gives lane p of code
//                  as t + 1, in {0, 1, 2}
//   vpdpbusd       unsigned weights by signed int8 activations, 4 per i32
//
// The +1 offset adds each segment's activation sum, which the kernel
// subtracts. The instructions without an x86vector op are sherry_x86 ops;
// the rest is arith on vectors that the backend selects as above.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/Passes.h"

#include "ShuffleKernel.h"
#include "TableLookup.h"

#include "X86Arithmetic.h"

#include "sherry/Conversion/KernelCommon/KernelChoice.h"
#include "sherry/Conversion/KernelCommon/MicroKernel.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"
#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.h"
#include "sherry/Format/Format.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_CONVERTSHERRYTOX86
#include "sherry/Conversion/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

namespace {

class Avx512VnniArithmetic : public X86ChunkArithmetic {
public:
  Value decode(OpBuilder &b, Location loc, const KernelShape &, Value slotBytes,
               Value signBytes) const override {
    auto bytes64 = VectorType::get({64}, b.getI8Type());
    auto dwords = VectorType::get({16}, b.getI32Type());
    SmallVector<int64_t> everyQuadword;
    SmallVector<int8_t> control, lane, upper, lower;
    for (int64_t i = 0; i < 64; ++i) {
      everyQuadword.push_back(i % 8);
      control.push_back(int8_t((4 * (i / 4) + 62) % 64));
      lane.push_back(int8_t(i % 4));
    }
    // Lane p of code c as t + 1, at 4c + p; codes 16.. in the second half.
    for (int64_t i = 0; i < 128; ++i) {
      int8_t q = (format::kCodebook[i / 4] >> (2 * (i % 4))) & 3;
      (i < 64 ? lower : upper).push_back(q);
    }
    Value slots =
        vector::ShuffleOp::create(b, loc, slotBytes, slotBytes, everyQuadword);
    Value fields = x86::MultishiftOp::create(
        b, loc, bytes64, byteVector(b, loc, control), slots);
    Value index = arith::OrIOp::create(
        b, loc,
        arith::AndIOp::create(
            b, loc, fields, byteVector(b, loc, SmallVector<int8_t>(64, 0x3c))),
        byteVector(b, loc, lane));
    // Sign bit j of the 16 selects dword j for +0x40 in each byte.
    Value signs = vector::BitCastOp::create(
        b, loc, VectorType::get({16}, b.getI1Type()), signBytes);
    Value index32 = vector::BitCastOp::create(b, loc, dwords, index);
    Value signed32 = arith::OrIOp::create(
        b, loc, index32,
        arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(dwords, int32_t(0x40404040))));
    index = vector::BitCastOp::create(
        b, loc, bytes64,
        arith::SelectOp::create(b, loc, signs, signed32, index32));
    return x86::Permt2bOp::create(b, loc, bytes64, byteVector(b, loc, lower),
                                  index, byteVector(b, loc, upper));
  }

  Value accumulate(OpBuilder &b, Location loc, const KernelShape &, Value acc,
                   Value x, Value w) const override {
    return x86::DpbusdOp::create(b, loc, acc.getType(), acc, w, x);
  }
};

struct ConvertSherryToX86Pass
    : public mlir::sherry::impl::ConvertSherryToX86Base<
          ConvertSherryToX86Pass> {
  using Base::Base;

  void runOnOperation() override {
    bool avx2 = isa == X86Isa::Avx2;
    if (tableLookup == TableLookup::Words && avx2) {
      getOperation()->emitError()
          << "convert-sherry-to-x86: table-lookup=words needs AVX-512 "
             "(vpermw), got isa=avx2";
      return signalPassFailure();
    }
    if (tableBuild == TableBuild::Step &&
        (avx2 || tableLookup == TableLookup::Bytes)) {
      getOperation()->emitError()
          << "convert-sherry-to-x86: table-build=step builds word tables "
             "(vpermw): it needs AVX-512 and table-lookup 'auto' or "
             "'words', got "
          << (avx2 ? "isa=avx2" : "table-lookup=bytes");
      return signalPassFailure();
    }
    // Measured at N = 1 and 128 (docs/design/2026-11-25-x86-table-kernel.md): AVX2 has half the
    // registers for accumulators twice as wide, so one row at a time.
    int64_t rows = rowBlock ? rowBlock : (avx2 ? 1 : 2);
    int64_t batch = batchBlock ? batchBlock : 8;
    RewritePatternSet tables(&getContext()), decode(&getContext());
    if (strategy != KernelStrategy::Decode)
      tables.add<MatmulToTableKernel>(
          &getContext(),
          createX86TableArithmetics(isa, tableLookup, tableBuild),
          TableKernelOptions{tileBlock, tablesMaxBatch, tableParts,
                             sizeOption(tablePartWeights),
                             sizeOption(tableBytes), tableSiblings,
                             tableWorkStealing});
    if (isa == X86Isa::Avx512Vnni)
      populateSherryToX86Patterns(decode, rows, batch);
    else
      populateByteShuffleKernelPatterns(decode, /*avx512=*/!avx2, rows,
                                        batch);
    if (failed(applyTableAndDecodePatterns(getOperation(), strategy,
                                           onlyMarked, std::move(tables),
                                           std::move(decode))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::sherry::populateSherryToX86Patterns(RewritePatternSet &patterns,
                                               int64_t rowBlock,
                                               int64_t batchBlock) {
  patterns.add<MicroKernelPattern<Avx512VnniArithmetic>,
               MicroKernelPattern<X86ExactArithmetic<Avx512VnniArithmetic>>>(
      patterns.getContext(), rowBlock, batchBlock);
}
