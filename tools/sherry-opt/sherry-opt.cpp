//===- sherry-opt.cpp - mlir-opt with the sherry dialect and passes -------===//
//
// Registers every upstream dialect, extension and pass, plus the sherry
// dialect and its passes, and runs the standard MlirOptMain driver.
//
//===----------------------------------------------------------------------===//

#include "sherry/InitAllSherry.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::sherry::registerAllSherryPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::sherry::registerAllSherryDialects(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv,
      "Sherry optimizer driver: upstream MLIR plus the sherry "
      "dialect for 1.25-bit sparse-ternary weights\n",
      registry));
}
