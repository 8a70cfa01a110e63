//===- LinalgBuilders.h - What the linalg lowerings build with --*- C++ -*-===//
//
// Private to SherryToLinalg: filled tensors, reshapes and linalg.generic
// builders, the codebook, and the Decoder of packed weights that the
// decoding, matmul and repack lowerings share.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_CONVERSION_SHERRYTOLINALG_LINALGBUILDERS_H
#define LIB_CONVERSION_SHERRYTOLINALG_LINALGBUILDERS_H

#include "sherry/Conversion/KernelCommon/Emitter.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"
#include "sherry/Format/Format.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::sherry::linalg_lowering {

namespace format = ::sherry::format;

/// A tensor of `shape` (with dynamic sizes from `dynSizes`, in order) filled
/// with `value`.
inline Value filled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
             Type elementType, TypedAttr value) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  Value v = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, v, empty).getResult(0);
}

inline SmallVector<utils::IteratorType> iterators(ArrayRef<bool> isReduction) {
  SmallVector<utils::IteratorType> out;
  for (bool r : isReduction)
    out.push_back(r ? utils::IteratorType::reduction
                    : utils::IteratorType::parallel);
  return out;
}

/// Views a 2-D R x K tensor as R x (K / size) x size.
inline Value splitLastDim(OpBuilder &b, Location loc, Value v, int64_t size) {
  auto type = cast<RankedTensorType>(v.getType());
  auto split = RankedTensorType::get(
      {type.getDimSize(0), type.getDimSize(1) / size, size},
      type.getElementType());
  return tensor::ExpandShapeOp::create(
      b, loc, split, v, SmallVector<ReassociationIndices>{{0}, {1, 2}});
}

inline Value f32Const(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// A tensor viewed with its last dimension split into (size0, size1, ...).
inline Value expandLast(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> split) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape{type.getDimSize(0)};
  shape.append(split.begin(), split.end());
  ReassociationIndices last;
  for (unsigned i = 0; i < split.size(); ++i)
    last.push_back(i + 1);
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), v,
      SmallVector<ReassociationIndices>{{0}, last});
}

/// An elementwise or reducing linalg.generic with one result.
template <typename BodyFn>
inline Value generic(OpBuilder &b, Location loc, ValueRange ins, Value init,
              ArrayRef<AffineMap> maps, ArrayRef<bool> isReduction,
              BodyFn body) {
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
             iterators(isReduction),
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, ValueRange{body(nb, nl, args)});
             })
      .getResult(0);
}

/// The codebook as a 32 x i8 constant tensor.
inline Value buildCodebook(OpBuilder &b, Location loc) {
  SmallVector<int8_t> bytes(format::kCodebook.begin(), format::kCodebook.end());
  auto type = RankedTensorType::get({32}, b.getI8Type());
  return arith::ConstantOp::create(
      b, loc, type, DenseElementsAttr::get(type, ArrayRef<int8_t>(bytes)));
}

/// Builds the decoding of element (m, k) of packed weights inside a
/// linalg.generic body.
class Decoder : public Emitter {
public:
  /// `rows` (an index) is M, which the tables layout's positions need.
  Decoder(OpBuilder &b, Location loc, LayoutAttr layout, int64_t k,
          Value packed, Value codebook, Value rows = Value())
      : Emitter(b, loc), layout(layout), cols(k), packed(packed),
        codebook(codebook), rows(rows) {}

  /// The ternary value of (m, k) as an i32 in {-1, 0, 1}.
  Value ternary(Value m, Value k) {
    Value group, lane;
    if (!layout.hasStq1_0Grouping()) {
      // Group g = k / 4 holds lane k % 4.
      group = div(k, 4);
      lane = rem(k, 4);
    } else {
      // Block k / 256; inside it, element r = 64c + l + 16p is lane p of
      // group 16c + l.
      Value r = rem(k, 256);
      lane = div(rem(r, 64), 16);
      group = add(mul(div(k, 256), 64), add(mul(div(r, 64), 16), rem(r, 16)));
    }
    Value entry = tensor::ExtractOp::create(
        b, loc, codebook,
        ValueRange{
            arith::IndexCastOp::create(b, loc, b.getIndexType(), code(m, group))});
    Value q = andi(shr(extend(entry), toI32(mul(lane, 2))), 3);
    return arith::SubIOp::create(b, loc, q, i32(1));
  }

  /// The 5-bit code of group g (in the grouping's order) of row m, as an
  /// i32.
  Value code(Value m, Value g) {
    if (layout.isTables())
      return tablesCode(m, g);
    Value slotByte, signByte, bitInSigns;
    if (layout.getFormat() == PackedFormat::Sherry) {
      // Slot nibble in byte g / 2, sign bit in byte K/8 + g / 8 of the row.
      slotByte = byteAt(m, div(g, 2));
      signByte = byteAt(m, add(idx(cols / 8), div(g, 8)));
      bitInSigns = rem(g, 8);
    } else {
      // 42-byte blocks of 64 groups: 32 slot bytes, 8 sign bytes.
      Value base = mul(div(g, 64), 42), gi = rem(g, 64);
      slotByte = byteAt(m, add(base, div(gi, 2)));
      signByte = byteAt(m, add(add(base, idx(32)), div(gi, 8)));
      bitInSigns = rem(gi, 8);
    }
    Value slot = andi(shr(extend(slotByte), toI32(mul(rem(g, 2), 4))), 15);
    Value sign = andi(shr(extend(signByte), toI32(bitInSigns)), 1);
    return arith::OrIOp::create(b, loc, shl(sign, 4), slot);
  }

  /// The scale of (m, k) as an f32.
  Value scale(Value m, Value k, Value scales) {
    if (layout.getFormat() == PackedFormat::Stq1_0) {
      // The f16 scale sits in bytes 40 and 41 of the block, little endian.
      Value base = mul(div(k, 256), 42);
      Value lo = extend(byteAt(m, add(base, idx(40))));
      Value hi = extend(byteAt(m, add(base, idx(41))));
      Value bits = arith::OrIOp::create(b, loc, lo, shl(hi, 8));
      Value half = arith::BitcastOp::create(
          b, loc, b.getF16Type(),
          arith::TruncIOp::create(b, loc, b.getI16Type(), bits));
      return arith::ExtFOp::create(b, loc, b.getF32Type(), half);
    }
    SmallVector<Value> indices;
    switch (layout.getGranularity()) {
    case ScaleGranularity::Tensor:
      indices = {idx(0)};
      break;
    case ScaleGranularity::Row:
      indices = {m};
      break;
    case ScaleGranularity::Group:
      indices = {m, div(k, layout.getGroupSize())};
      break;
    }
    Value s = tensor::ExtractOp::create(b, loc, scales, indices);
    if (!s.getType().isF32())
      s = arith::ExtFOp::create(b, loc, b.getF32Type(), s);
    return s;
  }

  /// Where step s (of `stepBytes`) of `tile` starts in the tables layout:
  /// the tiles of whole blocks interleave step by step, the others do not
  /// (format::interleaveForTables).
  Value tablesStep(Value tile, Value s, int64_t stepBytes) {
    int64_t block = layout.getTileBlock();
    int64_t tileBytes = (cols / 16) * format::kTableStepBytes;
    Value tiles = div(add(rows, idx(format::kTableTileRows - 1)),
                      format::kTableTileRows);
    Value blocked = arith::SubIOp::create(b, loc, tiles, rem(tiles, block));
    Value inBlock =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tile, blocked);
    Value first = arith::SelectOp::create(
        b, loc, inBlock, arith::SubIOp::create(b, loc, tile, rem(tile, block)),
        tile);
    Value width = arith::SelectOp::create(b, loc, inBlock, idx(block), idx(1));
    Value within = add(arith::MulIOp::create(b, loc, s, width),
                       arith::SubIOp::create(b, loc, tile, first));
    return add(mul(first, tileBytes), mul(within, stepBytes));
  }

private:
  /// The code of (m, g) read from the tables layout's positions.
  Value tablesCode(Value m, Value g) {
    Value tile = div(m, format::kTableTileRows);
    Value r = rem(m, format::kTableTileRows);
    if (layout.getTableOrder() == TableOrder::Words) {
      // Four steps of 320 bytes per 64 K elements: five 16-bit words a row.
      Value four = tablesStep(tile, div(g, 16), 4 * format::kTableStepBytes);
      Value f = rem(g, 16);
      auto word = [&](Value v) {
        Value at = add(four, add(mul(v, 64), mul(r, 2)));
        return arith::OrIOp::create(b, loc, extend(byteAt1(at)),
                                    shl(extend(byteAt1(add(at, idx(1)))), 8))
            .getResult();
      };
      Value fields = andi(shr(word(div(f, 3)), toI32(mul(rem(f, 3), 5))), 31);
      Value spread = i32(0);
      for (int64_t v = 0; v < 5; ++v)
        spread = arith::OrIOp::create(b, loc, spread,
                                      shl(andi(shr(word(idx(v)), i32(15)), 1),
                                          4 - v));
      Value last =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, f, idx(15));
      return arith::SelectOp::create(b, loc, last, spread, fields);
    }
    Value step = tablesStep(tile, div(g, 4), format::kTableStepBytes);
    Value i = rem(g, 4);
    // Byte `at` of the step and whether the code is its high nibble.
    Value at, high;
    if (layout.getTableOrder() == TableOrder::Pairs) {
      at = add(mul(r, 2), rem(i, 2));
      high = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, i, idx(2));
    } else {
      at = add(mul(i, 16), rem(r, 16));
      high =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, r, idx(16));
    }
    Value shift = arith::SelectOp::create(b, loc, high, i32(4), i32(0));
    Value slot = andi(shr(extend(byteAt1(add(step, at))), shift), 15);
    Value mask = add(add(step, idx(64)),
                     arith::SelectOp::create(b, loc, high, idx(8), idx(0)));
    Value sign = andi(shr(extend(byteAt1(add(mask, div(at, 8)))),
                          toI32(rem(at, 8))),
                      1);
    return arith::OrIOp::create(b, loc, shl(sign, 4), slot);
  }

  Value byteAt(Value m, Value col) {
    return tensor::ExtractOp::create(b, loc, packed, ValueRange{m, col});
  }
  Value byteAt1(Value at) {
    return tensor::ExtractOp::create(b, loc, packed, ValueRange{at});
  }

  LayoutAttr layout;
  int64_t cols;
  Value packed, codebook, rows;
};

} // namespace mlir::sherry::linalg_lowering

#endif // LIB_CONVERSION_SHERRYTOLINALG_LINALGBUILDERS_H
