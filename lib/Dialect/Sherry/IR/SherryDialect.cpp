//===- SherryDialect.cpp - The sherry dialect -----------------------------===//

#include "sherry/Dialect/Sherry/IR/SherryDialect.h"
#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
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

/// The names of the dialect's attributes, for messages.
static constexpr StringLiteral kKnownAttributes =
    "'sherry.weights', 'sherry.packed' and 'sherry.scales' (function "
    "arguments), 'sherry.outline' (scf.for), 'sherry.work_stealing' "
    "(scf.forall), 'sherry.per_part' (an operation in the body of an "
    "scf.forall) and 'sherry.kernel' (sherry.matmul)";

LogicalResult SherryDialect::verifyOperationAttribute(Operation *op,
                                                      NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  auto fail = [&](const Twine &why) {
    return op->emitError() << "'" << name << "' " << why;
  };
  if (name == OutlineAttrHelper::getNameStr()) {
    if (!isa<UnitAttr>(attr.getValue()))
      return fail("must be a unit attribute");
    if (!isa<scf::ForOp>(op))
      return fail("marks an scf.for, not '" + op->getName().getStringRef() +
                  "'");
    return success();
  }
  if (name == WorkStealingAttrHelper::getNameStr()) {
    auto parts = dyn_cast<IntegerAttr>(attr.getValue());
    if (!parts || parts.getValue().isNonPositive())
      return fail("must be a positive integer (the number of parts)");
    if (!isa<scf::ForallOp>(op))
      return fail("marks an scf.forall, not '" +
                  op->getName().getStringRef() + "'");
    return success();
  }
  if (name == PerPartAttrHelper::getNameStr()) {
    if (!isa<UnitAttr>(attr.getValue()))
      return fail("must be a unit attribute");
    if (!op->getParentOfType<scf::ForallOp>())
      return fail("marks an operation in the body of an scf.forall");
    return success();
  }
  if (name == KernelAttrHelper::getNameStr()) {
    if (!isa<MatmulKernelAttr>(attr.getValue()))
      return fail("must be a #sherry.kernel (tables, decode, portable or "
                  "linalg)");
    if (!isa<MatmulOp>(op))
      return fail("marks a sherry.matmul, not '" +
                  op->getName().getStringRef() + "'");
    return success();
  }
  if (name == WeightsAttrHelper::getNameStr() ||
      name == PackedAttrHelper::getNameStr() ||
      name == ScalesAttrHelper::getNameStr())
    return fail("is an attribute of function arguments, not of operations");
  return fail("is not an attribute of the sherry dialect, which has " +
              kKnownAttributes);
}

LogicalResult SherryDialect::verifyRegionArgAttribute(Operation *op,
                                                      unsigned region,
                                                      unsigned argIndex,
                                                      NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  auto fail = [&](const Twine &why) {
    return op->emitError() << "'" << name << "' on argument " << argIndex
                           << " " << why;
  };
  if (!isa<FunctionOpInterface>(op))
    return fail("marks a function argument, not an argument of '" +
                op->getName().getStringRef() + "'");
  if (name == WeightsAttrHelper::getNameStr()) {
    if (!isa<UnitAttr>(attr.getValue()))
      return fail("must be a unit attribute");
    return success();
  }
  if (name == PackedAttrHelper::getNameStr() ||
      name == ScalesAttrHelper::getNameStr()) {
    if (!isa<LayoutAttr>(attr.getValue()))
      return fail("must be a #sherry.layout");
    return success();
  }
  if (name == OutlineAttrHelper::getNameStr() ||
      name == WorkStealingAttrHelper::getNameStr() ||
      name == PerPartAttrHelper::getNameStr() ||
      name == KernelAttrHelper::getNameStr())
    return fail("is an attribute of operations, not of arguments");
  return fail("is not an attribute of the sherry dialect, which has " +
              kKnownAttributes);
}
