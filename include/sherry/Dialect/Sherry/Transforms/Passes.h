//===- Passes.h - sherry dialect passes -------------------------*- C++ -*-===//

#ifndef SHERRY_DIALECT_SHERRY_TRANSFORMS_PASSES_H
#define SHERRY_DIALECT_SHERRY_TRANSFORMS_PASSES_H

#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::sherry {

class SherryDialect;

/// The unit attribute with which a kernel marks an `scf.for` for
/// sherry-outline-kernel-loops.
constexpr StringLiteral kOutlineAttrName = "sherry.outline";

/// The integer attribute (the number of parts) with which a kernel marks an
/// `scf.forall` for sherry-forall-work-stealing.
constexpr StringLiteral kWorkStealingAttrName = "sherry.work_stealing";

/// The unit attribute with which a kernel marks the operation in the body
/// of an `scf.forall` for sherry-forall-work-stealing that runs once per
/// part instead of once per iteration (the pass checks that it does not
/// depend on the iteration and writes only buffers it allocates).
constexpr StringLiteral kPerPartAttrName = "sherry.per_part";

/// Who defines the function that sherry-insert-runtime-checks calls when a
/// check fails.
enum class RuntimeErrorHandler {
  /// A weak definition in the module that prints to stderr.
  WeakDefault,
  /// A declaration only: the program (the C API's JIT) defines it.
  External,
};

/// How sherry-sparsify passes the weights of arguments marked
/// `sherry.weights`.
enum class ArgumentLayout {
  /// In the packed layout (`layout`) itself.
  Packed,
  /// In the tables layout of that layout, for the table kernels.
  Tables,
};

#define GEN_PASS_DECL
#include "sherry/Dialect/Sherry/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sherry/Dialect/Sherry/Transforms/Passes.h.inc"

} // namespace mlir::sherry

#endif // SHERRY_DIALECT_SHERRY_TRANSFORMS_PASSES_H
