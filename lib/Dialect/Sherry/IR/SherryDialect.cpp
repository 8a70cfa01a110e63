//===- SherryDialect.cpp - The sherry dialect -----------------------------===//

#include "sherry/Dialect/Sherry/IR/SherryDialect.h"
#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace mlir::sherry;

#include "sherry/Dialect/Sherry/IR/SherryOpsDialect.cpp.inc"

namespace {
/// Every op of the dialect may be inlined: none has regions, and none
/// depends on the function it sits in.
struct SherryDialectInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void SherryDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "sherry/Dialect/Sherry/IR/SherryOps.cpp.inc"
      >();
  addInterfaces<SherryDialectInlinerInterface>();
}

Operation *SherryDialect::materializeConstant(OpBuilder &builder,
                                              Attribute value, Type type,
                                              Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}
