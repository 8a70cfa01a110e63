//===- Emitter.h - Small builders for the kernel lowerings ------*- C++ -*-===//
//
// The constants, index arithmetic, conversions and vector reads that the
// linalg lowering, the micro-kernel and the table kernel build at one
// insertion point.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_CONVERSION_KERNELCOMMON_EMITTER_H
#define SHERRY_CONVERSION_KERNELCOMMON_EMITTER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::sherry {

/// `v` (a float scalar or vector) as f32: itself where it is f32, else
/// extended.
inline Value toF32(OpBuilder &b, Location loc, Value v) {
  Type f32 = b.getF32Type();
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    return vt.getElementType().isF32()
               ? v
               : arith::ExtFOp::create(b, loc, vt.clone(f32), v).getResult();
  return v.getType().isF32()
             ? v
             : arith::ExtFOp::create(b, loc, f32, v).getResult();
}

/// Small builders over one insertion point.
struct Emitter {
  Emitter(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  }
  Value f32(float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }

  // Integer arithmetic, unsigned where it matters (indices and codes are
  // never negative); a constant operand is an index.
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t c) { return mul(x, idx(c)); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value div(Value x, int64_t c) { return div(x, idx(c)); }
  Value div(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value rem(Value x, int64_t c) { return rem(x, idx(c)); }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }

  // Bits of i32 values; a constant operand is an i32.
  Value shr(Value v, int64_t n) { return shr(v, i32(n)); }
  Value shr(Value v, Value n) { return arith::ShRUIOp::create(b, loc, v, n); }
  Value shl(Value v, int64_t n) {
    return arith::ShLIOp::create(b, loc, v, i32(n));
  }
  Value andi(Value v, int64_t mask) {
    return arith::AndIOp::create(b, loc, v, i32(mask));
  }
  Value ori(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  /// An index as i32.
  Value toI32(Value index) {
    return arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
  }
  /// A narrower integer (a byte) zero-extended to i32.
  Value extend(Value v) {
    return arith::ExtUIOp::create(b, loc, b.getI32Type(), v);
  }
  /// The low byte of an integer.
  Value toByte(Value v) {
    return arith::TruncIOp::create(b, loc, b.getI8Type(), v);
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
  Value toF32(Value v) { return sherry::toF32(b, loc, v); }
  Value extract(Value t, ValueRange indices) {
    return tensor::ExtractOp::create(b, loc, t, indices);
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

  /// `len` contiguous elements of row `row` of the 2-D tensor `t`, from
  /// column `col`.
  Value read(Value t, Value row, Value col, int64_t len) {
    return read(t, ValueRange{row, col}, len);
  }

  OpBuilder &b;
  Location loc;
};

} // namespace mlir::sherry

#endif // SHERRY_CONVERSION_KERNELCOMMON_EMITTER_H
