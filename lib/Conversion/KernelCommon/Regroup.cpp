//===- Regroup.cpp - K-order changes between packed layouts ---------------===//

#include "sherry/Conversion/KernelCommon/Regroup.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

Value mlir::sherry::regroupStq1_0(OpBuilder &b, Location loc, Value x,
                                  bool toGroupMajor) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t k = type.getDimSize(1);
  Type element = type.getElementType();
  // Element 16p + l of a chunk is (p, l) in 4 x 16, lane p of group l at
  // 4l + p is (l, p) in 16 x 4: a transpose each way.
  int64_t from0 = toGroupMajor ? 4 : 16, from1 = toGroupMajor ? 16 : 4;
  auto split = RankedTensorType::get({type.getDimSize(0), k / 64, from0, from1},
                                     element);
  Value expanded = tensor::ExpandShapeOp::create(
      b, loc, split, x, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
  SmallVector<OpFoldResult> sizes{tensor::getMixedSize(b, loc, x, 0),
                                  b.getIndexAttr(k / 64), b.getIndexAttr(from1),
                                  b.getIndexAttr(from0)};
  Value empty = tensor::EmptyOp::create(b, loc, sizes, element);
  Value moved = linalg::TransposeOp::create(b, loc, expanded, empty,
                                            ArrayRef<int64_t>{0, 1, 3, 2})
                    .getResult()[0];
  return tensor::CollapseShapeOp::create(
      b, loc, type, moved, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
}
