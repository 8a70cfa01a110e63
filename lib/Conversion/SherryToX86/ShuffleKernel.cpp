//===- ShuffleKernel.cpp - sherry.matmul on AVX2 and AVX-512BW ------------===//
//
// The x86 chunk arithmetic for CPUs without VBMI and VNNI: AVX2, and
// AVX-512 with BW. Their only byte table lookup is vpshufb, 16 entries per
// 128-bit lane, which is just what a 4-bit slot indexes. So a chunk of 64
// weights (16 groups) is decoded lane-major: 128-bit lane p holds lane p of
// the 16 groups, looked up in a table of that lane's values, and the
// kernel reorders the activations to match once per call.
//
//   vpbroadcastq + vpunpcklbw  slot byte w into the low byte of word w of
//                              each 128-bit lane (zero above)
//   vpsllw, vpternlog          word | word << 4, & 0x0f: slot j in byte j
//   vpshufb                    lane p of slot j as t + 1, in {0, 1, 2}
//   kmovw, 2 x kunpck          the 16 sign bits, once per 128-bit lane
//   vpsubb {k}                 2 - v where the sign bit is set
//   vpmaddubsw, vpmaddwd       unsigned weights by signed activations into
//                              i16 pairs (at most 2 * 2 * 127, no
//                              saturation), then i32, per activation row
//
// AVX2 runs each 512-bit step as two 256-bit halves and, without mask
// registers, spreads the sign bytes with a byte shuffle, vpand and vpcmpeqb
// and selects with vpblendvb. The +1 offset adds each segment's activation
// sum, which the kernel subtracts. Exact mode reuses the decode
// (X86ExactArithmetic).
//
//===----------------------------------------------------------------------===//

#include "ShuffleKernel.h"

#include "X86Arithmetic.h"

#include "sherry/Conversion/KernelCommon/MicroKernel.h"
#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.h"
#include "sherry/Format/Format.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

namespace {

/// A splat i8 vector of 64 lanes.
Value splat64(OpBuilder &b, Location loc, int8_t value) {
  return byteVector(b, loc, SmallVector<int8_t>(64, value));
}

class ByteShuffleArithmetic : public X86ChunkArithmetic {
public:
  explicit ByteShuffleArithmetic(bool avx512) : avx512(avx512) {}

  Value decode(OpBuilder &b, Location loc, const KernelShape &, Value slotBytes,
               Value signBytes) const override {
    auto bytes64 = VectorType::get({64}, b.getI8Type());
    auto words32 = VectorType::get({32}, b.getI16Type());
    // Byte 16p + 2w takes slot byte w (groups 2w and 2w + 1), byte 16p +
    // 2w + 1 a zero; shuffle index 8 is the zero vector's first byte.
    SmallVector<int64_t> spread, signSpread;
    SmallVector<int8_t> table, bit;
    for (int64_t i = 0; i < 64; ++i) {
      int64_t j = i % 16;
      spread.push_back(j % 2 == 0 ? j / 2 : 8);
      signSpread.push_back(j / 8);
      bit.push_back(int8_t(1u << (j % 8)));
      table.push_back(int8_t((format::kCodebook[j] >> (2 * (i / 16))) & 3));
    }
    Value zeros = byteVector(b, loc, SmallVector<int8_t>(8, 0));
    Value words = vector::BitCastOp::create(
        b, loc, words32,
        vector::ShuffleOp::create(b, loc, slotBytes, zeros, spread));
    Value four = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(words32, int16_t(4)));
    words = arith::OrIOp::create(b, loc, words,
                                 arith::ShLIOp::create(b, loc, words, four));
    Value index = arith::AndIOp::create(
        b, loc, vector::BitCastOp::create(b, loc, bytes64, words),
        splat64(b, loc, 0x0f));
    Value values = lookup(b, loc, byteVector(b, loc, table), index);

    Value negative;
    if (avx512) {
      // The 16 sign bits as a mask, repeated in each 128-bit lane's 16
      // bytes: kmovw and two kunpck.
      Value bits = vector::BitCastOp::create(
          b, loc, VectorType::get({16}, b.getI1Type()), signBytes);
      SmallVector<int64_t> twice;
      for (int64_t i = 0; i < 32; ++i)
        twice.push_back(i % 16);
      bits = vector::ShuffleOp::create(b, loc, bits, bits, twice);
      SmallVector<int64_t> all;
      for (int64_t i = 0; i < 64; ++i)
        all.push_back(i);
      negative = vector::ShuffleOp::create(b, loc, bits, bits, all);
    } else {
      Value signs = arith::AndIOp::create(
          b, loc,
          vector::ShuffleOp::create(b, loc, signBytes, signBytes, signSpread),
          byteVector(b, loc, bit));
      negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, signs,
                                       splat64(b, loc, 0));
    }
    Value flipped = arith::SubIOp::create(b, loc, splat64(b, loc, 2), values);
    return arith::SelectOp::create(b, loc, negative, flipped, values);
  }

  Value accumulate(OpBuilder &b, Location loc, const KernelShape &, Value acc,
                   Value x, Value w) const override {
    Value sum;
    if (avx512) {
      auto words32 = VectorType::get({32}, b.getI16Type());
      Value pairs = x86::Maddubsw512Op::create(b, loc, words32, w, x);
      Value ones = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(words32, int16_t(1)));
      sum = x86::Pmaddwd512Op::create(b, loc, acc.getType(), pairs, ones);
    } else {
      auto words16 = VectorType::get({16}, b.getI16Type());
      auto dwords8 = VectorType::get({8}, b.getI32Type());
      Value ones = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(words16, int16_t(1)));
      SmallVector<Value> halves;
      for (int64_t h = 0; h < 2; ++h) {
        Value pairs = x86::Maddubsw256Op::create(
            b, loc, words16, sliceVector(b, loc, w, 32 * h, 32),
            sliceVector(b, loc, x, 32 * h, 32));
        halves.push_back(
            x86::Pmaddwd256Op::create(b, loc, dwords8, pairs, ones));
      }
      sum = concatVectors(b, loc, {halves[0], halves[1]});
    }
    return arith::AddIOp::create(b, loc, acc, sum);
  }

  bool lanesMajor(const KernelShape &) const override { return true; }

private:
  /// vpshufb over 64 bytes: one AVX-512BW instruction or two AVX2 ones.
  Value lookup(OpBuilder &b, Location loc, Value table, Value index) const {
    if (avx512)
      return x86::Pshufb512Op::create(b, loc, table.getType(), table, index);
    SmallVector<Value> halves;
    for (int64_t h = 0; h < 2; ++h)
      halves.push_back(
          x86::Pshufb256Op::create(b, loc, VectorType::get({32}, b.getI8Type()),
                                   sliceVector(b, loc, table, 32 * h, 32),
                                   sliceVector(b, loc, index, 32 * h, 32)));
    return concatVectors(b, loc, {halves[0], halves[1]});
  }

  bool avx512;
};

struct Avx512BwArithmetic : ByteShuffleArithmetic {
  Avx512BwArithmetic() : ByteShuffleArithmetic(/*avx512=*/true) {}
};

struct Avx2Arithmetic : ByteShuffleArithmetic {
  Avx2Arithmetic() : ByteShuffleArithmetic(/*avx512=*/false) {}
};

} // namespace

void mlir::sherry::populateByteShuffleKernelPatterns(
    RewritePatternSet &patterns, bool avx512, int64_t rowBlock,
    int64_t batchBlock) {
  if (avx512)
    patterns.add<MicroKernelPattern<Avx512BwArithmetic>,
                 MicroKernelPattern<X86ExactArithmetic<Avx512BwArithmetic>>>(
        patterns.getContext(), rowBlock, batchBlock);
  else
    patterns.add<MicroKernelPattern<Avx2Arithmetic>,
                 MicroKernelPattern<X86ExactArithmetic<Avx2Arithmetic>>>(
        patterns.getContext(), rowBlock, batchBlock);
}
