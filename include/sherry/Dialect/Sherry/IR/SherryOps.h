//===- SherryOps.h - sherry dialect operations ------------------*- C++ -*-===//

#ifndef SHERRY_DIALECT_SHERRY_IR_SHERRYOPS_H
#define SHERRY_DIALECT_SHERRY_IR_SHERRYOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"
#include "sherry/Dialect/Sherry/IR/SherryDialect.h"

#define GET_OP_CLASSES
#include "sherry/Dialect/Sherry/IR/SherryOps.h.inc"

#endif // SHERRY_DIALECT_SHERRY_IR_SHERRYOPS_H
