//===- Passes.h - sherry-mlir's generic passes ------------------*- C++ -*-===//
//
// Passes over upstream IR that the pipelines run around the sherry kernels
// (Passes.td): outlining and work stealing for the table kernel's loops,
// OpenMP nowait, vectorizing the linalg ops of a model, pinning the target
// CPU and features of functions.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_TRANSFORMS_PASSES_H
#define SHERRY_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::sherry {

#define GEN_PASS_DECL
#include "sherry/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sherry/Transforms/Passes.h.inc"

} // namespace mlir::sherry

#endif // SHERRY_TRANSFORMS_PASSES_H
