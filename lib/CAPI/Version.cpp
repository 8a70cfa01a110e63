//===- Version.cpp - C API: the version of sherry-mlir --------------------===//

#include "sherry-c/Version.h"

#include "sherry/Version.h"

MlirStringRef sherryGetVersion(void) {
  return mlirStringRefCreateFromCString(SHERRY_VERSION_STRING);
}
