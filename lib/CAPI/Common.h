//===- Common.h - Helpers shared by the sherry C API ------------*- C++ -*-===//

#ifndef SHERRY_LIB_CAPI_COMMON_H
#define SHERRY_LIB_CAPI_COMMON_H

#include "mlir-c/Support.h"

#include <string>

namespace sherry::capi {

/// Hands `message` to the caller's error callback (if any) and returns
/// failure.
inline MlirLogicalResult fail(MlirStringCallback callback, void *userData,
                              const std::string &message) {
  if (callback)
    callback(mlirStringRefCreate(message.data(), message.size()), userData);
  return mlirLogicalResultFailure();
}

} // namespace sherry::capi

#endif // SHERRY_LIB_CAPI_COMMON_H
