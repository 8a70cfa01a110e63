/*===- Dialect.h - C API: the sherry dialect and its passes -------*- C -*-===*\
|*                                                                            *|
|* Registration of the sherry dialect with the MLIR C API (mlir-c/IR.h) and  *|
|* of every sherry pass and pipeline. libSherryCAPI.so carries the upstream  *|
|* MLIR C API as well (IR, passes, every upstream dialect, the execution     *|
|* engine), so that a C program can use mlir-c/ and sherry-c/ together with  *|
|* one copy of MLIR.                                                         *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef SHERRY_C_DIALECT_H
#define SHERRY_C_DIALECT_H

#include "mlir-c/IR.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

/// mlirGetDialectHandle__sherry__(): the sherry dialect alone.
MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(Sherry, sherry);

/// Inserts the sherry dialect and attaches its external interface models
/// (one-shot bufferization and tiling of sherry.matmul) to `registry`. Use
/// this rather than the dialect handle before running the sherry pipelines:
/// the lowering needs the interface models.
MLIR_CAPI_EXPORTED void sherryRegisterAllDialects(MlirDialectRegistry registry);

/// Registers every sherry pass and pipeline with the global registry, so
/// that `sherry-sparsify`, `sherry-to-llvm` and friends parse in a pass
/// pipeline string (mlirParsePassPipeline, mlirOpPassManagerAddPipeline).
/// Idempotent.
MLIR_CAPI_EXPORTED void sherryRegisterAllPasses(void);

#ifdef __cplusplus
}
#endif

#endif // SHERRY_C_DIALECT_H
