//===- sherry-opt.cpp - mlir-opt with the sherry dialect and passes -------===//
//
// Registers every upstream dialect, extension and pass, plus the sherry
// dialect and its passes, and runs the standard MlirOptMain driver.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "sherry/Dialect/Sherry/IR/SherryDialect.h"
#include "sherry/Dialect/Sherry/Transforms/BufferizableOpInterfaceImpl.h"
#include "sherry/Dialect/Sherry/Transforms/Passes.h"
#include "sherry/Dialect/Sherry/Transforms/TilingInterfaceImpl.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::sherry::registerSherryPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::sherry::SherryDialect>();
  mlir::sherry::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::sherry::registerTilingInterfaceExternalModels(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv,
      "Sherry optimizer driver: upstream MLIR plus the sherry "
      "dialect for 1.25-bit sparse-ternary weights\n",
      registry));
}
