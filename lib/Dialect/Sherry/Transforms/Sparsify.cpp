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

  /// Packs `w` and emits sherry.matmul of `x` (N x K) into `init` (N x M).
  /// Returns the result, failure with `why` set to stay dense, or failure
  /// with `hardError` set after an error has been emitted.
  FailureOr<Value> buildSherryMatmul(OpBuilder &b, Location loc, Value x,
                                     const ConstantWeights &w, Value init,
                                     LeftDense &why, bool &hardError);

  LogicalResult sparsify(linalg::MatmulOp op, LeftDense &why, bool &hardError);
  LogicalResult sparsify(linalg::MatvecOp op, LeftDense &why, bool &hardError);

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

FailureOr<Value>
SherrySparsifyPass::buildSherryMatmul(OpBuilder &b, Location loc, Value x,
                                      const ConstantWeights &w, Value init,
                                      LeftDense &why, bool &hardError) {
  auto xType = dyn_cast<RankedTensorType>(x.getType());
  auto initType = dyn_cast<RankedTensorType>(init.getType());
  if (!xType || !initType) {
    why.reason = "it works on buffers; run sherry-sparsify before "
                 "bufferization";
    return failure();
  }
  if (!isa<Float32Type, Float16Type, BFloat16Type>(xType.getElementType()) ||
      !isa<FloatType>(initType.getElementType())) {
    why.reason = "its activations are not f32, f16 or bf16";
    return failure();
  }
  int64_t m = w.rows, k = w.cols;
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

  auto ternary =
      format::ternarize(w.values.data(), m, k, toFormatLayout(layoutAttr),
                        toScaleSpec(layoutAttr));
  if (!ternary.ok()) {
    hardError = true;
    emitError(loc) << "sherry-sparsify: cannot ternarize the " << m << " x "
                   << k << " weights: " << ternary.message();
    return failure();
  }
  auto packed = format::pack(*ternary, ternary->layout);
  if (!packed.ok()) {
    hardError = true;
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
  OpBuilder b(op);
  FailureOr<Value> result =
      buildSherryMatmul(b, op.getLoc(), op.getInputs()[0], *w,
                        op.getOutputs()[0], why, hardError);
  if (failed(result))
    return failure();
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
  auto xType = dyn_cast<RankedTensorType>(x.getType());
  auto initType = dyn_cast<RankedTensorType>(init.getType());
  if (!xType || !initType) {
    why.reason = "it works on buffers; run sherry-sparsify before "
                 "bufferization";
    return failure();
  }
  // y[M] = W x is the N = 1 matmul: expand to 1 x K and 1 x M, collapse back.
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<ReassociationIndices> reassoc{{0, 1}};
  Value x2 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({1, w->cols}, xType.getElementType()), x,
      reassoc);
  Value init2 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({1, w->rows}, initType.getElementType()),
      init, reassoc);
  FailureOr<Value> result =
      buildSherryMatmul(b, loc, x2, *w, init2, why, hardError);
  if (failed(result)) {
    init2.getDefiningOp()->erase();
    x2.getDefiningOp()->erase();
    return failure();
  }
  Value y = tensor::CollapseShapeOp::create(b, loc, initType, *result, reassoc);
  op->replaceAllUsesWith(ValueRange{y});
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
    if (isa<linalg::MatmulOp, linalg::MatvecOp>(op))
      candidates.push_back(op);
  });

  bool hardError = false;
  for (Operation *op : candidates) {
    LeftDense why;
    LogicalResult done = failure();
    if (auto matmul = dyn_cast<linalg::MatmulOp>(op))
      done = sparsify(matmul, why, hardError);
    else
      done = sparsify(cast<linalg::MatvecOp>(op), why, hardError);
    if (hardError)
      return signalPassFailure();
    if (failed(done))
      op->emitRemark() << "sherry-sparsify: left dense: " << why.reason;
  }
}
