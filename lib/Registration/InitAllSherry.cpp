//===- InitAllSherry.cpp - Register everything sherry-mlir offers ---------===//

#include "sherry/InitAllSherry.h"

#include "sherry/Conversion/Passes.h"
#include "sherry/Dialect/Sherry/IR/SherryDialect.h"
#include "sherry/Dialect/Sherry/TransformOps/SherryTransformOps.h"
#include "sherry/Dialect/Sherry/Transforms/BufferizableOpInterfaceImpl.h"
#include "sherry/Dialect/Sherry/Transforms/Passes.h"
#include "sherry/Dialect/Sherry/Transforms/TilingInterfaceImpl.h"
#include "sherry/Dialect/SherryArm/IR/SherryArmDialect.h"
#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.h"
#include "sherry/Pipelines/Pipelines.h"
#include "sherry/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"

void mlir::sherry::registerAllSherryDialects(DialectRegistry &registry) {
  registry
      .insert<SherryDialect, arm::SherryArmDialect, x86::SherryX86Dialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
  registerTilingInterfaceExternalModels(registry);
  registerTransformDialectExtension(registry);
  registerConvertSherryIntrinsicsToLLVMInterfaces(registry);
}

void mlir::sherry::registerAllSherryPasses() {
  registerSherryPasses();
  registerSherryConversionPasses();
  registerSherryGenericPasses();
  registerSherryPipelines();
}
