//===- SiblingMatmuls.cpp - sherry.matmul ops on shared activations ------===//
//
// Groups sibling matmuls: same activations, constant weights, the same
// layout, mode, K and element types, in runs that one op at the run's last
// member can replace.
//
//===----------------------------------------------------------------------===//

#include "sherry/Dialect/Sherry/Transforms/SiblingMatmuls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::sherry;

namespace {} // namespace

bool mlir::sherry::isSiblingCandidate(MatmulOp op, SiblingWeights weights) {
  if (op.getResult().empty() || ShapedType::isDynamic(op.getM()) ||
      ShapedType::isDynamic(op.getK()))
    return false;
  if (op.getLayout().hasSeparateScales() &&
      op.getLayout().getGranularity() == ScaleGranularity::Tensor)
    return false;
  bool tables = weights == SiblingWeights::ConstantOrTables &&
                op.getLayout().isTables();
  if (!tables && !op.getWeights().getDefiningOp<arith::ConstantOp>())
    return false;
  if (op.getScales() && !isa<RankedTensorType>(op.getScales().getType()))
    return false;
  return true;
}

namespace {

/// What members of one group share.
struct GroupKey {
  Value input;
  Attribute layout, mode;
  Type weightsElement, initElement, scalesElement;
  int64_t k;
  bool bias;
  /// The kernel chosen for the op (sherry.kernel), if any: one fused op
  /// has one kernel.
  std::optional<MatmulKernel> kernel;

  bool operator==(const GroupKey &o) const {
    return input == o.input && layout == o.layout && mode == o.mode &&
           weightsElement == o.weightsElement && initElement == o.initElement &&
           scalesElement == o.scalesElement && k == o.k && bias == o.bias &&
           kernel == o.kernel;
  }
};

GroupKey keyOf(MatmulOp op) {
  auto elementOf = [](Value v) -> Type {
    return v ? cast<ShapedType>(v.getType()).getElementType() : Type();
  };
  return {op.getInput(),
          op.getLayoutAttr(),
          op.getModeAttr(),
          elementOf(op.getWeights()),
          elementOf(op.getInit()),
          elementOf(op.getScales()),
          op.getK(),
          bool(op.getBias()),
          op.getChosenKernel()};
}

/// Whether a result of `op` is used in `op`'s block before `point`.
bool usedBefore(MatmulOp op, Operation *point) {
  Block *block = op->getBlock();
  for (Operation *user : op->getUsers()) {
    Operation *at = block->findAncestorOpInBlock(*user);
    if (!at || !point->isBeforeInBlock(at))
      return true;
  }
  return false;
}

/// Splits `members` (one key, block order) into runs: a member whose
/// predecessors' results are used before it starts a new run.
void splitIntoRuns(ArrayRef<MatmulOp> members,
                   SmallVector<SmallVector<MatmulOp>> &runs) {
  SmallVector<MatmulOp> run;
  for (MatmulOp op : members) {
    if (llvm::any_of(run, [&](MatmulOp m) { return usedBefore(m, op); })) {
      runs.push_back(run);
      run.clear();
    }
    run.push_back(op);
  }
  if (!run.empty())
    runs.push_back(run);
}

} // namespace

SmallVector<SmallVector<MatmulOp>>
mlir::sherry::collectSiblingMatmuls(Block &block, SiblingWeights weights) {
  SmallVector<std::pair<GroupKey, SmallVector<MatmulOp>>> byKey;
  for (auto op : block.getOps<MatmulOp>()) {
    if (!isSiblingCandidate(op, weights))
      continue;
    GroupKey key = keyOf(op);
    auto it = llvm::find_if(byKey, [&](auto &g) { return g.first == key; });
    if (it == byKey.end())
      byKey.push_back({key, {op}});
    else
      it->second.push_back(op);
  }
  SmallVector<SmallVector<MatmulOp>> runs;
  for (auto &[key, members] : byKey)
    splitIntoRuns(members, runs);
  return runs;
}
