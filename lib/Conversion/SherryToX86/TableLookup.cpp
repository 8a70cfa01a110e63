//===- TableLookup.cpp - x86 lookups of the activation-table kernel -------===//
//
// Three ways to look up activation tables for 32 rows of interleaved
// weights:
//
// On AVX-512 (avx512-vnni, avx512-bw), where scale segments are multiples
// of 64 elements, 32-entry tables of whole 16-bit sums, signs included
// (format::TableOrder::WordFields): vpermw reads an index's low 5 bits,
// so a row's codes, three to a 16-bit word at bits 0, 5 and 10, need one
// shift each; vpaddw sums 32 rows at once. The tables are built once per
// call into memory, or per step in registers from the activations
// (table-build=step): per group
//
//   vpbroadcastd  its four activations plus 128 (u0 u1 u2 u3), and the
//                 same with the halves swapped (u2 u3 u0 u1)
//   vpmaddubsw    each against the codebook's signs: word w gets two
//                 lanes of code w, the two products the other two
//   vpaddw, vpsubw  the two, less 128 times the code's sign sum
//
// With VBMI (isa avx512-vnni), 64-entry tables hold two groups' 32 codes
// each, signs included, as a low-byte and a high-byte table. Per step and
// tile (format::TableOrder::GroupPairs):
//
//   index = nibble | 32 * (group parity), + 16 where the sign bit is set
//   vpermb      the low and the high bytes of each row's partial sum
//   vpmaddubsw  low bytes (unsigned) and high bytes (signed) of a row's two
//               groups summed in i16 lanes, one lane per row
//
// With vpshufb only (AVX-512BW, AVX2), a 128-bit lane's 16-entry table
// holds one group's 16 canonical codes, and the sign bit applies after the
// lookup (format::TableOrder::Lanes: byte 16i + j holds group i of rows j
// and 16 + j):
//
//   vpshufb     low and high bytes of the sums of 64 (row, group) pairs
//   vpxor       with the sign bits as bytes (vpmovm2b, or on AVX2 a byte
//               shuffle, vpand and vpcmpeqb): ~s = -s - 1 where negative
//   vpunpck     low and high bytes into i16 sums, one per (row, group)
//   vpaddw      into i16 lanes per (row, group lane), summed over the four
//               lanes when they widen to i32
//
// The kernel adds back each row's count of negative groups per segment. AVX2
// does each 512-bit step as two 256-bit halves.
//
//===----------------------------------------------------------------------===//

#include "TableLookup.h"

#include "sherry/Conversion/KernelCommon/MicroKernel.h"
#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

namespace {

Value splat(OpBuilder &b, Location loc, VectorType type, Attribute value) {
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, value));
}

/// The low (half 0) or high (half 1) slot nibbles of the 64 bytes `v`.
Value slotNibbles(OpBuilder &b, Location loc, Value v, int64_t half) {
  auto bytes64 = cast<VectorType>(v.getType());
  Value nibble = v;
  if (half)
    nibble = arith::ShRUIOp::create(
        b, loc, v, splat(b, loc, bytes64, b.getI8IntegerAttr(4)));
  return arith::AndIOp::create(
      b, loc, nibble, splat(b, loc, bytes64, b.getI8IntegerAttr(0x0f)));
}

/// The low bytes and the high bytes of the i16 lanes of `sums`.
std::pair<Value, Value> splitBytes(OpBuilder &b, Location loc, Value sums) {
  auto words = cast<VectorType>(sums.getType());
  auto bytes = words.clone(b.getI8Type());
  Value low = arith::TruncIOp::create(b, loc, bytes, sums);
  Value high = arith::TruncIOp::create(
      b, loc, bytes,
      arith::ShRSIOp::create(b, loc, sums,
                             splat(b, loc, words, b.getI16IntegerAttr(8))));
  return {low, high};
}

/// The sums of the 32 signed codes of each of `groups` of the 16
/// activations `x16`: lane 32i + e holds code e of group groups[i], codes
/// 16..31 being codes 0..15 negated.
Value signedCodeSums(OpBuilder &b, Location loc, Value x16,
                     ArrayRef<int64_t> groups) {
  Value sums = canonicalGroupSums(b, loc, x16, groups);
  Value negated = arith::SubIOp::create(
      b, loc, arith::ConstantOp::create(b, loc, b.getZeroAttr(sums.getType())),
      sums);
  int64_t lanes = 16 * groups.size();
  SmallVector<int64_t> codes;
  for (int64_t i = 0; i < int64_t(groups.size()); ++i)
    for (int64_t sign = 0; sign < 2; ++sign)
      for (int64_t c = 0; c < 16; ++c)
        codes.push_back(sign * lanes + 16 * i + c);
  return vector::ShuffleOp::create(b, loc, sums, negated, codes);
}

class VbmiTableArithmetic : public TableArithmetic {
public:
  format::TableOrder order() const override {
    return format::TableOrder::GroupPairs;
  }
  /// As for word tables: a decode step from DRAM takes a fifth less with 8
  /// tiles than with 4 (docs/design/2026-11-25-x86-table-kernel.md).
  int64_t defaultTileBlock() const override { return 8; }
  bool complementsNegatives() const override { return false; }
  int64_t tableBytes() const override { return 256; }

  /// Per pair of groups (0 and 1, then 2 and 3): the low bytes of both
  /// groups' 32 codes (codes 16..31 are codes 0..15 negated), then their
  /// high bytes.
  SmallVector<Value> buildTables(OpBuilder &b, Location loc,
                                 Value x16) const override {
    SmallVector<Value> pieces;
    for (int64_t pair = 0; pair < 2; ++pair) {
      auto [low, high] = splitBytes(
          b, loc, signedCodeSums(b, loc, x16, {2 * pair, 2 * pair + 1}));
      pieces.push_back(low);
      pieces.push_back(high);
    }
    return pieces;
  }

  SmallVector<Value> loadTables(OpBuilder &, Location,
                                StepReader read) const override {
    return {read(0, 64), read(64, 64), read(128, 64), read(192, 64)};
  }

  SmallVector<VectorType> accumulatorTypes(OpBuilder &b) const override {
    auto words = VectorType::get({32}, b.getI16Type());
    return {words, words};
  }

  /// Each step adds at most 2 * (255 + 255) to an i16 lane.
  int64_t maxStepsPerFlush() const override { return 32; }

  SmallVector<Value> lookup(OpBuilder &b, Location loc, ArrayRef<Value> tables,
                            StepReader weights, ValueRange acc) const override {
    auto bytes64 = VectorType::get({64}, b.getI8Type());
    auto words = VectorType::get({32}, b.getI16Type());
    SmallVector<int8_t> parity;
    for (int64_t i = 0; i < 64; ++i)
      parity.push_back(int8_t(32 * (i % 2)));
    Value groupBit = byteVector(b, loc, parity);
    Value signBit = splat(b, loc, bytes64, b.getI8IntegerAttr(0x10));
    Value one = splat(b, loc, bytes64, b.getI8IntegerAttr(1));
    Value v = weights(0, 64);
    Value lo = acc[0], hi = acc[1];
    for (int64_t half = 0; half < 2; ++half) {
      Value index =
          arith::OrIOp::create(b, loc, slotNibbles(b, loc, v, half), groupBit);
      Value mask = vector::BitCastOp::create(
          b, loc, VectorType::get({64}, b.getI1Type()),
          weights(64 + 8 * half, 8));
      index = arith::SelectOp::create(
          b, loc, mask, arith::OrIOp::create(b, loc, index, signBit), index);
      Value low =
          x86::PermbOp::create(b, loc, bytes64, tables[2 * half], index);
      Value high =
          x86::PermbOp::create(b, loc, bytes64, tables[2 * half + 1], index);
      lo = arith::AddIOp::create(
          b, loc, lo, x86::Maddubsw512Op::create(b, loc, words, low, one));
      hi = arith::AddIOp::create(
          b, loc, hi, x86::Maddubsw512Op::create(b, loc, words, one, high));
    }
    return {lo, hi};
  }

  /// low + 256 * high, exact in i32.
  Value widen(OpBuilder &b, Location loc, ValueRange acc) const override {
    auto dwords = VectorType::get({32}, b.getI32Type());
    Value lo = arith::ExtSIOp::create(b, loc, dwords, acc[0]);
    Value hi = arith::ExtSIOp::create(b, loc, dwords, acc[1]);
    hi = arith::ShLIOp::create(b, loc, hi,
                               splat(b, loc, dwords, b.getI32IntegerAttr(8)));
    return arith::AddIOp::create(b, loc, lo, hi);
  }
};

/// Whole codes index 32-entry tables of 16-bit sums (format::TableOrder::
/// WordFields): per step of 64 K elements (16 groups) and tile, 5 words per
/// row hold 3 codes each at bits 0, 5 and 10, and the 16th code in their
/// top bits; vpermw reads only an index's low 5 bits, so a shift is all it
/// takes to reach a code, and one vpaddw per 32 (row, group) sums.
class WordTableArithmetic : public TableArithmetic {
public:
  format::TableOrder order() const override {
    return format::TableOrder::WordFields;
  }
  int64_t stepElements() const override { return 64; }
  /// One accumulator per tile: 8 tiles and a step's 16 tables fit the 32
  /// registers. Against 4, the cache-resident kernels time the same and a
  /// decode step streaming its weights from DRAM takes a fifth to a quarter
  /// less, a step's table loads serving twice the weights
  /// (docs/design/2026-11-25-x86-table-kernel.md).
  int64_t defaultTileBlock() const override { return 8; }
  bool complementsNegatives() const override { return false; }
  int64_t tableBytes() const override { return 256; }

  /// Per group: its 16 canonical sums, then the same negated (codes 16..31),
  /// as 32 words.
  SmallVector<Value> buildTables(OpBuilder &b, Location loc,
                                 Value x16) const override {
    Value sums = signedCodeSums(b, loc, x16, {0, 1, 2, 3});
    auto bytes64 = VectorType::get({64}, b.getI8Type());
    SmallVector<Value> pieces;
    for (int64_t group = 0; group < 4; ++group)
      pieces.push_back(vector::BitCastOp::create(
          b, loc, bytes64, sliceVector(b, loc, sums, 32 * group, 32)));
    return pieces;
  }

  SmallVector<Value> loadTables(OpBuilder &b, Location loc,
                                StepReader read) const override {
    SmallVector<Value> tables;
    for (int64_t group = 0; group < 16; ++group)
      tables.push_back(words(b, loc, read(64 * group, 64)));
    return tables;
  }

  SmallVector<VectorType> accumulatorTypes(OpBuilder &b) const override {
    return {VectorType::get({32}, b.getI16Type())};
  }

  /// Each step adds 16 sums in [-381, 381] to an i16 lane: 5 * 16 * 381 =
  /// 30480.
  int64_t maxStepsPerFlush() const override { return 5; }

  SmallVector<Value> lookup(OpBuilder &b, Location loc, ArrayRef<Value> tables,
                            StepReader weights, ValueRange acc) const override {
    auto words32 = VectorType::get({32}, b.getI16Type());
    auto shift = [&](int64_t by) {
      return splat(b, loc, words32, b.getI16IntegerAttr(by));
    };
    Value sum = acc[0], top;
    auto add = [&](Value table, Value index) {
      sum = arith::AddIOp::create(
          b, loc, sum, x86::PermwOp::create(b, loc, words32, table, index));
    };
    for (int64_t v = 0; v < 5; ++v) {
      Value x = words(b, loc, weights(64 * v, 64));
      for (int64_t j = 0; j < 3; ++j)
        add(tables[3 * v + j],
            j ? arith::ShRUIOp::create(b, loc, x, shift(5 * j)).getResult()
              : x);
      // Bit 15 of word v is bit 4 - v of the 16th code.
      Value bit = arith::ShRUIOp::create(b, loc, x, shift(15));
      top = v ? arith::OrIOp::create(
                    b, loc, arith::ShLIOp::create(b, loc, top, shift(1)), bit)
                    .getResult()
              : bit;
    }
    add(tables[15], top);
    return {sum};
  }

  Value widen(OpBuilder &b, Location loc, ValueRange acc) const override {
    return arith::ExtSIOp::create(b, loc, VectorType::get({32}, b.getI32Type()),
                                  acc[0]);
  }

private:
  static Value words(OpBuilder &b, Location loc, Value bytes64) {
    return vector::BitCastOp::create(
        b, loc, VectorType::get({32}, b.getI16Type()), bytes64);
  }
};

/// Word tables built per step in registers, from activation bytes that
/// stay in L1, instead of read from 1 KiB of tables per step that a block's
/// weight stream evicts from L1 (docs/design/2026-11-25-x86-table-kernel.md). Per group, two dword
/// broadcasts of its four activations plus 128 (u0 u1 u2 u3, and u2 u3 u0
/// u1) meet the codebook's signs in two vpmaddubsw, each word lane summing
/// two of a code's lanes; their sum less 128 times the code's sign sum is
/// the code's sum, signs included, as the memory tables hold it.
class StepWordTableArithmetic : public WordTableArithmetic {
public:
  explicit StepWordTableArithmetic(int64_t maxRows) : rows(maxRows) {}

  int64_t maxRows() const override { return rows; }
  /// A step's build serves twice the tiles: in cache, 16 tiles take 2-7%
  /// less time than 8 at N = 1 (docs/design/2026-11-25-x86-table-kernel.md).
  int64_t defaultTileBlock() const override { return 16; }
  /// Per 16 K elements: the activations plus 128 as bytes, then the same
  /// with the two halves of each group swapped.
  int64_t tableBytes() const override { return 32; }

  SmallVector<Value> buildTables(OpBuilder &b, Location loc,
                                 Value x16) const override {
    auto bytes16 = VectorType::get({16}, b.getI8Type());
    Value u = arith::XOrIOp::create(
        b, loc, arith::TruncIOp::create(b, loc, bytes16, x16),
        splat(b, loc, bytes16, b.getI8IntegerAttr(-128)));
    SmallVector<int64_t> swapped;
    for (int64_t i = 0; i < 16; ++i)
      swapped.push_back(i ^ 2);
    return {u, vector::ShuffleOp::create(b, loc, u, u, swapped)};
  }

  SmallVector<Value> loadTables(OpBuilder &b, Location loc,
                                StepReader read) const override {
    auto bytes64 = VectorType::get({64}, b.getI8Type());
    auto words32 = VectorType::get({32}, b.getI16Type());
    auto dwords16 = VectorType::get({16}, b.getI32Type());
    // Byte 4i + j of `pairs[0]` (`pairs[1]`) multiplies activation lane j
    // (j ^ 2) for word 2i + j / 2: lanes 0 and 1 of even codes, 2 and 3 of
    // odd ones (the reverse).
    std::array<format::Group, 32> codes;
    SmallVector<int16_t> offsets;
    for (int64_t e = 0; e < 32; ++e) {
      codes[e] = format::decodeGroup(e).value();
      int64_t sum = 0;
      for (int8_t t : codes[e])
        sum += t;
      offsets.push_back(int16_t(128 * sum));
    }
    SmallVector<int8_t> pairs[2];
    for (int64_t i = 0; i < 64; ++i) {
      const format::Group &code = codes[2 * (i / 4) + (i % 4) / 2];
      int64_t lane = i % 4;
      pairs[0].push_back(code[lane]);
      pairs[1].push_back(code[lane ^ 2]);
    }
    Value signs[2] = {
        arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(bytes64, ArrayRef(pairs[0]))),
        arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(bytes64, ArrayRef(pairs[1])))};
    Value offset = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(words32, ArrayRef(offsets)));
    SmallVector<Value> tables;
    for (int64_t group = 0; group < 16; ++group) {
      Value halves[2];
      for (int64_t half = 0; half < 2; ++half) {
        Value four = read(32 * (group / 4) + 16 * half + 4 * (group % 4), 4);
        Value dword = vector::ExtractOp::create(
            b, loc,
            vector::BitCastOp::create(
                b, loc, VectorType::get({1}, b.getI32Type()), four),
            ArrayRef<int64_t>{0});
        Value spread = vector::BitCastOp::create(
            b, loc, bytes64,
            vector::BroadcastOp::create(b, loc, dwords16, dword));
        halves[half] =
            x86::Maddubsw512Op::create(b, loc, words32, spread, signs[half]);
      }
      tables.push_back(arith::SubIOp::create(
          b, loc, arith::AddIOp::create(b, loc, halves[0], halves[1]), offset));
    }
    return tables;
  }

private:
  int64_t rows;
};

class ShuffleTableArithmetic : public LaneTableArithmetic {
public:
  explicit ShuffleTableArithmetic(bool avx512) : avx512(avx512) {}

  SmallVector<Value> loadTables(OpBuilder &, Location,
                                StepReader read) const override {
    return {read(0, 64), read(64, 64)};
  }

  /// For the rows of each nibble (0..15, 16..31), words 8L + w of the first
  /// (second) accumulator hold row w (8 + w) of the tile's group lane L. On
  /// AVX2 a 256-bit accumulator holds group lanes L and L + 2 together: a
  /// tile's sums then take 4 registers instead of 8, so that a block of
  /// tiles and the step's tables fit the 16 registers without spilling.
  SmallVector<VectorType> accumulatorTypes(OpBuilder &b) const override {
    return SmallVector<VectorType>(
        4, VectorType::get({avx512 ? 32 : 16}, b.getI16Type()));
  }

  /// Each step adds a value in [-382, 381] to an i16 lane, on AVX2 two.
  int64_t maxStepsPerFlush() const override { return avx512 ? 85 : 42; }

  /// On AVX2, four activation rows share each step's nibbles and sign
  /// masks, which take a third of a step's instructions: at N = 128 the
  /// lookups take 17-20% less time than one row at a time (two rows: 8-12%).
  int64_t rowsPerPass() const override { return avx512 ? 1 : 4; }

  /// On AVX2, as many tiles as keep their 4 accumulators each, the step's
  /// 4 table registers and the lookup's temporaries in 16 registers.
  int64_t defaultTileBlock() const override { return avx512 ? 4 : 2; }

  /// AVX2 takes two instructions for each 512-bit one, and without mask
  /// registers three more per 32 sign bits: a 512 x 2048 matmul at N = 1
  /// takes 8.7 us on two threads against 11.7 us on one.
  int64_t relativeWeightCost() const override { return avx512 ? 1 : 4; }

  SmallVector<Value> lookup(OpBuilder &b, Location loc, ArrayRef<Value> tables,
                            StepReader weights, ValueRange acc) const override {
    Value v = weights(0, 64);
    SmallVector<Value> next(acc.begin(), acc.end());
    for (int64_t half = 0; half < 2; ++half) {
      Value index = slotNibbles(b, loc, v, half);
      Value negative = signs(b, loc, weights(64 + 8 * half, 8));
      auto lookup = [&](int64_t high) {
        return shuffle(b, loc, tables[high], index);
      };
      if (avx512) {
        addLookedUp(b, loc, lookup, negative,
                    MutableArrayRef<Value>(next).slice(2 * half, 2));
        continue;
      }
      // Both 256-bit halves (group lanes 0 and 1, 2 and 3) into one.
      Value low = arith::XOrIOp::create(b, loc, lookup(0), negative);
      Value high = arith::XOrIOp::create(b, loc, lookup(1), negative);
      for (int64_t upper = 0; upper < 2; ++upper) {
        Value sums = interleavedSums(b, loc, low, high, upper);
        Value &a = next[2 * half + upper];
        a = arith::AddIOp::create(b, loc, a, sliceVector(b, loc, sums, 0, 16));
        a = arith::AddIOp::create(b, loc, a,
                                  sliceVector(b, loc, sums, 16, 16));
      }
    }
    return next;
  }

  /// Accumulator a holds rows 8a..8a+7, once per group lane (AVX2: per pair
  /// of group lanes): the sum of its four (two) 8-word lanes.
  Value widen(OpBuilder &b, Location loc, ValueRange acc) const override {
    int64_t words = avx512 ? 32 : 16;
    auto dwords = VectorType::get({words}, b.getI32Type());
    SmallVector<Value> rows;
    for (Value a : acc) {
      Value wide = arith::ExtSIOp::create(b, loc, dwords, a);
      Value sum = sliceVector(b, loc, wide, 0, 8);
      for (int64_t lane = 1; lane < words / 8; ++lane)
        sum = arith::AddIOp::create(b, loc, sum,
                                    sliceVector(b, loc, wide, 8 * lane, 8));
      rows.push_back(sum);
    }
    return concatVectors(b, loc, rows);
  }

private:
  /// The 64 sign bits of 8 bytes as a byte each, 0 or -1: from a mask
  /// register on AVX-512 (vpmovm2b); spread and tested on AVX2.
  Value signs(OpBuilder &b, Location loc, Value bits8) const {
    if (!avx512)
      return signBytes(b, loc, bits8, 0, 64);
    return arith::ExtSIOp::create(
        b, loc, VectorType::get({64}, b.getI8Type()),
        vector::BitCastOp::create(b, loc, VectorType::get({64}, b.getI1Type()),
                                  bits8));
  }

  /// vpshufb over 64 bytes: one AVX-512BW instruction or two AVX2 ones.
  Value shuffle(OpBuilder &b, Location loc, Value table, Value index) const {
    if (avx512)
      return x86::Pshufb512Op::create(b, loc, table.getType(), table, index);
    auto bytes32 = VectorType::get({32}, b.getI8Type());
    SmallVector<Value> halves;
    for (int64_t h = 0; h < 2; ++h)
      halves.push_back(x86::Pshufb256Op::create(
          b, loc, bytes32, sliceVector(b, loc, table, 32 * h, 32),
          sliceVector(b, loc, index, 32 * h, 32)));
    return concatVectors(b, loc, halves);
  }

  bool avx512;
};

} // namespace

TableArithmetics mlir::sherry::createX86TableArithmetics(X86Isa isa,
                                                         TableLookup lookup,
                                                         TableBuild build) {
  TableArithmetics arithmetics;
  if (isa != X86Isa::Avx2 && lookup != TableLookup::Bytes) {
    if (build != TableBuild::Call)
      arithmetics.push_back(std::make_unique<StepWordTableArithmetic>(
          /*maxRows=*/build == TableBuild::Auto ? 1 : 0));
    if (build != TableBuild::Step)
      arithmetics.push_back(std::make_unique<WordTableArithmetic>());
  }
  if (lookup == TableLookup::Words)
    return arithmetics;
  if (isa == X86Isa::Avx512Vnni)
    arithmetics.push_back(std::make_unique<VbmiTableArithmetic>());
  // Last on avx512-vnni: for weights that arrive in the lanes order.
  arithmetics.push_back(std::make_unique<ShuffleTableArithmetic>(
      /*avx512=*/isa != X86Isa::Avx2));
  return arithmetics;
}
