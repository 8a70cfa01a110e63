//===- Sparsify.cpp - linalg matmuls with constant weights -> sherry ------===//
//
// The front door for models: finds contractions whose weights are constants,
// ternarizes and packs the weights at compile time through the format
// library, and replaces the contraction with sherry.matmul.
//
//===----------------------------------------------------------------------===//

#include "sherry/Dialect/Sherry/Transforms/Passes.h"

#include "sherry/Dialect/Sherry/IR/SherryConstants.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"
#include "sherry/Format/Format.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_SHERRYSPARSIFY
#include "sherry/Dialect/Sherry/Transforms/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

namespace {

/// Why a layer stays dense; becomes the text of a remark.
struct LeftDense {
  std::string reason;
};

/// The M x K weights of a contraction, as floats.
struct ConstantWeights {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> values;
};

/// Reads a constant weight operand. With `isKxM` the constant holds W^T
/// (K x M, the plain linalg.matmul B operand) and is transposed here.
static FailureOr<ConstantWeights> readWeights(Value weights, bool isKxM,
                                              LeftDense &why) {
  Attribute attr;
  if (!matchPattern(weights, m_Constant(&attr))) {
    why.reason = "the weights are not a constant";
    return failure();
  }
  auto type = dyn_cast<RankedTensorType>(weights.getType());
  if (!type || !type.hasStaticShape() || type.getRank() != 2) {
    why.reason = "the weights are not a static 2-D tensor";
    return failure();
  }
  std::optional<std::vector<float>> data = getElementsAsFloats(attr);
  if (!data) {
    why.reason = "the weights are not floating point";
    return failure();
  }
  ConstantWeights w;
  if (!isKxM) {
    w.rows = type.getDimSize(0);
    w.cols = type.getDimSize(1);
    w.values = std::move(*data);
    return w;
  }
  w.rows = type.getDimSize(1);
  w.cols = type.getDimSize(0);
  w.values.resize(data->size());
  for (int64_t k = 0; k < w.cols; ++k)
    for (int64_t m = 0; m < w.rows; ++m)
      w.values[m * w.cols + k] = (*data)[k * w.rows + m];
  return w;
}

struct SherrySparsifyPass
    : public mlir::sherry::impl::SherrySparsifyBase<SherrySparsifyPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// The weight operand of a matmul and whether it holds W^T.
  FailureOr<std::pair<Value, bool>> matchMatmulWeights(linalg::MatmulOp op,
                                                       LeftDense &why);

  /// Whether M x K weights applied to activations of `xType` into
  /// `initType` can become a sherry.matmul; sets `why` when not. Checked
  /// before any IR is created, so a layer left dense is left untouched.
  LogicalResult checkSparsifiable(Type xType, Type initType, int64_t m,
                                  int64_t k, LeftDense &why);

  /// Packs `w` and emits sherry.matmul of `x` (N x K) into `init` (N x M).
  /// Fails only after emitting an error (weights that cannot be projected).
  FailureOr<Value> buildSherryMatmul(OpBuilder &b, Location loc, Value x,
                                     const ConstantWeights &w, Value init);

  LogicalResult sparsify(linalg::MatmulOp op, LeftDense &why, bool &hardError);
  LogicalResult sparsify(linalg::MatvecOp op, LeftDense &why, bool &hardError);
  LogicalResult sparsify(linalg::BatchMatmulOp op, LeftDense &why,
                         bool &hardError);

  LayoutAttr layoutAttr;
};

} // namespace

FailureOr<std::pair<Value, bool>>
SherrySparsifyPass::matchMatmulWeights(linalg::MatmulOp op, LeftDense &why) {
  Value b = op.getInputs()[1];
  if (isa<linalg::MatmulTransposeBOp>(op.getOperation()))
    return std::make_pair(b, false);
  if (op.hasUserDefinedMaps()) {
    why.reason = "its indexing maps are neither the plain nor the "
                 "transposed-B matmul";
    return failure();
  }
  // torch-mlir lowers nn.Linear to a matmul of the transposed weight.
  if (auto transpose = b.getDefiningOp<linalg::TransposeOp>())
    if (transpose.getPermutation() == ArrayRef<int64_t>{1, 0})
      return std::make_pair(Value(transpose.getInput()), false);
  return std::make_pair(b, true);
}

LogicalResult SherrySparsifyPass::checkSparsifiable(Type xType, Type initType,
                                                    int64_t m, int64_t k,
                                                    LeftDense &why) {
  auto xTensor = dyn_cast<RankedTensorType>(xType);
  auto initTensor = dyn_cast<RankedTensorType>(initType);
  if (!xTensor || !initTensor) {
    why.reason = "it works on buffers; run sherry-sparsify before "
                 "bufferization";
    return failure();
  }
  if (!isa<Float32Type, Float16Type, BFloat16Type>(xTensor.getElementType()) ||
      !isa<FloatType>(initTensor.getElementType())) {
    why.reason = "its activations are not f32, f16 or bf16";
    return failure();
  }
  if (m * k < minWeights) {
    why.reason = std::to_string(m * k) +
                 " weights is below min-weights=" + std::to_string(minWeights);
    return failure();
  }
  if (format::Status s = format::checkShape(toFormatLayout(layoutAttr), m, k);
      !s.ok()) {
    why.reason = s.message();
    return failure();
  }
  if (format::Status s = format::checkScaleSpec(toScaleSpec(layoutAttr), k);
      !s.ok()) {
    why.reason = s.message();
    return failure();
  }
  return success();
}

FailureOr<Value> SherrySparsifyPass::buildSherryMatmul(OpBuilder &b,
                                                       Location loc, Value x,
                                                       const ConstantWeights &w,
                                                       Value init) {
  auto initType = cast<RankedTensorType>(init.getType());
  int64_t m = w.rows, k = w.cols;
  auto ternary =
      format::ternarize(w.values.data(), m, k, toFormatLayout(layoutAttr),
                        toScaleSpec(layoutAttr));
  if (!ternary.ok()) {
    emitError(loc) << "sherry-sparsify: cannot ternarize the " << m << " x "
                   << k << " weights: " << ternary.message();
    return failure();
  }
  auto packed = format::pack(*ternary, ternary->layout);
  if (!packed.ok()) {
    emitError(loc) << "sherry-sparsify: cannot pack the " << m << " x " << k
                   << " weights: " << packed.message();
    return failure();
  }

  MLIRContext *ctx = b.getContext();
  auto bytesType = RankedTensorType::get({m, layoutAttr.getRowBytes(k)},
                                         IntegerType::get(ctx, 8));
  ArrayRef<uint8_t> bytes = packed->data;
  Value weights = arith::ConstantOp::create(
      b, loc, bytesType,
      cast<TypedAttr>(makeInt8Elements(
          bytesType,
          ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(bytes.data()),
                           bytes.size()),
          "sherry_weights")));
  Value scales;
  if (layoutAttr.hasSeparateScales()) {
    auto scalesType = RankedTensorType::get(layoutAttr.getScalesShape(m, k),
                                            layoutAttr.getScaleType());
    scales = arith::ConstantOp::create(
        b, loc, scalesType,
        cast<TypedAttr>(
            makeFloatElements(scalesType, packed->scales, "sherry_scales")));
  }
  auto matmul = MatmulOp::create(b, loc, TypeRange{initType}, x, weights,
                                 scales, /*bias=*/Value(), init, layoutAttr,
                                 ActivationModeAttr::get(ctx, mode));
  return matmul.getResult()[0];
}

LogicalResult SherrySparsifyPass::sparsify(linalg::MatmulOp op, LeftDense &why,
                                           bool &hardError) {
  FailureOr<std::pair<Value, bool>> operand = matchMatmulWeights(op, why);
  if (failed(operand))
    return failure();
  FailureOr<ConstantWeights> w =
      readWeights(operand->first, operand->second, why);
  if (failed(w))
    return failure();
  Value x = op.getInputs()[0], init = op.getOutputs()[0];
  if (failed(checkSparsifiable(x.getType(), init.getType(), w->rows, w->cols,
                               why)))
    return failure();
  OpBuilder b(op);
  FailureOr<Value> result = buildSherryMatmul(b, op.getLoc(), x, *w, init);
  if (failed(result)) {
    hardError = true;
    return failure();
  }
  op->replaceAllUsesWith(ValueRange{*result});
  op->erase();
  return success();
}

LogicalResult SherrySparsifyPass::sparsify(linalg::MatvecOp op, LeftDense &why,
                                           bool &hardError) {
  FailureOr<ConstantWeights> w =
      readWeights(op.getInputs()[0], /*isKxM=*/false, why);
  if (failed(w))
    return failure();
  Value x = op.getInputs()[1], init = op.getOutputs()[0];
  if (failed(checkSparsifiable(x.getType(), init.getType(), w->rows, w->cols,
                               why)))
    return failure();
  // y[M] = W x is the N = 1 matmul: expand to 1 x K and 1 x M, collapse back.
  auto xType = cast<RankedTensorType>(x.getType());
  auto initType = cast<RankedTensorType>(init.getType());
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<ReassociationIndices> reassoc{{0, 1}};
  Value x2 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({1, w->cols}, xType.getElementType()), x,
      reassoc);
  Value init2 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({1, w->rows}, initType.getElementType()),
      init, reassoc);
  FailureOr<Value> result = buildSherryMatmul(b, loc, x2, *w, init2);
  if (failed(result)) {
    hardError = true;
    return failure();
  }
  Value y = tensor::CollapseShapeOp::create(b, loc, initType, *result, reassoc);
  op->replaceAllUsesWith(ValueRange{y});
  op->erase();
  return success();
}

LogicalResult SherrySparsifyPass::sparsify(linalg::BatchMatmulOp op,
                                           LeftDense &why, bool &hardError) {
  if (op.hasUserDefinedMaps()) {
    why.reason = "its indexing maps are not the plain batch matmul";
    return failure();
  }
  Value x = op.getInputs()[0], init = op.getOutputs()[0];
  auto xType = dyn_cast<RankedTensorType>(x.getType());
  auto initType = dyn_cast<RankedTensorType>(init.getType());
  Attribute attr;
  if (!matchPattern(op.getInputs()[1], m_Constant(&attr))) {
    why.reason = "the weights are not a constant";
    return failure();
  }
  auto bType = dyn_cast<RankedTensorType>(op.getInputs()[1].getType());
  std::optional<std::vector<float>> data = getElementsAsFloats(attr);
  if (!bType || !bType.hasStaticShape() || !data) {
    why.reason = "the weights are not a static floating-point tensor";
    return failure();
  }
  int64_t batches = bType.getDimSize(0), k = bType.getDimSize(1),
          m = bType.getDimSize(2);
  if (!xType || !initType) {
    why.reason = "it works on buffers; run sherry-sparsify before "
                 "bufferization";
    return failure();
  }
  auto xSliceType = RankedTensorType::get(xType.getShape().drop_front(),
                                          xType.getElementType());
  auto initSliceType = RankedTensorType::get(initType.getShape().drop_front(),
                                             initType.getElementType());
  if (failed(checkSparsifiable(xSliceType, initSliceType, m, k, why)))
    return failure();

  // Each batch has its own K x M weights: one packed matmul per batch on
  // slices of the activations and the accumulator.
  OpBuilder builder(op);
  Location loc = op.getLoc();
  auto sliceAt = [&](Value tensor, int64_t i) {
    SmallVector<OpFoldResult> offsets(3, builder.getIndexAttr(0));
    offsets[0] = builder.getIndexAttr(i);
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(builder, loc, tensor);
    sizes[0] = builder.getIndexAttr(1);
    SmallVector<OpFoldResult> strides(3, builder.getIndexAttr(1));
    return std::make_tuple(offsets, sizes, strides);
  };
  Value acc = init;
  for (int64_t i = 0; i < batches; ++i) {
    ConstantWeights w;
    w.rows = m;
    w.cols = k;
    w.values.resize(m * k);
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t mm = 0; mm < m; ++mm)
        w.values[mm * k + kk] = (*data)[(i * k + kk) * m + mm];

    auto [xOffsets, xSizes, xStrides] = sliceAt(x, i);
    Value xi = tensor::ExtractSliceOp::create(builder, loc, xSliceType, x,
                                              xOffsets, xSizes, xStrides);
    auto [offsets, sizes, strides] = sliceAt(acc, i);
    Value initI = tensor::ExtractSliceOp::create(builder, loc, initSliceType,
                                                 acc, offsets, sizes, strides);
    FailureOr<Value> yi = buildSherryMatmul(builder, loc, xi, w, initI);
    if (failed(yi)) {
      hardError = true;
      return failure();
    }
    acc = tensor::InsertSliceOp::create(builder, loc, *yi, acc, offsets, sizes,
                                        strides);
  }
  op->replaceAllUsesWith(ValueRange{acc});
  op->erase();
  return success();
}

void SherrySparsifyPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  ScaleGranularity g = granularity;
  int64_t gSize = g == ScaleGranularity::Group ? int64_t(groupSize) : 0;
  auto emitOptionError = [&] {
    return module.emitError() << "sherry-sparsify: invalid options: ";
  };
  if (layout == PackedFormat::Stq1_0) {
    layoutAttr =
        LayoutAttr::get(ctx, PackedFormat::Stq1_0, ScaleGranularity::Group);
  } else {
    Type f32 = Float32Type::get(ctx);
    if (failed(LayoutAttr::verify(emitOptionError, PackedFormat::Sherry, g,
                                  gSize, f32)))
      return signalPassFailure();
    layoutAttr = LayoutAttr::get(ctx, PackedFormat::Sherry, g, gSize, f32);
  }

  SmallVector<Operation *> candidates;
  module.walk([&](Operation *op) {
    if (isa<linalg::MatmulOp, linalg::MatvecOp, linalg::BatchMatmulOp>(op))
      candidates.push_back(op);
  });

  bool hardError = false;
  for (Operation *op : candidates) {
    LeftDense why;
    LogicalResult done = failure();
    if (auto matmul = dyn_cast<linalg::MatmulOp>(op))
      done = sparsify(matmul, why, hardError);
    else if (auto matvec = dyn_cast<linalg::MatvecOp>(op))
      done = sparsify(matvec, why, hardError);
    else
      done = sparsify(cast<linalg::BatchMatmulOp>(op), why, hardError);
    if (hardError)
      return signalPassFailure();
    if (failed(done))
      op->emitRemark() << "sherry-sparsify: left dense: " << why.reason;
  }
}
