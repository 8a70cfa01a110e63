//===- SherryAttrs.h - sherry dialect attributes ----------------*- C++ -*-===//

#ifndef SHERRY_DIALECT_SHERRY_IR_SHERRYATTRS_H
#define SHERRY_DIALECT_SHERRY_IR_SHERRYATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#include "sherry/Dialect/Sherry/IR/SherryEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "sherry/Dialect/Sherry/IR/SherryAttrs.h.inc"

#endif // SHERRY_DIALECT_SHERRY_IR_SHERRYATTRS_H
