//===- RuntimeErrors.h - Reporting failed run-time checks -------*- C++ -*-===//
//
// Compiled code reports a failed run-time check (sizes that disagree,
// values a sherry.pack cannot encode) by calling the C function
// `void sherry_runtime_error(const char *format, int64_t a, int64_t b)`,
// `format` a printf format with up to two `%lld` for `a` and `b`, and then
// goes on without touching memory out of bounds: the program decides what
// a failed check means (the C API fails the call; a weak default prints to
// stderr).
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_DIALECT_SHERRY_UTILS_RUNTIMEERRORS_H
#define SHERRY_DIALECT_SHERRY_UTILS_RUNTIMEERRORS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::sherry {

/// The name of the function failed checks call.
constexpr StringLiteral kRuntimeErrorFunctionName = "sherry_runtime_error";

/// `sherry_runtime_error` in `module`, declared (private) at its end where
/// it is not there yet. Fails, with an error on the op, where a symbol of
/// that name is not a func.func of the right type.
FailureOr<func::FuncOp> getOrDeclareRuntimeErrorFunction(ModuleOp module);

/// Gives the declaration `handler` the weak default body: it prints
/// "sherry: run-time check failed: " and the formatted message to stderr
/// and returns; a strong definition linked into the program wins.
void defineWeakRuntimeErrorFunction(func::FuncOp handler);

/// Emits, at `builder`'s insertion point, `if (failed) handler(format,
/// first, second)`, with `format` in an internal constant of the module
/// (`%` in it that is not a conversion must be written `%%`). `first` and
/// `second` are index or integer values.
void emitRuntimeErrorIf(OpBuilder &builder, Location loc,
                        func::FuncOp handler, Value failed, StringRef format,
                        Value first, Value second);

/// "@f: sherry.matmul at file:3:8: " for `op`: where a message says a check
/// failed, its `%` escaped for a printf format.
std::string describeForRuntimeError(Operation *op);

} // namespace mlir::sherry

#endif // SHERRY_DIALECT_SHERRY_UTILS_RUNTIMEERRORS_H
