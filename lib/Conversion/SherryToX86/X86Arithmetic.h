//===- X86Arithmetic.h - What the x86 chunk arithmetics share ---*- C++ -*-===//
//
// Every x86 decode kernel takes int8 mode in chunks of 64 weights, decodes
// them as t + 1 in {0, 1, 2} (unsigned by signed byte products want it) and
// sums 16 i32 lanes per segment; exact mode reuses the decode with f32
// lanes and FMA (ExactFromInt8Arithmetic).
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_LIB_CONVERSION_SHERRYTOX86_X86ARITHMETIC_H
#define SHERRY_LIB_CONVERSION_SHERRYTOX86_X86ARITHMETIC_H

#include "sherry/Conversion/KernelCommon/MicroKernel.h"

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

/// Exact mode on the decode of an x86 int8 arithmetic: 16 f32 lanes (one
/// AVX-512 register, two AVX2 ones) per FMA.
template <typename Int8Arithmetic>
using X86ExactArithmetic = ExactFromInt8Arithmetic<Int8Arithmetic, 16>;

} // namespace mlir::sherry

#endif // SHERRY_LIB_CONVERSION_SHERRYTOX86_X86ARITHMETIC_H
