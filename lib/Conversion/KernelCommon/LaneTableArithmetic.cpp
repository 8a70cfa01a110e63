//===- LaneTableArithmetic.cpp - Tables of 16 lanes, looked up by bytes ---===//
//
// The table arithmetic that vpshufb (AVX2, AVX-512BW) and tbl (NEON)
// share: each step's 16-entry tables as low and high bytes, the sign bytes
// spread to lanes, and the lookups added in interleaved int16 sums.
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/KernelCommon/TableKernel.h"

#include "sherry/Conversion/KernelCommon/MicroKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

Value mlir::sherry::canonicalGroupSums(OpBuilder &b, Location loc, Value x16,
                                       ArrayRef<int64_t> groups) {
  int64_t lanes = 16 * groups.size();
  auto words = VectorType::get({lanes}, b.getI16Type());
  Value sum;
  for (int64_t p = 0; p < 4; ++p) {
    SmallVector<int16_t> column;
    SmallVector<int64_t> elements;
    for (int64_t i = 0; i < lanes; ++i) {
      column.push_back(format::decodeGroup(i % 16).value()[p]);
      elements.push_back(4 * groups[i / 16] + p);
    }
    Value x = vector::ShuffleOp::create(b, loc, x16, x16, elements);
    Value term = arith::MulIOp::create(
        b, loc, x,
        arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(words, ArrayRef<int16_t>(column))));
    sum = sum ? arith::AddIOp::create(b, loc, sum, term).getResult() : term;
  }
  return sum;
}

SmallVector<Value> LaneTableArithmetic::buildTables(OpBuilder &b, Location loc,
                                                    Value x16) const {
  Value sums = canonicalGroupSums(b, loc, x16, {0, 1, 2, 3});
  auto words = cast<VectorType>(sums.getType());
  auto bytes = words.clone(b.getI8Type());
  Value low = arith::TruncIOp::create(b, loc, bytes, sums);
  Value eight = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(words, b.getI16IntegerAttr(8)));
  Value high = arith::TruncIOp::create(
      b, loc, bytes, arith::ShRSIOp::create(b, loc, sums, eight));
  return {low, high};
}

Value LaneTableArithmetic::signBytes(OpBuilder &b, Location loc, Value mask8,
                                     int64_t first, int64_t count) {
  SmallVector<int64_t> spread;
  SmallVector<int8_t> bit;
  for (int64_t j = first; j < first + count; ++j) {
    spread.push_back(j / 8);
    bit.push_back(int8_t(1u << (j % 8)));
  }
  Value bits = byteVector(b, loc, bit);
  Value tested = arith::AndIOp::create(
      b, loc, vector::ShuffleOp::create(b, loc, mask8, mask8, spread), bits);
  return arith::ExtSIOp::create(
      b, loc, VectorType::get({count}, b.getI8Type()),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tested, bits));
}

Value LaneTableArithmetic::interleavedSums(OpBuilder &b, Location loc,
                                           Value low, Value high,
                                           int64_t upper) {
  int64_t n = cast<VectorType>(low.getType()).getNumElements();
  SmallVector<int64_t> interleave;
  for (int64_t lane = 0; lane < n / 16; ++lane)
    for (int64_t j = 8 * upper; j < 8 * upper + 8; ++j) {
      interleave.push_back(16 * lane + j);
      interleave.push_back(n + 16 * lane + j);
    }
  return vector::BitCastOp::create(
      b, loc, VectorType::get({n / 2}, b.getI16Type()),
      vector::ShuffleOp::create(b, loc, low, high, interleave));
}

void LaneTableArithmetic::addLookedUp(OpBuilder &b, Location loc,
                                      function_ref<Value(int64_t)> lookup,
                                      Value negative,
                                      MutableArrayRef<Value> acc) {
  Value low = arith::XOrIOp::create(b, loc, lookup(0), negative);
  Value high = arith::XOrIOp::create(b, loc, lookup(1), negative);
  for (int64_t upper = 0; upper < 2; ++upper)
    acc[upper] = arith::AddIOp::create(
        b, loc, acc[upper], interleavedSums(b, loc, low, high, upper));
}
