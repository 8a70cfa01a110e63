//===- embed-opt.cpp - A compiler that embeds the sherry passes -----------===//
//
// What docs/embedding.md shows: two calls add the sherry dialect, its
// interface models and its passes to an mlir-opt style driver.
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

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "embed-opt: upstream MLIR + sherry\n",
                        registry));
}
