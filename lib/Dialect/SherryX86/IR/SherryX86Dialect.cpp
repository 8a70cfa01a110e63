//===- SherryX86Dialect.cpp - x86 instructions the kernels use ------------===//

#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::sherry::x86;

#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.cpp.inc"

void SherryX86Dialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "sherry/Dialect/SherryX86/IR/SherryX86.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "sherry/Dialect/SherryX86/IR/SherryX86.cpp.inc"
