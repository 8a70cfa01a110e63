//===- Dialect.cpp - C API: the sherry dialect and its passes -------------===//

#include "sherry-c/Dialect.h"

#include "sherry/Dialect/Sherry/IR/SherryDialect.h"
#include "sherry/InitAllSherry.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"

#include <mutex>

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(Sherry, sherry,
                                      mlir::sherry::SherryDialect)

void sherryRegisterAllDialects(MlirDialectRegistry registry) {
  mlir::sherry::registerAllSherryDialects(*unwrap(registry));
}

void sherryRegisterAllPasses(void) {
  // The pass registry refuses a second registration of a pipeline name.
  static std::once_flag once;
  std::call_once(once, [] { mlir::sherry::registerAllSherryPasses(); });
}
