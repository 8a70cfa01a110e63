//===- sherry-opt.cpp - mlir-opt with the sherry dialect and passes -------===//
//
// Registers every upstream dialect, extension and pass, plus the sherry
// dialect and its passes, and runs the standard MlirOptMain driver.
//
//===----------------------------------------------------------------------===//

#include "../common/InternalError.h"
#include "../common/ToolVersion.h"

#include "sherry/InitAllSherry.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/Support/InitLLVM.h"

int main(int argc, char **argv) {
  // MlirOptMain(argc, argv, toolName, registry) without its own InitLLVM,
  // so that the crash handler comes after LLVM's crash printers.
  llvm::InitLLVM init(argc, argv);
  mlir::sherry::tools::exitWithInternalErrorOnCrash("sherry-opt");
  mlir::sherry::tools::addVersionPrinter("sherry-opt");
  mlir::registerAllPasses();
  mlir::sherry::registerAllSherryPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::sherry::registerAllSherryDialects(registry);

  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv,
      "Sherry optimizer driver: upstream MLIR plus the sherry "
      "dialect for 1.25-bit sparse-ternary weights\n",
      registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, inputFilename, outputFilename, registry));
}
