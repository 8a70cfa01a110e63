/*===- Version.h - C API: the version of sherry-mlir ---------------*- C -*-===*\
|*                                                                            *|
|* The version of the sherry-mlir this library was built from (CMake's        *|
|* project(VERSION), as `<tool> --version` and Python's sherry.__version__    *|
|* print it).                                                                 *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef SHERRY_C_VERSION_H
#define SHERRY_C_VERSION_H

#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

/// "MAJOR.MINOR.PATCH", valid for the life of the process.
MLIR_CAPI_EXPORTED MlirStringRef sherryGetVersion(void);

#ifdef __cplusplus
}
#endif

#endif // SHERRY_C_VERSION_H
