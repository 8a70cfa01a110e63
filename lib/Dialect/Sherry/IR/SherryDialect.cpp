//===- SherryDialect.cpp - The sherry dialect -----------------------------===//

#include "sherry/Dialect/Sherry/IR/SherryDialect.h"
#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::sherry;

#include "sherry/Dialect/Sherry/IR/SherryOpsDialect.cpp.inc"

void SherryDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "sherry/Dialect/Sherry/IR/SherryOps.cpp.inc"
      >();
}

Operation *SherryDialect::materializeConstant(OpBuilder &builder,
                                              Attribute value, Type type,
                                              Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}
