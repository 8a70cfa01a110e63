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

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_SHERRYSPARSIFY
#include "sherry/Dialect/Sherry/Transforms/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

namespace {

/// The argument attribute that marks weights passed to a function, and the
/// ones the pass puts on the packed arguments that replace them.
constexpr StringLiteral kWeightsAttr =
    SherryDialect::WeightsAttrHelper::getNameStr();
constexpr StringLiteral kPackedAttr =
    SherryDialect::PackedAttrHelper::getNameStr();
constexpr StringLiteral kScalesAttr =
    SherryDialect::ScalesAttrHelper::getNameStr();

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

  /// Ternarizes and packs constant weights into constants: the bytes and,
  /// where the layout keeps them apart, the scales (else a null Value).
  /// Fails only after emitting an error (weights that cannot be projected).
  FailureOr<std::pair<Value, Value>> packConstant(OpBuilder &b, Location loc,
                                                  const ConstantWeights &w);

  /// Reads constant weights, checks the layer and packs the weights before
  /// `op`. Failure with `why` set leaves the layer dense; failure with
  /// `hardError` set means an error was emitted.
  FailureOr<std::pair<Value, Value>>
  packConstantFor(Operation *op, Value weights, bool isKxM, Type xType,
                  Type initType, LeftDense &why, bool &hardError);

  /// sherry.matmul of `x` (N x K) with packed weights into `init` (N x M).
  Value emitMatmul(OpBuilder &b, Location loc, Value x, Value bytes,
                   Value scales, Value init,
                   LayoutAttr layout = {});

  /// Replaces a linalg.matvec with the N = 1 sherry.matmul on packed
  /// weights: expand to 1 x K and 1 x M, collapse the result back.
  void replaceMatvec(linalg::MatvecOp op, Value bytes, Value scales,
                     LayoutAttr layout = {});

  /// Rewrites the contractions that use arguments marked `sherry.weights`
  /// and turns those arguments into packed weights (and scales).
  LogicalResult sparsifyMarkedArguments(func::FuncOp func);

  LogicalResult sparsify(linalg::MatmulOp op, LeftDense &why, bool &hardError);
  LogicalResult sparsify(linalg::MatvecOp op, LeftDense &why, bool &hardError);
  LogicalResult sparsify(linalg::BatchMatmulOp op, LeftDense &why,
                         bool &hardError);

  LayoutAttr layoutAttr;
  /// The layout of the bytes that replace marked arguments: layoutAttr, or
  /// its tables layout (argument-layout=tables).
  LayoutAttr argumentLayoutAttr;
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
  if (uint64_t(m * k) < minWeights) {
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

FailureOr<std::pair<Value, Value>>
SherrySparsifyPass::packConstant(OpBuilder &b, Location loc,
                                 const ConstantWeights &w) {
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
  return std::make_pair(weights, scales);
}

Value SherrySparsifyPass::emitMatmul(OpBuilder &b, Location loc, Value x,
                                     Value bytes, Value scales, Value init,
                                     LayoutAttr layout) {
  auto matmul = MatmulOp::create(b, loc, TypeRange{init.getType()}, x, bytes,
                                 scales, /*bias=*/Value(), init,
                                 layout ? layout : layoutAttr,
                                 ActivationModeAttr::get(b.getContext(), mode));
  return matmul.getResult()[0];
}

void SherrySparsifyPass::replaceMatvec(linalg::MatvecOp op, Value bytes,
                                       Value scales, LayoutAttr layout) {
  Value x = op.getInputs()[1], init = op.getOutputs()[0];
  auto xType = cast<RankedTensorType>(x.getType());
  auto initType = cast<RankedTensorType>(init.getType());
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<ReassociationIndices> reassoc{{0, 1}};
  Value x2 = tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({1, xType.getDimSize(0)}, xType.getElementType()),
      x, reassoc);
  Value init2 = tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({1, initType.getDimSize(0)},
                            initType.getElementType()),
      init, reassoc);
  Value y = emitMatmul(b, loc, x2, bytes, scales, init2, layout);
  Value result = tensor::CollapseShapeOp::create(b, loc, initType, y, reassoc);
  op->replaceAllUsesWith(ValueRange{result});
  op->erase();
}

FailureOr<std::pair<Value, Value>>
SherrySparsifyPass::packConstantFor(Operation *op, Value weights, bool isKxM,
                                    Type xType, Type initType, LeftDense &why,
                                    bool &hardError) {
  FailureOr<ConstantWeights> w = readWeights(weights, isKxM, why);
  if (failed(w) ||
      failed(checkSparsifiable(xType, initType, w->rows, w->cols, why)))
    return failure();
  OpBuilder b(op);
  FailureOr<std::pair<Value, Value>> packed = packConstant(b, op->getLoc(), *w);
  hardError = failed(packed);
  return packed;
}

/// Erases `op` if nothing uses it and it has no effects, then, in turn, what
/// it used: the float weights of a rewritten contraction, their transpose
/// and its destination, which would otherwise stay behind as dead
/// constants.
static void eraseDeadProducers(Operation *op) {
  if (!op || !isOpTriviallyDead(op))
    return;
  SmallVector<Operation *> producers;
  for (Value operand : op->getOperands())
    if (Operation *def = operand.getDefiningOp();
        def && !llvm::is_contained(producers, def))
      producers.push_back(def);
  op->erase();
  for (Operation *producer : producers)
    eraseDeadProducers(producer);
}

LogicalResult SherrySparsifyPass::sparsify(linalg::MatmulOp op, LeftDense &why,
                                           bool &hardError) {
  FailureOr<std::pair<Value, bool>> operand = matchMatmulWeights(op, why);
  if (failed(operand))
    return failure();
  Value x = op.getInputs()[0], init = op.getOutputs()[0];
  FailureOr<std::pair<Value, Value>> packed =
      packConstantFor(op, operand->first, operand->second, x.getType(),
                      init.getType(), why, hardError);
  if (failed(packed))
    return failure();
  OpBuilder b(op);
  Value y = emitMatmul(b, op.getLoc(), x, packed->first, packed->second, init);
  Operation *weights = op.getInputs()[1].getDefiningOp();
  op->replaceAllUsesWith(ValueRange{y});
  op->erase();
  eraseDeadProducers(weights);
  return success();
}

LogicalResult SherrySparsifyPass::sparsify(linalg::MatvecOp op, LeftDense &why,
                                           bool &hardError) {
  FailureOr<std::pair<Value, Value>> packed = packConstantFor(
      op, op.getInputs()[0], /*isKxM=*/false, op.getInputs()[1].getType(),
      op.getOutputs()[0].getType(), why, hardError);
  if (failed(packed))
    return failure();
  Operation *weights = op.getInputs()[0].getDefiningOp();
  replaceMatvec(op, packed->first, packed->second);
  eraseDeadProducers(weights);
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
    FailureOr<std::pair<Value, Value>> packed = packConstant(builder, loc, w);
    if (failed(packed)) {
      hardError = true;
      return failure();
    }
    Value yi =
        emitMatmul(builder, loc, xi, packed->first, packed->second, initI);
    acc = tensor::InsertSliceOp::create(builder, loc, yi, acc, offsets, sizes,
                                        strides);
  }
  op->replaceAllUsesWith(ValueRange{acc});
  Operation *weights = op.getInputs()[1].getDefiningOp();
  op->erase();
  eraseDeadProducers(weights);
  return success();
}

namespace {
/// A contraction that reads a marked weight argument, directly or through
/// a 2-D transpose.
struct WeightUse {
  Operation *contraction;
  linalg::TransposeOp transpose; // null when the argument is read directly
  bool isKxM;                    // the argument holds W^T
};
} // namespace

/// Finds every use of a marked argument; fails with the reason when one of
/// them is not a contraction sparsify can rewrite.
static LogicalResult collectWeightUses(BlockArgument arg,
                                       SmallVectorImpl<WeightUse> &uses,
                                       std::string &why) {
  auto describe = [](Operation *op) {
    return "'" + op->getName().getStringRef().str() + "'";
  };
  for (OpOperand &use : arg.getUses()) {
    Operation *owner = use.getOwner();
    if (auto transpose = dyn_cast<linalg::TransposeOp>(owner)) {
      if (transpose.getPermutation() != ArrayRef<int64_t>{1, 0}) {
        why = "it is used by a linalg.transpose that is not a 2-D transpose";
        return failure();
      }
      for (OpOperand &tUse : transpose->getResult(0).getUses()) {
        auto matmul = dyn_cast<linalg::MatmulOp>(tUse.getOwner());
        if (!matmul || tUse.getOperandNumber() != 1 ||
            matmul.hasUserDefinedMaps()) {
          why = "its transpose is used by " + describe(tUse.getOwner()) +
                ", which needs dense weights";
          return failure();
        }
        uses.push_back({matmul, transpose, /*isKxM=*/false});
      }
      continue;
    }
    if (auto matmul = dyn_cast<linalg::MatmulOp>(owner)) {
      bool transposedB = isa<linalg::MatmulTransposeBOp>(owner);
      if (use.getOperandNumber() == 1 &&
          (transposedB || !matmul.hasUserDefinedMaps())) {
        uses.push_back({owner, nullptr, /*isKxM=*/!transposedB});
        continue;
      }
    }
    if (isa<linalg::MatvecOp>(owner) && use.getOperandNumber() == 0) {
      uses.push_back({owner, nullptr, /*isKxM=*/false});
      continue;
    }
    why = "it is used by " + describe(owner) + ", which needs dense weights";
    return failure();
  }
  if (uses.empty()) {
    why = "it has no use to rewrite";
    return failure();
  }
  for (const WeightUse &u : uses)
    if (u.isKxM != uses.front().isKxM) {
      why = "its uses disagree on whether it is M x K or K x M";
      return failure();
    }
  return success();
}

LogicalResult SherrySparsifyPass::sparsifyMarkedArguments(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    if (!func.getArgAttr(i, kWeightsAttr))
      continue;
    BlockArgument arg = func.getArgument(i);
    auto fail = [&](const Twine &why) {
      return func.emitError()
             << "sherry-sparsify: argument #" << i << " is marked "
             << kWeightsAttr << " but " << why;
    };
    if (func.isExternal())
      return fail("the function has no body to rewrite");
    if (std::optional<SymbolTable::UseRange> callers =
            SymbolTable::getSymbolUses(func, getOperation());
        callers && !callers->empty())
      return fail("the function is called in this module, and its callers "
                  "pass dense weights");
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || type.getRank() != 2 || !type.hasStaticShape() ||
        !isa<FloatType>(type.getElementType()))
      return fail("it is not a static 2-D float tensor");
    SmallVector<WeightUse> uses;
    std::string why;
    if (failed(collectWeightUses(arg, uses, why)))
      return fail(why);
    bool isKxM = uses.front().isKxM;
    int64_t m = type.getDimSize(isKxM ? 1 : 0);
    int64_t k = type.getDimSize(isKxM ? 0 : 1);
    for (const WeightUse &u : uses) {
      // A matvec becomes the N = 1 matmul: check that one.
      Type xType, initType;
      if (auto matvec = dyn_cast<linalg::MatvecOp>(u.contraction)) {
        auto x = dyn_cast<RankedTensorType>(matvec.getInputs()[1].getType());
        auto y = dyn_cast<RankedTensorType>(matvec.getOutputs()[0].getType());
        if (!x || !y)
          return fail("its matvec works on buffers");
        xType = RankedTensorType::get({1, k}, x.getElementType());
        initType = RankedTensorType::get({1, m}, y.getElementType());
      } else {
        auto matmul = cast<linalg::MatmulOp>(u.contraction);
        xType = matmul.getInputs()[0].getType();
        initType = matmul.getOutputs()[0].getType();
      }
      LeftDense dense;
      if (failed(checkSparsifiable(xType, initType, m, k, dense)))
        return fail(dense.reason);
    }

    // The calling convention: the dense argument becomes the packed bytes
    // (M x B x i8, attribute sherry.packed = the layout), followed, where the
    // layout keeps them apart, by the scales (attribute sherry.scales).
    Location loc = arg.getLoc();
    LayoutAttr layout = argumentLayoutAttr;
    if (layout.isTables())
      if (format::Status s = format::checkTableLayout(
              *toFormatTableLayout(layout), k, toScaleSpec(layout));
          !s.ok())
        return fail("argument-layout=tables: " + s.message());
    auto bytesType =
        layout.isTables()
            ? RankedTensorType::get({layout.getWeightBytes(m, k)},
                                    IntegerType::get(ctx, 8))
            : RankedTensorType::get({m, layout.getRowBytes(k)},
                                    IntegerType::get(ctx, 8));
    NamedAttribute packedAttr(StringAttr::get(ctx, kPackedAttr), layout);
    if (failed(func.insertArgument(
            i + 1, bytesType, DictionaryAttr::get(ctx, {packedAttr}), loc)))
      return fail("its packed replacement cannot be inserted");
    Value bytes = func.getArgument(i + 1), scales;
    if (layout.hasSeparateScales()) {
      auto scalesType = RankedTensorType::get(layout.getScalesShape(m, k),
                                              layout.getScaleType());
      NamedAttribute scalesAttr(StringAttr::get(ctx, kScalesAttr), layout);
      if (failed(func.insertArgument(
              i + 2, scalesType, DictionaryAttr::get(ctx, {scalesAttr}), loc)))
        return fail("its scales cannot be inserted");
      scales = func.getArgument(i + 2);
    }
    for (const WeightUse &u : uses) {
      if (auto matvec = dyn_cast<linalg::MatvecOp>(u.contraction)) {
        replaceMatvec(matvec, bytes, scales, layout);
      } else {
        auto matmul = cast<linalg::MatmulOp>(u.contraction);
        OpBuilder b(matmul);
        Value y = emitMatmul(b, matmul.getLoc(), matmul.getInputs()[0], bytes,
                             scales, matmul.getOutputs()[0], layout);
        matmul->replaceAllUsesWith(ValueRange{y});
        matmul->erase();
      }
    }
    for (const WeightUse &u : uses)
      if (u.transpose && u.transpose->use_empty())
        u.transpose->erase();
    if (failed(func.eraseArgument(i)))
      return fail("it cannot be removed");
  }
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
                                  gSize, f32, PackedFormat::Sherry,
                                  TableOrder::Lanes, /*tileBlock=*/0)))
      return signalPassFailure();
    layoutAttr = LayoutAttr::get(ctx, PackedFormat::Sherry, g, gSize, f32);
  }

  argumentLayoutAttr = layoutAttr;
  if (argumentLayout == ArgumentLayout::Tables) {
    // The tables layout keeps the grouping and the scales apart, f32
    // (stq1_0's f16 block scales exactly, as group 256).
    Type f32 = Float32Type::get(ctx);
    if (failed(LayoutAttr::verify(
            emitOptionError, PackedFormat::Tables, layoutAttr.getGranularity(),
            layoutAttr.getGroupSize(), f32, layoutAttr.getFormat(),
            tableOrder, tileBlock)))
      return signalPassFailure();
    argumentLayoutAttr = LayoutAttr::get(
        ctx, PackedFormat::Tables, layoutAttr.getGranularity(),
        layoutAttr.getGroupSize(), f32, layoutAttr.getFormat(), tableOrder,
        tileBlock);
  }

  // Marked arguments first: their contractions must not be reported as
  // "not a constant" below.
  for (auto func : llvm::to_vector(module.getOps<func::FuncOp>()))
    if (failed(sparsifyMarkedArguments(func)))
      return signalPassFailure();

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
