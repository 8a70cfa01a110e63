//===- MicroKernel.h - The sherry.matmul micro-kernel skeleton --*- C++ -*-===//
//
// The loops of a sherry.matmul kernel (output rows, blocks of activation
// rows, scale segments, chunks of 32 or 64 weights) are the same on every
// target; what a target changes is how a chunk of packed bytes becomes
// weight lanes and how those meet activations. A ChunkArithmetic says that,
// and lowerMatmulToMicroKernel builds the loops around it.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_CONVERSION_KERNELCOMMON_MICROKERNEL_H
#define SHERRY_CONVERSION_KERNELCOMMON_MICROKERNEL_H

#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::sherry {

/// How sherry.matmul's K is cut: into scale segments (one weight scale
/// each) and, inside a segment, into chunks decoded at once.
struct KernelShape {
  PackedFormat format;
  ScaleGranularity granularity;
  int64_t k;
  int64_t segment; ///< elements per scale segment
  int64_t chunk;   ///< elements per chunk: 32, 64 or 128, whole sign bytes
  bool int8;       ///< int8 activation mode (else exact)

  /// The shape of `op`'s kernel, or failure (with the reason) where K is
  /// dynamic or scale segments do not hold whole chunks of 32.
  static FailureOr<KernelShape> get(MatmulOp op, std::string &reason);
};

/// The target-dependent arithmetic of one chunk.
class ChunkArithmetic {
public:
  virtual ~ChunkArithmetic();

  /// Whether this arithmetic handles `shape` at all.
  virtual bool supports(const KernelShape &shape) const = 0;
  /// The per-activation-row accumulator of a segment.
  virtual VectorType accumulatorType(OpBuilder &b,
                                     const KernelShape &shape) const = 0;
  /// The weights of a chunk from its `chunk / 8` slot bytes and `chunk / 32`
  /// sign bytes (vectors of i8), in the form accumulate() takes, lane order
  /// group-major (lane p of group j at 4j + p) unless lanesMajor().
  virtual Value decode(OpBuilder &b, Location loc, const KernelShape &shape,
                       Value slotBytes, Value signBytes) const = 0;
  /// acc + x * w over a chunk; `x` holds the chunk's activations (i8 in int8
  /// mode, the input type in exact mode).
  virtual Value accumulate(OpBuilder &b, Location loc, const KernelShape &shape,
                           Value acc, Value x, Value w) const = 0;
  /// The sum of an accumulator: i32 in int8 mode, f32 in exact mode.
  virtual Value reduce(OpBuilder &b, Location loc, const KernelShape &shape,
                       Value acc) const = 0;
  /// Whether int8 weights come out of decode() offset by +1 (in {0, 1, 2},
  /// as unsigned-by-signed dot products want): each segment's sum then
  /// exceeds the true one by the segment's activation sum, which the kernel
  /// subtracts.
  virtual bool offsetsWeights(const KernelShape &shape) const { return false; }
  /// Whether decode() returns a chunk of 64 lane-major (lane p of group j at
  /// 16p + j) instead of group-major, as per-128-bit-lane byte shuffles
  /// want: the kernel then reorders the activations to match, once per call.
  virtual bool lanesMajor(const KernelShape &shape) const { return false; }
  /// The elements decoded at once for `shape` (whose `chunk` is the
  /// kernel's default): a multiple of `shape.chunk` that divides the scale
  /// segment, which becomes the chunk the other methods see. Wider chunks
  /// let an arithmetic share instructions between neighbouring chunks.
  virtual int64_t chunkSize(const KernelShape &shape) const {
    return shape.chunk;
  }
};

/// A constant i8 vector holding `values`.
Value byteVector(OpBuilder &b, Location loc, ArrayRef<int8_t> values);

/// Elements [offset, offset + size) of the 1-D vector `v`.
Value sliceVector(OpBuilder &b, Location loc, Value v, int64_t offset,
                  int64_t size);

/// The concatenation of 1-D vectors of one element type, in order.
Value concatVectors(OpBuilder &b, Location loc, ArrayRef<Value> parts);

/// Decodes `groups` consecutive groups into 4 * groups ternary i8 lanes in
/// group-major order (lane p of group j at 4j + p), with upstream vector and
/// arith ops. `slotBytes` holds their groups / 2 slot bytes and `signBytes`
/// their sign bits, group j at bit j % 8 of byte j / 8.
Value decodeTernary(OpBuilder &b, Location loc, Value slotBytes,
                    Value signBytes, int64_t groups);

/// Exact mode on the decode of an int8 arithmetic: its weights (less 1
/// where it offsets them), widened to f32 `Lanes` at a time and multiplied
/// into f32 accumulators of `Lanes` by FMA with the activations (f32, or
/// widened from f16/bf16), as the portable kernel's exact mode sums in
/// f32. It takes the chunks, and their lane order, of the int8 arithmetic.
template <typename Int8Arithmetic, int64_t Lanes>
class ExactFromInt8Arithmetic : public ChunkArithmetic {
public:
  bool supports(const KernelShape &shape) const override {
    return !shape.int8 && int8.supports(asInt8(shape));
  }

  VectorType accumulatorType(OpBuilder &b, const KernelShape &) const override {
    return VectorType::get({Lanes}, b.getF32Type());
  }

  Value decode(OpBuilder &b, Location loc, const KernelShape &shape,
               Value slotBytes, Value signBytes) const override {
    Value w = int8.decode(b, loc, asInt8(shape), slotBytes, signBytes);
    if (!int8.offsetsWeights(asInt8(shape)))
      return w;
    Value one = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(cast<VectorType>(w.getType()),
                               b.getI8IntegerAttr(1)));
    return arith::SubIOp::create(b, loc, w, one);
  }

  Value accumulate(OpBuilder &b, Location loc, const KernelShape &shape,
                   Value acc, Value x, Value w) const override {
    auto floats = VectorType::get({Lanes}, b.getF32Type());
    for (int64_t q = 0; q < shape.chunk / Lanes; ++q) {
      Value xq = sliceVector(b, loc, x, Lanes * q, Lanes);
      if (!cast<VectorType>(xq.getType()).getElementType().isF32())
        xq = arith::ExtFOp::create(b, loc, floats, xq);
      Value wq = arith::SIToFPOp::create(b, loc, floats,
                                         sliceVector(b, loc, w, Lanes * q,
                                                     Lanes));
      acc = vector::FMAOp::create(b, loc, xq, wq, acc);
    }
    return acc;
  }

  Value reduce(OpBuilder &b, Location loc, const KernelShape &,
               Value acc) const override {
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc);
  }

  bool lanesMajor(const KernelShape &shape) const override {
    return int8.lanesMajor(asInt8(shape));
  }

  int64_t chunkSize(const KernelShape &shape) const override {
    return int8.chunkSize(asInt8(shape));
  }

private:
  static KernelShape asInt8(KernelShape shape) {
    shape.int8 = true;
    return shape;
  }

  Int8Arithmetic int8;
};

/// The blocks of the micro-kernel's loops.
struct MicroKernelBlocks {
  /// Output rows by activation rows that share each decoded chunk and
  /// activation read, with an accumulator per pair.
  int64_t rows = 1, batch = 1;
  /// Where N is static and at least `panelMinBatch` (0: never), each block
  /// of `panelRows` output rows is decoded once into a panel of bytes, and
  /// blocks of `panelBatch` activation rows read it instead of decoding
  /// again: the decode is paid once per call, and the multiply loop holds
  /// no decode state, so it keeps more accumulators in registers.
  int64_t panelMinBatch = 0, panelRows = 1, panelBatch = 1;
};

/// Replaces sherry.matmul `op` (tensor form) by loops around `arithmetic`
/// in blocks of `blocks`.
LogicalResult lowerMatmulToMicroKernel(MatmulOp op, PatternRewriter &rewriter,
                                       const ChunkArithmetic &arithmetic,
                                       const MicroKernelBlocks &blocks);

/// The rewrite of sherry.matmul into the micro-kernel with `Arithmetic`
/// (default-constructible), for a target's pass to add.
template <typename Arithmetic>
struct MicroKernelPattern : OpRewritePattern<MatmulOp> {
  MicroKernelPattern(MLIRContext *ctx, MicroKernelBlocks blocks)
      : OpRewritePattern<MatmulOp>(ctx), blocks(blocks) {}
  MicroKernelPattern(MLIRContext *ctx, int64_t rowBlock, int64_t batchBlock)
      : MicroKernelPattern(ctx, MicroKernelBlocks{rowBlock, batchBlock}) {}

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    return lowerMatmulToMicroKernel(op, rewriter, Arithmetic(), blocks);
  }

  MicroKernelBlocks blocks;
};

} // namespace mlir::sherry

#endif // SHERRY_CONVERSION_KERNELCOMMON_MICROKERNEL_H
