//===- SherryPlugin.cpp - sherry-mlir as an mlir-opt plugin ---------------===//
//
// One shared library that a stock mlir-opt loads twice over:
// `--load-dialect-plugin` registers the sherry dialects (with their
// interface models) and `--load-pass-plugin` registers every sherry pass and
// the `sherry-to-llvm` pipeline. It holds only sherry-mlir's own code: MLIR
// and LLVM come from the libMLIR.so and libLLVM.so the tool is linked with,
// so that there is one copy of each registry and TypeID in the process.
//
//===----------------------------------------------------------------------===//

#include "sherry/InitAllSherry.h"

#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

extern "C" LLVM_ATTRIBUTE_WEAK mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "Sherry", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            mlir::sherry::registerAllSherryDialects(*registry);
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "SherryPasses", LLVM_VERSION_STRING,
          [] { mlir::sherry::registerAllSherryPasses(); }};
}
