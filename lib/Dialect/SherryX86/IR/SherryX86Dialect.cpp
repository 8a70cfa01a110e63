//===- SherryX86Dialect.cpp - x86 instructions the kernels use ------------===//

#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace mlir::sherry::x86;

#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.cpp.inc"

namespace {
/// Every op of the dialect may be inlined: none has regions, and none
/// depends on the function it sits in.
struct SherryX86DialectInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void SherryX86Dialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "sherry/Dialect/SherryX86/IR/SherryX86.cpp.inc"
      >();
  addInterfaces<SherryX86DialectInlinerInterface>();
}

#define GET_OP_CLASSES
#include "sherry/Dialect/SherryX86/IR/SherryX86.cpp.inc"
