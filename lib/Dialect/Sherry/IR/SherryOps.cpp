//===- SherryOps.cpp - sherry dialect operations --------------------------===//

#include "sherry/Dialect/Sherry/IR/SherryOps.h"
#include "sherry/Dialect/Sherry/IR/SherryConstants.h"

#include "sherry/Format/Format.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

#define GET_OP_CLASSES
#include "sherry/Dialect/Sherry/IR/SherryOps.cpp.inc"

/// Prints a dimension the way a shaped type spells it.
static std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? "?" : std::to_string(d);
}

/// Two dimensions that must agree, unless one of them is dynamic.
static bool dimsConflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

static std::optional<std::pair<int64_t, int64_t>> staticMK(Type type);
static std::optional<format::PackedWeights>
makePackedWeights(LayoutAttr layout, int64_t m, int64_t k, Attribute bytes,
                  Attribute scalesAttr);

/// A static dimension of a shaped type, or nullopt.
static std::optional<int64_t> staticDim(Type type, unsigned dim) {
  auto shaped = cast<ShapedType>(type);
  if (shaped.isDynamicDim(dim))
    return std::nullopt;
  return shaped.getDimSize(dim);
}

int64_t MatmulOp::getM() {
  // The tables layout's bytes are one run of tiles: M is the accumulator's.
  if (getLayout().isTables())
    return cast<ShapedType>(getInit().getType()).getDimSize(1);
  return cast<ShapedType>(getWeights().getType()).getDimSize(0);
}
int64_t MatmulOp::getN() {
  return cast<ShapedType>(getInput().getType()).getDimSize(0);
}
int64_t MatmulOp::getK() {
  return cast<ShapedType>(getInput().getType()).getDimSize(1);
}

std::optional<MatmulKernel> MatmulOp::getChosenKernel() {
  if (auto kernel = dyn_cast_or_null<MatmulKernelAttr>(
          (*this)->getAttr(SherryDialect::KernelAttrHelper::getNameStr())))
    return kernel.getValue();
  return std::nullopt;
}

void MatmulOp::copyChosenKernelTo(Operation *to) {
  StringRef name = SherryDialect::KernelAttrHelper::getNameStr();
  if (Attribute kernel = (*this)->getAttr(name))
    to->setAttr(name, kernel);
}

//===----------------------------------------------------------------------===//
// Shared verification
//===----------------------------------------------------------------------===//

/// Checks packed weight bytes against M and K: 2-D i8 (1-D for the tables
/// layout), K allowed by the layout, and the layout's bytes per row (all of
/// the tables layout's bytes).
static LogicalResult verifyPackedBytes(Operation *op, LayoutAttr layout,
                                       ShapedType bytesType, int64_t m,
                                       int64_t k, StringRef what) {
  if (layout.isTables()) {
    if (bytesType.getRank() != 1 ||
        !bytesType.getElementType().isSignlessInteger(8))
      return op->emitOpError()
             << what
             << " in the tables layout must be 1-D i8 (all the layout's "
                "bytes), got "
             << bytesType;
  } else if (bytesType.getRank() != 2 ||
             !bytesType.getElementType().isSignlessInteger(8)) {
    return op->emitOpError()
           << what << " must be 2-D (M x bytes per row) of i8, got "
           << bytesType;
  }
  if (ShapedType::isDynamic(k))
    return success();
  if (failed(layout.verifyReductionSize([&] { return op->emitOpError(); }, k)))
    return failure();
  if (layout.isTables()) {
    if (ShapedType::isDynamic(m))
      return success();
    int64_t bytes = layout.getWeightBytes(m, k);
    if (dimsConflict(bytesType.getDimSize(0), bytes))
      return op->emitOpError()
             << what << " have " << bytesType.getDimSize(0)
             << " bytes, but " << m << " x " << k << " in " << layout
             << " needs " << bytes;
    return success();
  }
  int64_t rowBytes = layout.getRowBytes(k);
  if (dimsConflict(bytesType.getDimSize(1), rowBytes))
    return op->emitOpError() << what << " have " << bytesType.getDimSize(1)
                             << " bytes per row, but K = " << k << " in the "
                             << stringifyPackedFormat(layout.getFormat())
                             << " layout needs " << rowBytes;
  return success();
}

/// Checks a scales type against the layout's granularity and scale type.
static LogicalResult verifyScalesType(Operation *op, LayoutAttr layout,
                                      ShapedType scalesType, int64_t m,
                                      int64_t k) {
  SmallVector<int64_t> expected = layout.getScalesShape(m, k);
  bool shapeOk = scalesType.getRank() == (int64_t)expected.size();
  for (int64_t i = 0; shapeOk && i < scalesType.getRank(); ++i)
    shapeOk = !dimsConflict(scalesType.getDimSize(i), expected[i]);
  if (!shapeOk) {
    std::string shape;
    for (int64_t d : expected)
      shape += (shape.empty() ? "" : "x") + dimStr(d);
    return op->emitOpError("scales of ")
           << stringifyScaleGranularity(layout.getGranularity())
           << " granularity must have shape [" << shape << "], got "
           << scalesType;
  }
  if (scalesType.getElementType() != layout.getScaleType())
    return op->emitOpError("scales must have the layout's scale type ")
           << layout.getScaleType() << ", got " << scalesType.getElementType();
  return success();
}

/// Checks the optional scales operand of an op that reads packed weights
/// (`matmul`, `dequantize`): present exactly when the layout keeps scales
/// apart from the bytes.
static LogicalResult verifyReadScales(Operation *op, LayoutAttr layout,
                                      Value scales, int64_t m, int64_t k) {
  if (!scales) {
    if (layout.hasSeparateScales())
      return op->emitOpError("the ")
             << stringifyPackedFormat(layout.getFormat())
             << " layout needs a scales operand";
    return success();
  }
  if (!layout.hasSeparateScales())
    return op->emitOpError("the ")
           << stringifyPackedFormat(layout.getFormat())
           << " layout keeps its scales inside the weight bytes; it takes "
              "no scales operand";
  return verifyScalesType(op, layout, cast<ShapedType>(scales.getType()), m, k);
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  auto inputType = cast<ShapedType>(getInput().getType());
  auto weightsType = cast<ShapedType>(getWeights().getType());
  auto initType = cast<ShapedType>(getInit().getType());
  LayoutAttr layout = getLayout();

  // All operands live at one level: tensors before bufferization, memrefs
  // after.
  bool isTensor = isa<RankedTensorType>(initType);
  for (Value v : getOperation()->getOperands())
    if (isa<RankedTensorType>(v.getType()) != isTensor)
      return emitOpError("operands must be all tensors or all memrefs, but ")
             << v.getType() << " differs from the init type " << initType;
  if (isTensor && getResult().size() != 1)
    return emitOpError("on tensors has exactly one result");
  if (!isTensor && !getResult().empty())
    return emitOpError("on memrefs has no result");

  if (inputType.getRank() != 2 ||
      !isa<Float32Type, Float16Type, BFloat16Type>(inputType.getElementType()))
    return emitOpError("input must be 2-D (N x K) of f32, f16 or bf16, got ")
           << inputType;
  if (initType.getRank() != 2 || !isa<FloatType>(initType.getElementType()))
    return emitOpError("init must be 2-D (N x M) of a float type, got ")
           << initType;
  if (isTensor && getResult()[0].getType() != initType)
    return emitOpError("result type ")
           << getResult()[0].getType() << " differs from the init type "
           << initType;

  int64_t n = getN(), m = getM(), k = getK();
  if (failed(verifyPackedBytes(*this, layout, weightsType, m, k, "weights")))
    return failure();
  if (dimsConflict(initType.getDimSize(0), n))
    return emitOpError("init has ")
           << initType.getDimSize(0) << " rows, but the input has N = " << n;
  if (dimsConflict(initType.getDimSize(1), m))
    return emitOpError("init has ")
           << initType.getDimSize(1)
           << " columns, but the weights have M = " << m;
  if (failed(verifyReadScales(*this, layout, getScales(), m, k)))
    return failure();

  if (Value bias = getBias()) {
    auto biasType = cast<ShapedType>(bias.getType());
    if (biasType.getRank() != 1 || dimsConflict(biasType.getDimSize(0), m) ||
        biasType.getElementType() != initType.getElementType())
      return emitOpError("bias must have shape [")
             << dimStr(m) << "] and the init's element type "
             << initType.getElementType() << ", got " << biasType;
  }
  return success();
}

LogicalResult
MatmulOp::reifyResultShapes(OpBuilder &b,
                            ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  // The result is the accumulator, updated in place.
  if (!getResult().empty())
    reifiedReturnShapes.push_back(
        tensor::getMixedSizes(b, getLoc(), getInit()));
  return success();
}

LogicalResult MatmulOp::fold(FoldAdaptor adaptor,
                             SmallVectorImpl<OpFoldResult> &results) {
  if (getResult().empty())
    return failure();
  auto xShape = staticMK(getInput().getType());
  auto initType = cast<ShapedType>(getInit().getType());
  std::optional<int64_t> m =
      ShapedType::isDynamic(getM()) ? std::nullopt
                                    : std::optional<int64_t>(getM());
  if (!xShape || !m || !initType.hasStaticShape() ||
      (getScales() && !adaptor.getScales()) ||
      (getBias() && !adaptor.getBias()))
    return failure();
  int64_t n = xShape->first, k = xShape->second;
  std::optional<std::vector<float>> x = getElementsAsFloats(adaptor.getInput());
  std::optional<std::vector<float>> init =
      getElementsAsFloats(adaptor.getInit());
  auto packed = makePackedWeights(getLayout(), *m, k, adaptor.getWeights(),
                                  adaptor.getScales());
  if (!x || !init || !packed)
    return failure();
  auto weights = format::unpack(*packed);
  if (!weights.ok())
    return failure();
  auto y = getMode() == ActivationMode::Int8
               ? format::matmulInt8(x->data(), n, *weights)
               : format::matmulExact(x->data(), n, *weights);
  if (!y.ok())
    return failure();
  std::optional<std::vector<float>> bias;
  if (getBias() && !(bias = getElementsAsFloats(adaptor.getBias())))
    return failure();
  std::vector<float> out(n * *m);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < *m; ++j) {
      float v = (*init)[i * *m + j] + (*y)[i * *m + j];
      out[i * *m + j] = bias ? v + (*bias)[j] : v;
    }
  results.push_back(makeFloatElements(initType, out, "sherry_matmul"));
  return success();
}

void MatmulOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  // Only the memref form touches memory: it reads every input and
  // reads-and-writes the accumulator.
  for (OpOperand *operand : getDpsInputOperands())
    if (isa<MemRefType>(operand->get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), operand,
                           SideEffects::DefaultResource::get());
  for (OpOperand &operand : getDpsInitsMutable())
    if (isa<MemRefType>(operand.get().getType())) {
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    }
}

/// Static M and K of a 2-D type, or nullopt.
static std::optional<std::pair<int64_t, int64_t>> staticMK(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasStaticShape() || shaped.getRank() != 2)
    return std::nullopt;
  return std::make_pair(shaped.getDimSize(0), shaped.getDimSize(1));
}

//===----------------------------------------------------------------------===//
// QuantizeActivationsOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeActivationsOp::verify() {
  auto inputType = getInput().getType();
  if (inputType.getRank() != 2)
    return emitOpError("input must be 2-D (N x K), got ") << inputType;
  int64_t n = inputType.getDimSize(0), k = inputType.getDimSize(1);
  int64_t block = getBlock();
  if (block < 0)
    return emitOpError("block size must be positive, got ") << block;
  if (block > 0 && !ShapedType::isDynamic(k) && k % block != 0)
    return emitOpError("block size ") << block << " does not divide K = " << k;
  if (getValues().getType().getShape() != inputType.getShape())
    return emitOpError("values must have the input's shape ")
           << inputType << ", got " << getValues().getType();
  SmallVector<int64_t> expected{n};
  if (block > 0)
    expected.push_back(ShapedType::isDynamic(k) ? k : k / block);
  if (getScales().getType().getShape() != ArrayRef<int64_t>(expected)) {
    std::string shape;
    for (int64_t d : expected)
      shape += (shape.empty() ? "" : "x") + dimStr(d);
    return emitOpError("scales must have shape [")
           << shape << "], got " << getScales().getType();
  }
  return success();
}

LogicalResult QuantizeActivationsOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  // Values have the input's shape; scales are [N] or [N, K / block].
  SmallVector<OpFoldResult> sizes =
      tensor::getMixedSizes(b, getLoc(), getInput());
  reifiedReturnShapes.push_back(sizes);
  SmallVector<OpFoldResult> scaleSizes{sizes[0]};
  if (getBlock() > 0) {
    int64_t blocks = getScales().getType().getDimSize(1);
    if (!ShapedType::isDynamic(blocks)) {
      scaleSizes.push_back(b.getIndexAttr(blocks));
    } else {
      Location loc = getLoc();
      Value k = getValueOrCreateConstantIndexOp(b, loc, sizes[1]);
      Value block = arith::ConstantIndexOp::create(b, loc, getBlock());
      scaleSizes.push_back(
          arith::DivUIOp::create(b, loc, k, block).getResult());
    }
  }
  reifiedReturnShapes.push_back(scaleSizes);
  return success();
}

LogicalResult
QuantizeActivationsOp::fold(FoldAdaptor adaptor,
                            SmallVectorImpl<OpFoldResult> &results) {
  auto shape = staticMK(getInput().getType());
  std::optional<std::vector<float>> x = getElementsAsFloats(adaptor.getInput());
  if (!shape || !x)
    return failure();
  auto q = format::quantizeActivations(x->data(), shape->first, shape->second,
                                       getBlock());
  if (!q.ok())
    return failure();
  results.push_back(
      makeInt8Elements(getValues().getType(), q->values, "sherry_act_q"));
  results.push_back(
      makeFloatElements(getScales().getType(), q->scales, "sherry_act_scales"));
  return success();
}

//===----------------------------------------------------------------------===//
// TernarizeOp
//===----------------------------------------------------------------------===//

LogicalResult TernarizeOp::verify() {
  auto weightsType = getWeights().getType();
  if (weightsType.getRank() != 2)
    return emitOpError("weights must be 2-D (M x K), got ") << weightsType;
  int64_t m = weightsType.getDimSize(0), k = weightsType.getDimSize(1);
  LayoutAttr layout = getLayout();
  if (layout.isTables())
    return emitOpError("projects onto a grouping of K: its layout is sherry "
                       "or stq1_0 (sherry.repack makes the tables layout)");
  if (!ShapedType::isDynamic(k) &&
      failed(layout.verifyReductionSize([&] { return emitOpError(); }, k)))
    return failure();
  if (getValues().getType().getShape() != weightsType.getShape())
    return emitOpError("values must have the weights' shape ")
           << weightsType << ", got " << getValues().getType();
  return verifyScalesType(*this, layout, getScales().getType(), m, k);
}

LogicalResult TernarizeOp::fold(FoldAdaptor adaptor,
                                SmallVectorImpl<OpFoldResult> &results) {
  auto shape = staticMK(getWeights().getType());
  std::optional<std::vector<float>> w =
      getElementsAsFloats(adaptor.getWeights());
  if (!shape || !w)
    return failure();
  LayoutAttr layout = getLayout();
  auto t = format::ternarize(w->data(), shape->first, shape->second,
                             toFormatLayout(layout), toScaleSpec(layout));
  if (!t.ok())
    return failure();
  results.push_back(
      makeInt8Elements(getValues().getType(), t->values, "sherry_ternary"));
  results.push_back(
      makeFloatElements(getScales().getType(), t->scales, "sherry_scales"));
  return success();
}

//===----------------------------------------------------------------------===//
// PackOp
//===----------------------------------------------------------------------===//

LogicalResult PackOp::verify() {
  auto valuesType = getValues().getType();
  if (valuesType.getRank() != 2)
    return emitOpError("values must be 2-D (M x K), got ") << valuesType;
  int64_t m = valuesType.getDimSize(0), k = valuesType.getDimSize(1);
  LayoutAttr layout = getLayout();
  if (layout.isTables())
    return emitOpError("packs sherry or stq1_0 bytes (sherry.repack makes "
                       "the tables layout from them)");
  auto packedType = getPacked().getType();
  if (failed(verifyPackedBytes(*this, layout, packedType, m, k,
                               "packed bytes")))
    return failure();
  if (dimsConflict(packedType.getDimSize(0), m))
    return emitOpError("packed bytes have ")
           << packedType.getDimSize(0)
           << " rows, but the values have M = " << m;
  // The inverse of the readers' rule: only layouts that store scales in
  // their bytes take them here.
  if (layout.hasSeparateScales()) {
    if (getScales())
      return emitOpError("the ")
             << stringifyPackedFormat(layout.getFormat())
             << " layout keeps its scales apart from the bytes; pack takes "
                "no scales operand";
    return success();
  }
  if (!getScales())
    return emitOpError("the ") << stringifyPackedFormat(layout.getFormat())
                               << " layout stores its scales in the bytes; "
                                  "pack needs a scales operand";
  return verifyScalesType(*this, layout, getScales().getType(), m, k);
}

/// Ternary values (and scales, where given) as a format-library matrix.
static std::optional<format::TernaryMatrix>
makeTernaryMatrix(LayoutAttr layout, int64_t m, int64_t k,
                  std::vector<int8_t> values,
                  std::optional<std::vector<float>> scales) {
  format::TernaryMatrix matrix;
  matrix.rows = m;
  matrix.cols = k;
  matrix.layout = toFormatLayout(layout);
  matrix.values = std::move(values);
  if (scales) {
    matrix.scaleSpec = toScaleSpec(layout);
    matrix.scales = std::move(*scales);
  } else {
    // The bytes of the sherry layout do not depend on the scales.
    matrix.scaleSpec = format::ScaleSpec::tensor();
    matrix.scales = {1.0f};
  }
  if (!matrix.verify().ok())
    return std::nullopt;
  return matrix;
}

OpFoldResult PackOp::fold(FoldAdaptor adaptor) {
  auto shape = staticMK(getValues().getType());
  std::optional<std::vector<int8_t>> values =
      getElementsAsInt8(adaptor.getValues());
  if (!shape || !values)
    return {};
  std::optional<std::vector<float>> scales;
  if (getScales()) {
    scales = getElementsAsFloats(adaptor.getScales());
    if (!scales)
      return {};
  }
  auto matrix = makeTernaryMatrix(getLayout(), shape->first, shape->second,
                                  std::move(*values), std::move(scales));
  if (!matrix)
    return {};
  auto packed = format::pack(*matrix, matrix->layout);
  if (!packed.ok())
    return {};
  ArrayRef<uint8_t> bytes = packed->data;
  return makeInt8Elements(
      getPacked().getType(),
      ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(bytes.data()),
                       bytes.size()),
      "sherry_packed");
}

//===----------------------------------------------------------------------===//
// UnpackOp and DequantizeOp
//===----------------------------------------------------------------------===//

/// Shared checks of the readers of packed bytes with an M x K result.
static LogicalResult verifyUnpackShape(Operation *op, LayoutAttr layout,
                                       ShapedType packedType,
                                       ShapedType resultType) {
  if (resultType.getRank() != 2)
    return op->emitOpError("result must be 2-D (M x K), got ") << resultType;
  if (failed(verifyPackedBytes(op, layout, packedType, resultType.getDimSize(0),
                               resultType.getDimSize(1), "packed bytes")))
    return failure();
  if (!layout.isTables() &&
      dimsConflict(packedType.getDimSize(0), resultType.getDimSize(0)))
    return op->emitOpError("packed bytes have ")
           << packedType.getDimSize(0)
           << " rows, but the result has M = " << resultType.getDimSize(0);
  return success();
}

/// Packed constant bytes as format-library packed weights.
static std::optional<format::PackedWeights>
makePackedWeights(LayoutAttr layout, int64_t m, int64_t k, Attribute bytes,
                  Attribute scalesAttr) {
  std::optional<std::vector<int8_t>> data = getElementsAsInt8(bytes);
  if (!data)
    return std::nullopt;
  format::PackedWeights packed;
  packed.layout = toFormatLayout(layout);
  packed.tables = toFormatTableLayout(layout);
  packed.rows = m;
  packed.cols = k;
  packed.scaleSpec = toScaleSpec(layout);
  packed.data.assign(data->begin(), data->end());
  if (layout.hasSeparateScales()) {
    if (!scalesAttr) {
      // Unpacking values only: any valid scale will do (of the layout's
      // spec: the tables layout's counts follow its scale regions).
      if (!packed.tables)
        packed.scaleSpec = format::ScaleSpec::tensor();
      packed.scales.assign(
          format::numScales(packed.scaleSpec, packed.rows, packed.cols), 1.0f);
    } else {
      std::optional<std::vector<float>> scales =
          getElementsAsFloats(scalesAttr);
      if (!scales)
        return std::nullopt;
      packed.scales = std::move(*scales);
    }
  }
  if (!packed.verify().ok())
    return std::nullopt;
  return packed;
}

LogicalResult UnpackOp::verify() {
  return verifyUnpackShape(*this, getLayout(), getPacked().getType(),
                           getValues().getType());
}

OpFoldResult UnpackOp::fold(FoldAdaptor adaptor) {
  auto shape = staticMK(getValues().getType());
  if (!shape)
    return {};
  auto packed = makePackedWeights(getLayout(), shape->first, shape->second,
                                  adaptor.getPacked(), Attribute());
  if (!packed)
    return {};
  auto matrix = format::unpack(*packed);
  if (!matrix.ok())
    return {};
  return makeInt8Elements(getValues().getType(), matrix->values,
                          "sherry_ternary");
}

LogicalResult DequantizeOp::verify() {
  auto resultType = getWeights().getType();
  if (failed(verifyUnpackShape(*this, getLayout(), getPacked().getType(),
                               resultType)))
    return failure();
  return verifyReadScales(*this, getLayout(), getScales(),
                          resultType.getDimSize(0), resultType.getDimSize(1));
}

OpFoldResult DequantizeOp::fold(FoldAdaptor adaptor) {
  auto shape = staticMK(getWeights().getType());
  if (!shape || (getScales() && !adaptor.getScales()))
    return {};
  auto packed = makePackedWeights(getLayout(), shape->first, shape->second,
                                  adaptor.getPacked(), adaptor.getScales());
  if (!packed)
    return {};
  auto matrix = format::unpack(*packed);
  if (!matrix.ok())
    return {};
  return makeFloatElements(getWeights().getType(), format::dequantize(*matrix),
                           "sherry_dequantized");
}

//===----------------------------------------------------------------------===//
// RepackOp
//===----------------------------------------------------------------------===//

RankedTensorType RepackOp::getCanonicalType() {
  return getFrom().isTables() ? getResult().getType() : getPacked().getType();
}

int64_t RepackOp::getM() { return getCanonicalType().getDimSize(0); }

int64_t RepackOp::getK() {
  LayoutAttr canonical = getFrom().isTables() ? getTo() : getFrom();
  int64_t bytes = getCanonicalType().getDimSize(1);
  if (ShapedType::isDynamic(bytes))
    return ShapedType::kDynamic;
  // Bytes per row of 32 (sherry) or 256 (stq1_0) K elements.
  int64_t unit = canonical.getRequiredKMultiple();
  int64_t unitBytes = canonical.getRowBytes(unit);
  return bytes % unitBytes == 0 ? bytes / unitBytes * unit
                                : ShapedType::kDynamic;
}

LogicalResult RepackOp::verify() {
  LayoutAttr from = getFrom(), to = getTo();
  if (from.isTables() == to.isTables())
    return emitOpError("moves codes between a canonical layout (sherry or "
                       "stq1_0) and the tables layout, got ")
           << from << " to " << to;
  LayoutAttr canonical = from.isTables() ? to : from;
  LayoutAttr tables = from.isTables() ? from : to;
  if (canonical.getFormat() != tables.getGrouping())
    return emitOpError("the tables layout must keep the grouping of ")
           << stringifyPackedFormat(canonical.getFormat())
           << " (regrouping would re-pick the zeros training chose), got "
              "grouping = "
           << stringifyPackedFormat(tables.getGrouping());
  // What the tables layout stores apart: the scales of sherry as they are,
  // stq1_0's block scales as group-256 scales.
  if (canonical.getFormat() == PackedFormat::Sherry
          ? (canonical.getGranularity() != tables.getGranularity() ||
             canonical.getGroupSize() != tables.getGroupSize() ||
             canonical.getScaleType() != tables.getScaleType())
          : (tables.getGranularity() != ScaleGranularity::Group ||
             tables.getGroupSize() != 256))
    return emitOpError("the scales of ")
           << tables << " must be those of " << canonical
           << (canonical.getFormat() == PackedFormat::Stq1_0
                   ? " (group = 256, one per block)"
                   : " (the same granularity and scale type)");

  RankedTensorType canonicalType = getCanonicalType();
  Type tablesType = from.isTables() ? getPacked().getType() : getResult().getType();
  if (canonicalType.getRank() != 2)
    return emitOpError("the ")
           << stringifyPackedFormat(canonical.getFormat())
           << " side must be 2-D (M x bytes per row), got " << canonicalType;
  int64_t k = getK();
  if (!ShapedType::isDynamic(canonicalType.getDimSize(1)) &&
      ShapedType::isDynamic(k))
    return emitOpError("the ")
           << stringifyPackedFormat(canonical.getFormat()) << " side has "
           << canonicalType.getDimSize(1)
           << " bytes per row, which is no whole number of K elements";
  if (failed(verifyPackedBytes(*this, canonical, canonicalType,
                               canonicalType.getDimSize(0), k,
                               "the canonical bytes")) ||
      failed(verifyPackedBytes(*this, tables, cast<ShapedType>(tablesType),
                               getM(), k, "the tables bytes")))
    return failure();

  bool toStq = to.getFormat() == PackedFormat::Stq1_0;
  bool fromStq = from.getFormat() == PackedFormat::Stq1_0;
  if (toStq != bool(getScales()))
    return emitOpError(toStq ? "into stq1_0 needs the block scales to put "
                               "in the blocks (scales)"
                             : "takes scales only into stq1_0, whose blocks "
                               "hold them");
  if (toStq) {
    if (!tables.getScaleType().isF16())
      return emitOpError("stq1_0 stores f16 scales: the tables layout's "
                         "scale_type must be f16, got ")
             << tables.getScaleType();
    if (failed(verifyScalesType(*this, tables, getScales().getType(), getM(),
                                k)))
      return failure();
  }
  if (fromStq != bool(getResultScales()))
    return emitOpError(fromStq ? "from stq1_0 returns the block scales the "
                                 "tables layout keeps apart"
                               : "returns scales only from stq1_0");
  if (fromStq)
    return verifyScalesType(*this, tables, getResultScales().getType(),
                            getM(), k);
  return success();
}

LogicalResult RepackOp::fold(FoldAdaptor adaptor,
                             SmallVectorImpl<OpFoldResult> &results) {
  int64_t m = getM(), k = getK();
  if (ShapedType::isDynamic(m) || ShapedType::isDynamic(k) ||
      (getScales() && !adaptor.getScales()))
    return failure();
  LayoutAttr from = getFrom(), to = getTo();
  auto packed = makePackedWeights(from, m, k, adaptor.getPacked(),
                                  adaptor.getScales());
  if (!packed)
    return failure();
  // The tables layout's counts follow the scale regions: keep the layout's
  // spec, whatever the scales' values (they stay apart).
  if (from.getFormat() == PackedFormat::Sherry) {
    packed->scaleSpec = toScaleSpec(from);
    packed->scales.assign(format::numScales(packed->scaleSpec, m, k), 1.0f);
  }
  // Into stq1_0: the f16 scales go in the blocks.
  if (to.getFormat() == PackedFormat::Stq1_0) {
    std::optional<std::vector<float>> scales =
        getElementsAsFloats(adaptor.getScales());
    if (!scales)
      return failure();
    packed->scales = std::move(*scales);
  }
  format::Result<format::PackedWeights> out =
      to.isTables() ? format::toTables(*packed, *toFormatTableLayout(to))
                    : format::convert(*packed, toFormatLayout(to));
  if (!out.ok())
    return failure();
  results.push_back(makeInt8Elements(
      getResult().getType(),
      ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(out->data.data()),
                       out->data.size()),
      "sherry_repacked"));
  if (getResultScales())
    results.push_back(makeFloatElements(getResultScales().getType(),
                                        out->scales, "sherry_scales"));
  return success();
}
