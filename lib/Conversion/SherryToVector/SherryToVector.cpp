//===- SherryToVector.cpp - sherry.matmul to a portable micro-kernel ------===//
//
// The portable chunk arithmetic of the sherry.matmul micro-kernel: a chunk
// of 32 or 64 packed weights decodes straight into a vector of ternary
// lanes by arithmetic on the 5-bit codes and multiply-accumulates with
// activation vectors; decoded weights never reach memory. Upstream vector
// and arith ops only, so the kernel is correct on every LLVM target.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/Passes.h"

#include "sherry/Conversion/KernelCommon/KernelChoice.h"
#include "sherry/Conversion/KernelCommon/MicroKernel.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
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

/// Upstream vector/arith arithmetic: arithmetic decoding; int8 products in
/// i8 (exact: |x| <= 127, w in {-1, 0, 1}) summed in i16 lanes while a
/// segment cannot overflow them, i32 otherwise; f32 lanes in exact mode.
class PortableArithmetic : public ChunkArithmetic {
public:
  bool supports(const KernelShape &) const override { return true; }

  VectorType accumulatorType(OpBuilder &b,
                             const KernelShape &shape) const override {
    Type element = b.getF32Type();
    if (shape.int8)
      element = (shape.segment / shape.chunk) * 127 <= 32767 ? b.getI16Type()
                                                             : b.getI32Type();
    return VectorType::get({shape.chunk}, element);
  }

  Value decode(OpBuilder &b, Location loc, const KernelShape &shape,
               Value slotBytes, Value signBytes) const override {
    Value w = decodeTernary(b, loc, slotBytes, signBytes, shape.chunk / 4);
    if (shape.int8)
      return w;
    return arith::SIToFPOp::create(
        b, loc, VectorType::get({shape.chunk}, b.getF32Type()), w);
  }

  Value accumulate(OpBuilder &b, Location loc, const KernelShape &shape,
                   Value acc, Value x, Value w) const override {
    if (shape.int8) {
      Value p = arith::MulIOp::create(b, loc, x, w);
      p = arith::ExtSIOp::create(b, loc, acc.getType(), p);
      return arith::AddIOp::create(b, loc, acc, p);
    }
    if (cast<VectorType>(x.getType()).getElementType() != b.getF32Type())
      x = arith::ExtFOp::create(b, loc, w.getType(), x);
    return arith::AddFOp::create(b, loc, acc,
                                 arith::MulFOp::create(b, loc, x, w));
  }

  Value reduce(OpBuilder &b, Location loc, const KernelShape &shape,
               Value acc) const override {
    if (shape.int8)
      acc = arith::ExtSIOp::create(
          b, loc, VectorType::get({shape.chunk}, b.getI32Type()), acc);
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc);
  }
};

struct ConvertSherryToVectorPass
    : public mlir::sherry::impl::ConvertSherryToVectorBase<
          ConvertSherryToVectorPass> {
  using Base::Base;

  void runOnOperation() override {
    if (rowBlock < 1) {
      getOperation()->emitError()
          << "convert-sherry-to-vector: row-block must be at least 1, got "
          << int64_t(rowBlock);
      return signalPassFailure();
    }
    if (batchBlock < 1) {
      getOperation()->emitError()
          << "convert-sherry-to-vector: batch-block must be at least 1, got "
          << int64_t(batchBlock);
      return signalPassFailure();
    }
    // A matmul marked for a target kernel that did not take it (no such
    // kernel on the target, or not for this op) runs the portable one.
    getOperation()->walk([](MatmulOp op) {
      std::optional<MatmulKernel> chosen = op.getChosenKernel();
      if (chosen == MatmulKernel::Tables || chosen == MatmulKernel::Decode)
        op.emitWarning() << "sherry.kernel = " << stringifyMatmulKernel(*chosen)
                         << ": no " << stringifyMatmulKernel(*chosen)
                         << " kernel of the target took this matmul; it "
                            "runs the portable kernel";
    });
    RewritePatternSet patterns(&getContext());
    populateSherryToVectorPatterns(patterns, rowBlock, batchBlock);
    // Every matmul but those marked linalg.
    if (failed(applyKernelPatterns(
            getOperation(), std::move(patterns),
            KernelSelection{{MatmulKernel::Portable, MatmulKernel::Tables,
                             MatmulKernel::Decode},
                            !onlyMarked})))
      return signalPassFailure();
  }
};

} // namespace

void mlir::sherry::populateSherryToVectorPatterns(RewritePatternSet &patterns,
                                                  int64_t rowBlock,
                                                  int64_t batchBlock) {
  patterns.add<MicroKernelPattern<PortableArithmetic>>(patterns.getContext(),
                                                       rowBlock, batchBlock);
}

/// A constant i8 vector holding `values`.
Value mlir::sherry::byteVector(OpBuilder &b, Location loc,
                               ArrayRef<int8_t> values) {
  auto type = VectorType::get({int64_t(values.size())}, b.getI8Type());
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(type, values));
}

Value mlir::sherry::sliceVector(OpBuilder &b, Location loc, Value v,
                                int64_t offset, int64_t size) {
  return vector::ExtractStridedSliceOp::create(
      b, loc, v, ArrayRef<int64_t>{offset}, ArrayRef<int64_t>{size},
      ArrayRef<int64_t>{1});
}

Value mlir::sherry::concatVectors(OpBuilder &b, Location loc,
                                  ArrayRef<Value> parts) {
  Value all = parts.front();
  for (Value part : parts.drop_front()) {
    int64_t n = cast<VectorType>(all.getType()).getNumElements() +
                cast<VectorType>(part.getType()).getNumElements();
    all = vector::ShuffleOp::create(b, loc, all, part,
                                    llvm::to_vector(llvm::seq<int64_t>(0, n)));
  }
  return all;
}

/// Decodes `groups` consecutive groups into 4 * groups ternary i8 lanes in
/// group-major order (lane p of group j at 4j + p). `slotBytes` holds their
/// groups / 2 slot bytes and `signBytes` their sign bits, group j at bit
/// j % 8 of byte j / 8. The decoding is arithmetic on the 5-bit code
/// (spec/format.md, section 2): lane p is 0 where p is the zero lane z;
/// otherwise it is the (p - [p > z])-th non-zero lane, whose value is the
/// first non-zero lane's sign flipped by slot bit b0 (second) or b1 (third).
Value mlir::sherry::decodeTernary(OpBuilder &b, Location loc, Value slotBytes,
                                  Value signBytes, int64_t groups) {
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
  auto splat = [&](int8_t v) {
    return byteVector(b, loc, SmallVector<int8_t>(lanes, v));
  };
  auto shr = [&](Value v, Value amount) -> Value {
    return arith::ShRUIOp::create(b, loc, v, amount);
  };
  auto andi = [&](Value v, int8_t mask) -> Value {
    return arith::AndIOp::create(b, loc, v, splat(mask));
  };
  Value slot =
      andi(shr(vector::ShuffleOp::create(b, loc, slotBytes, slotBytes, slotOf),
               byteVector(b, loc, slotShift)),
           15);
  Value sign =
      andi(shr(vector::ShuffleOp::create(b, loc, signBytes, signBytes, signOf),
               byteVector(b, loc, signShift)),
           1);
  Value p = byteVector(b, loc, lane);
  Value zeroLane = shr(slot, splat(2));
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
  Value flips = arith::ShLIOp::create(b, loc, andi(slot, 3), splat(1));
  Value flip = andi(shr(flips, rank), 1);
  Value negative = arith::XOrIOp::create(b, loc, sign, flip);
  // 1 - 2 * negative: +1 or -1.
  Value value = arith::SubIOp::create(
      b, loc, splat(1), arith::ShLIOp::create(b, loc, negative, splat(1)));
  return arith::SelectOp::create(b, loc, isZero, splat(0), value);
}
