//===- SherryArmDialect.cpp - AArch64 instructions the kernels use --------===//

#include "sherry/Dialect/SherryArm/IR/SherryArmDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace mlir::sherry::arm;

#include "sherry/Dialect/SherryArm/IR/SherryArmDialect.cpp.inc"

namespace {
/// Every op of the dialect may be inlined: none has regions, and none
/// depends on the function it sits in.
struct SherryArmDialectInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void SherryArmDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "sherry/Dialect/SherryArm/IR/SherryArm.cpp.inc"
      >();
  addInterfaces<SherryArmDialectInlinerInterface>();
}

#define GET_OP_CLASSES
#include "sherry/Dialect/SherryArm/IR/SherryArm.cpp.inc"
