//===- FuseSiblingMatmuls.cpp - One sherry.matmul for shared activations --===//
//
// Horizontal fusion: sherry.matmul ops that read the same activations with
// constant weights become one matmul on the weights concatenated along M.
// The packed layouts store whole rows of bytes (and scales per row or per
// group of a row), so concatenating rows concatenates the matrices.
//
//===----------------------------------------------------------------------===//

#include "sherry/Dialect/Sherry/Transforms/Passes.h"
#include "sherry/Dialect/Sherry/Transforms/SiblingMatmuls.h"

#include "sherry/Dialect/Sherry/IR/SherryConstants.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_SHERRYFUSESIBLINGMATMULS
#include "sherry/Dialect/Sherry/Transforms/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

/// The packed bytes of `op`'s constant weights, or nullopt.
std::optional<std::vector<int8_t>> constantWeights(MatmulOp op) {
  auto constant = op.getWeights().getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  return getElementsAsInt8(constant.getValue());
}

/// `parts` side by side along `dim` (0 or 1) of a new tensor of `type`, on
/// the fused op's sizes; `dynamicN` is the size of a dynamic dim 0.
Value concatenate(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<Value> parts, int64_t dim, Value dynamicN) {
  SmallVector<Value> dynamicSizes;
  if (type.isDynamicDim(0))
    dynamicSizes.push_back(dynamicN);
  Value out = tensor::EmptyOp::create(b, loc, type, dynamicSizes);
  int64_t offset = 0;
  for (Value part : parts) {
    auto partType = cast<RankedTensorType>(part.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    offsets[dim] = b.getIndexAttr(offset);
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, part);
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    out = tensor::InsertSliceOp::create(b, loc, part, out, offsets, sizes,
                                        strides);
    offset += partType.getDimSize(dim);
  }
  return out;
}

struct SherryFuseSiblingMatmulsPass
    : public mlir::sherry::impl::SherryFuseSiblingMatmulsBase<
          SherryFuseSiblingMatmulsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (minMembers < 2) {
      getOperation()->emitError()
          << "sherry-fuse-sibling-matmuls: min-members must be at least 2, "
             "got "
          << unsigned(minMembers);
      return signalPassFailure();
    }
    SmallVector<SmallVector<MatmulOp>> groups;
    getOperation()->walk(
        [&](Block *block) { groups.append(collectSiblingMatmuls(*block)); });
    for (auto &members : groups)
      if (members.size() >= minMembers && failed(fuse(members)))
        return signalPassFailure();
  }

  LogicalResult fuse(ArrayRef<MatmulOp> members) {
    MatmulOp last = members.back();
    Location loc = FusedLoc::get(
        &getContext(),
        llvm::map_to_vector(members, [](MatmulOp op) { return op.getLoc(); }));
    IRRewriter rewriter(&getContext());
    rewriter.setInsertionPoint(last);

    int64_t totalM = 0;
    std::vector<int8_t> bytes;
    for (MatmulOp op : members) {
      std::optional<std::vector<int8_t>> w = constantWeights(op);
      if (!w)
        return op.emitError("sherry-fuse-sibling-matmuls: weights are not "
                            "a readable i8 constant");
      bytes.insert(bytes.end(), w->begin(), w->end());
      totalM += op.getM();
    }
    auto weightsType = cast<RankedTensorType>(last.getWeights().getType());
    auto fusedWeightsType = RankedTensorType::get(
        {totalM, weightsType.getDimSize(1)}, weightsType.getElementType());
    Value weights = arith::ConstantOp::create(
        rewriter, loc,
        cast<TypedAttr>(
            makeInt8Elements(fusedWeightsType, bytes, "sherry_fused_weights")));

    Value n;
    if (cast<ShapedType>(last.getInput().getType()).isDynamicDim(0))
      n = tensor::DimOp::create(rewriter, loc, last.getInput(), 0);
    auto gather = [&](auto get) {
      return llvm::map_to_vector(members,
                                 [&](MatmulOp op) -> Value { return get(op); });
    };

    // Scales: rows side by side, at compile time where all are constants.
    Value scales;
    if (last.getScales()) {
      SmallVector<Value> parts =
          gather([](MatmulOp op) { return op.getScales(); });
      auto partType = cast<RankedTensorType>(parts.back().getType());
      SmallVector<int64_t> shape(partType.getShape());
      shape[0] = totalM;
      auto fusedType = RankedTensorType::get(shape, partType.getElementType());
      std::vector<float> values;
      bool constant = true;
      for (Value part : parts) {
        auto c = part.getDefiningOp<arith::ConstantOp>();
        std::optional<std::vector<float>> v =
            c ? getElementsAsFloats(c.getValue()) : std::nullopt;
        if (!v) {
          constant = false;
          break;
        }
        values.insert(values.end(), v->begin(), v->end());
      }
      scales = constant ? arith::ConstantOp::create(
                              rewriter, loc,
                              cast<TypedAttr>(makeFloatElements(
                                  fusedType, values, "sherry_fused_scales")))
                              .getResult()
                        : concatenate(rewriter, loc, fusedType, parts, 0, n);
    }
    Value bias;
    if (last.getBias()) {
      SmallVector<Value> parts =
          gather([](MatmulOp op) { return op.getBias(); });
      auto partType = cast<RankedTensorType>(parts.back().getType());
      bias = concatenate(
          rewriter, loc,
          RankedTensorType::get({totalM}, partType.getElementType()), parts, 0,
          n);
    }
    auto initType = cast<RankedTensorType>(last.getInit().getType());
    auto fusedInitType = RankedTensorType::get({initType.getDimSize(0), totalM},
                                               initType.getElementType());
    Value init =
        concatenate(rewriter, loc, fusedInitType,
                    gather([](MatmulOp op) { return op.getInit(); }), 1, n);

    auto fused = MatmulOp::create(rewriter, loc, TypeRange{fusedInitType},
                                  last.getInput(), weights, scales, bias, init,
                                  last.getLayoutAttr(), last.getModeAttr());
    // Siblings share their kernel choice (collectSiblingMatmuls).
    last.copyChosenKernelTo(fused);
    // The members' constants, erased below where nothing else reads them.
    SetVector<Operation *> constants;
    for (MatmulOp op : members)
      for (Value v : {op.getWeights(), op.getScales()})
        if (Operation *c = v ? v.getDefiningOp<arith::ConstantOp>() : nullptr)
          constants.insert(c);
    int64_t offset = 0;
    for (MatmulOp op : members) {
      auto type = cast<RankedTensorType>(op.getResult()[0].getType());
      SmallVector<OpFoldResult> offsets{rewriter.getIndexAttr(0),
                                        rewriter.getIndexAttr(offset)};
      SmallVector<OpFoldResult> sizes{
          type.isDynamicDim(0)
              ? OpFoldResult(n)
              : OpFoldResult(rewriter.getIndexAttr(type.getDimSize(0))),
          rewriter.getIndexAttr(op.getM())};
      SmallVector<OpFoldResult> strides(2, rewriter.getIndexAttr(1));
      Value slice = tensor::ExtractSliceOp::create(rewriter, op.getLoc(), type,
                                                   fused.getResult()[0],
                                                   offsets, sizes, strides);
      // op.getM() first: replaceOp erases the op.
      offset += op.getM();
      rewriter.replaceOp(op, slice);
    }
    for (Operation *c : constants)
      if (c->use_empty())
        rewriter.eraseOp(c);
    return success();
  }
};

} // namespace
