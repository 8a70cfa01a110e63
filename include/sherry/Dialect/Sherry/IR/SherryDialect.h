//===- SherryDialect.h - The sherry dialect ---------------------*- C++ -*-===//

#ifndef SHERRY_DIALECT_SHERRY_IR_SHERRYDIALECT_H
#define SHERRY_DIALECT_SHERRY_IR_SHERRYDIALECT_H

#include "mlir/IR/Dialect.h"
#include "mlir/IR/Operation.h"

#include "sherry/Dialect/Sherry/IR/SherryOpsDialect.h.inc"

#endif // SHERRY_DIALECT_SHERRY_IR_SHERRYDIALECT_H
