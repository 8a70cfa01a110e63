//===- Passes.h - sherry dialect passes -------------------------*- C++ -*-===//

#ifndef SHERRY_DIALECT_SHERRY_TRANSFORMS_PASSES_H
#define SHERRY_DIALECT_SHERRY_TRANSFORMS_PASSES_H

#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"
#include "sherry/Dialect/Sherry/IR/SherryDialect.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::sherry {

/// The attributes the passes exchange, declared (and verified) by the
/// dialect: see SherryBase.td.
/// Marks an `scf.for` of a kernel for sherry-outline-kernel-loops.
constexpr StringLiteral kOutlineAttrName =
    SherryDialect::OutlineAttrHelper::getNameStr();
/// The number of parts of an `scf.forall` for sherry-forall-work-stealing.
constexpr StringLiteral kWorkStealingAttrName =
    SherryDialect::WorkStealingAttrHelper::getNameStr();
/// Marks the operation in the body of such an `scf.forall` that runs once
/// per part instead of once per iteration (the pass checks that it does not
/// depend on the iteration and writes only buffers it allocates).
constexpr StringLiteral kPerPartAttrName =
    SherryDialect::PerPartAttrHelper::getNameStr();

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
