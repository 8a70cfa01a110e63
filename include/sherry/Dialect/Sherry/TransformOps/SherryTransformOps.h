//===- SherryTransformOps.h - Transform ops for sherry ----------*- C++ -*-===//

#ifndef SHERRY_DIALECT_SHERRY_TRANSFORMOPS_SHERRYTRANSFORMOPS_H
#define SHERRY_DIALECT_SHERRY_TRANSFORMOPS_SHERRYTRANSFORMOPS_H

#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"

#include "mlir/Dialect/Transform/IR/TransformTypes.h"
#include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.h"
#include "mlir/IR/OpImplementation.h"

namespace mlir {
class DialectRegistry;

namespace sherry {
/// Registers `transform.sherry.*` with the transform dialect.
void registerTransformDialectExtension(DialectRegistry &registry);
} // namespace sherry
} // namespace mlir

#define GET_OP_CLASSES
#include "sherry/Dialect/Sherry/TransformOps/SherryTransformOps.h.inc"

#endif // SHERRY_DIALECT_SHERRY_TRANSFORMOPS_SHERRYTRANSFORMOPS_H
