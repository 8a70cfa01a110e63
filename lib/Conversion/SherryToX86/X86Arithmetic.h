//===- X86Arithmetic.h - What the x86 chunk arithmetics share ---*- C++ -*-===//
//
// Every x86 decode kernel takes int8 mode in chunks of 64 weights, decodes
// them as t + 1 in {0, 1, 2} (unsigned by signed byte products want it) and
// sums 16 i32 lanes per segment; exact mode reuses the decode with f32
// lanes and FMA.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_LIB_CONVERSION_SHERRYTOX86_X86ARITHMETIC_H
#define SHERRY_LIB_CONVERSION_SHERRYTOX86_X86ARITHMETIC_H

#include "sherry/Conversion/SherryToVector/MicroKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::sherry {

class X86ChunkArithmetic : public ChunkArithmetic {
public:
  bool supports(const KernelShape &shape) const override {
    return shape.int8 && shape.chunk == 64;
  }

  VectorType accumulatorType(OpBuilder &b, const KernelShape &) const override {
    return VectorType::get({16}, b.getI32Type());
  }

  Value reduce(OpBuilder &b, Location loc, const KernelShape &,
               Value acc) const override {
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc);
  }

  bool offsetsWeights(const KernelShape &) const override { return true; }
};

/// Exact mode on the decode of an x86 int8 arithmetic: its weights (t + 1
/// bytes) minus 1, widened to f32 16 lanes at a time and multiplied into
/// f32 accumulators by FMA with the activations (f32, or widened from
/// f16/bf16), as the portable kernel's exact mode sums in f32.
template <typename Int8Arithmetic>
class X86ExactArithmetic : public ChunkArithmetic {
public:
  bool supports(const KernelShape &shape) const override {
    return !shape.int8 && shape.chunk == 64;
  }

  VectorType accumulatorType(OpBuilder &b, const KernelShape &) const override {
    return VectorType::get({16}, b.getF32Type());
  }

  Value decode(OpBuilder &b, Location loc, const KernelShape &shape,
               Value slotBytes, Value signBytes) const override {
    Value offset = int8.decode(b, loc, shape, slotBytes, signBytes);
    auto bytes = cast<VectorType>(offset.getType());
    Value one = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(1)));
    return arith::SubIOp::create(b, loc, offset, one);
  }

  Value accumulate(OpBuilder &b, Location loc, const KernelShape &, Value acc,
                   Value x, Value w) const override {
    auto floats = VectorType::get({16}, b.getF32Type());
    for (int64_t q = 0; q < 4; ++q) {
      auto slice = [&](Value v) -> Value {
        return vector::ExtractStridedSliceOp::create(
            b, loc, v, ArrayRef<int64_t>{16 * q}, ArrayRef<int64_t>{16},
            ArrayRef<int64_t>{1});
      };
      Value xq = slice(x);
      if (!cast<VectorType>(xq.getType()).getElementType().isF32())
        xq = arith::ExtFOp::create(b, loc, floats, xq);
      Value wq = arith::SIToFPOp::create(b, loc, floats, slice(w));
      acc = vector::FMAOp::create(b, loc, xq, wq, acc);
    }
    return acc;
  }

  Value reduce(OpBuilder &b, Location loc, const KernelShape &,
               Value acc) const override {
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc);
  }

  bool lanesMajor(const KernelShape &shape) const override {
    return int8.lanesMajor(shape);
  }

private:
  Int8Arithmetic int8;
};

} // namespace mlir::sherry

#endif // SHERRY_LIB_CONVERSION_SHERRYTOX86_X86ARITHMETIC_H
