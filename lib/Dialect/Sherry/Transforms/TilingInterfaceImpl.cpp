//===- TilingInterfaceImpl.cpp - Tiling sherry.matmul ---------------------===//

#include "sherry/Dialect/Sherry/Transforms/TilingInterfaceImpl.h"

#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Interfaces/TilingInterface.h"

using namespace mlir;
using namespace mlir::sherry;

namespace {

/// A slice of `source` (tensor or memref) with unit strides.
Operation *makeSlice(OpBuilder &b, Location loc, Value source,
                     ArrayRef<OpFoldResult> offsets,
                     ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  if (isa<RankedTensorType>(source.getType()))
    return tensor::ExtractSliceOp::create(b, loc, source, offsets, sizes,
                                          strides);
  return memref::SubViewOp::create(b, loc, source, offsets, sizes, strides);
}

/// Size of dimension `dim` of a shaped value, as a constant or a dim op.
OpFoldResult dimOf(OpBuilder &b, Location loc, Value v, int64_t dim) {
  if (isa<RankedTensorType>(v.getType()))
    return tensor::getMixedSize(b, loc, v, dim);
  return memref::getMixedSize(b, loc, v, dim);
}

struct MatmulOpTiling
    : public TilingInterface::ExternalModel<MatmulOpTiling, MatmulOp> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *) const {
    return {utils::IteratorType::parallel, utils::IteratorType::parallel};
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    auto matmul = cast<MatmulOp>(op);
    Location loc = op->getLoc();
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    return {Range{zero, dimOf(b, loc, matmul.getInput(), 0), one},
            Range{zero, dimOf(b, loc, matmul.getInit(), 1), one}};
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    auto matmul = cast<MatmulOp>(op);
    Location loc = op->getLoc();
    OpFoldResult zero = b.getIndexAttr(0);
    OpFoldResult offN = offsets[0], offM = offsets[1];
    OpFoldResult sizeN = sizes[0], sizeM = sizes[1];
    TilingResult result;

    // Rows of activations, rows of packed weights (whole rows of bytes), the
    // scales and bias of those rows, and the matching accumulator tile.
    Operation *input = makeSlice(b, loc, matmul.getInput(), {offN, zero},
                                 {sizeN, dimOf(b, loc, matmul.getInput(), 1)});
    result.generatedSlices = {input};
    // The tables layout interleaves tiles of 32 rows and ends with every
    // row's counts: no slice of its bytes holds a range of rows, so its
    // tiles take every row (sherry-tile tiles it by activation rows only).
    Value weights = matmul.getWeights();
    if (matmul.getLayout().isTables()) {
      if (!isConstantIntValue(offM, 0) ||
          getConstantIntValue(sizeM) != matmul.getM())
        return op->emitOpError(
            "weights in the tables layout cannot be tiled by output rows");
    } else {
      result.generatedSlices.push_back(
          makeSlice(b, loc, weights, {offM, zero},
                    {sizeM, dimOf(b, loc, weights, 1)}));
      weights = result.generatedSlices.back()->getResult(0);
    }
    Value scales;
    if (Value s = matmul.getScales()) {
      switch (matmul.getLayout().getGranularity()) {
      case ScaleGranularity::Tensor:
        scales = s; // one scale serves every tile
        break;
      case ScaleGranularity::Row:
        result.generatedSlices.push_back(makeSlice(b, loc, s, {offM}, {sizeM}));
        scales = result.generatedSlices.back()->getResult(0);
        break;
      case ScaleGranularity::Group:
        result.generatedSlices.push_back(
            makeSlice(b, loc, s, {offM, zero}, {sizeM, dimOf(b, loc, s, 1)}));
        scales = result.generatedSlices.back()->getResult(0);
        break;
      }
    }
    Value bias;
    if (Value v = matmul.getBias()) {
      result.generatedSlices.push_back(makeSlice(b, loc, v, {offM}, {sizeM}));
      bias = result.generatedSlices.back()->getResult(0);
    }
    Operation *init =
        makeSlice(b, loc, matmul.getInit(), {offN, offM}, {sizeN, sizeM});
    result.generatedSlices.push_back(init);

    Value initTile = init->getResult(0);
    SmallVector<Type> resultTypes;
    if (isa<RankedTensorType>(initTile.getType()))
      resultTypes.push_back(initTile.getType());
    auto tiled = MatmulOp::create(b, loc, resultTypes, input->getResult(0),
                                  weights, scales, bias, initTile,
                                  matmul.getLayoutAttr(), matmul.getModeAttr());
    matmul.copyChosenKernelTo(tiled);
    result.tiledOps.push_back(tiled);
    for (Value v : tiled.getResult())
      result.tiledValues.push_back(v);
    return result;
  }

  LogicalResult getResultTilePosition(
      Operation *, OpBuilder &, unsigned, ArrayRef<OpFoldResult> offsets,
      ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
      SmallVector<OpFoldResult> &resultSizes) const {
    // The result is indexed by (n, m), exactly the iteration space.
    resultOffsets.assign(offsets.begin(), offsets.end());
    resultSizes.assign(sizes.begin(), sizes.end());
    return success();
  }

  FailureOr<TilingResult>
  generateResultTileValue(Operation *op, OpBuilder &b, unsigned,
                          ArrayRef<OpFoldResult> offsets,
                          ArrayRef<OpFoldResult> sizes) const {
    return getTiledImplementation(op, b, offsets, sizes);
  }
};

} // namespace

void mlir::sherry::registerTilingInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SherryDialect *) {
    MatmulOp::attachInterface<MatmulOpTiling>(*ctx);
  });
}
