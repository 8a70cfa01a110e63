//===- ModuleTarget.cpp - --sherry-to-llvm for the module's own target ----===//
//
// target=module: the instruction set comes from the LLVM target the module
// names, which only the module knows, so the pipeline is built when the
// module is there: a pass resolves the target and runs the pipeline for it
// as a dynamic pipeline.
//
//===----------------------------------------------------------------------===//

#include "sherry/Pipelines/Pipelines.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/AArch64TargetParser.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/TargetParser/X86TargetParser.h"

using namespace mlir;
using namespace mlir::sherry;

FailureOr<SherryTarget>
mlir::sherry::resolveModuleTarget(ModuleOp module, std::string &message) {
  StringRef tripleName, chip;
  SmallVector<StringRef> explicitFeatures;
  if (auto target = module->getAttrOfType<LLVM::TargetAttr>(
          LLVM::LLVMDialect::getTargetAttrName())) {
    tripleName = target.getTriple().getValue();
    chip = target.getChip().getValue();
    if (LLVM::TargetFeaturesAttr features = target.getFeatures())
      for (StringAttr feature : features.getFeatures())
        explicitFeatures.push_back(feature.getValue());
  } else if (auto triple = module->getAttrOfType<StringAttr>(
                 LLVM::LLVMDialect::getTargetTripleAttrName())) {
    tripleName = triple.getValue();
  } else {
    message = "target=module needs an '" +
              LLVM::LLVMDialect::getTargetAttrName().str() + "' or '" +
              LLVM::LLVMDialect::getTargetTripleAttrName().str() +
              "' attribute on the module";
    return failure();
  }
  llvm::Triple triple(llvm::Triple::normalize(tripleName));
  if (chip == "generic")
    chip = "";

  if (triple.getArch() == llvm::Triple::x86_64) {
    llvm::StringMap<bool> has;
    if (!chip.empty()) {
      if (llvm::X86::parseArchX86(chip) == llvm::X86::CK_None) {
        message = "target=module: unknown x86 CPU '" + chip.str() + "'";
        return failure();
      }
      SmallVector<StringRef> cpuFeatures;
      llvm::X86::getFeaturesForCPU(chip, cpuFeatures);
      for (StringRef feature : cpuFeatures)
        has[feature] = true;
    }
    // +f and -f on top, with what they imply (+avx512bw brings avx512f,
    // -avx512f takes avx512bw and the rest).
    for (StringRef feature : explicitFeatures)
      if (feature.size() > 1 && (feature[0] == '+' || feature[0] == '-')) {
        has[feature.drop_front()] = feature[0] == '+';
        llvm::X86::updateImpliedFeatures(feature.drop_front(),
                                         feature[0] == '+', has);
      }
    auto all = [&](std::initializer_list<StringRef> names) {
      return llvm::all_of(names, [&](StringRef n) { return has.lookup(n); });
    };
    if (all({"avx512f", "avx512bw", "avx512vbmi", "avx512vnni"}))
      return SherryTarget::Avx512Vnni;
    if (all({"avx512f", "avx512bw"}))
      return SherryTarget::Avx512Bw;
    if (all({"avx2"}))
      return SherryTarget::Avx2;
    return SherryTarget::Portable;
  }

  if (triple.isAArch64()) {
    bool neon = true, dotprod = false;
    if (!chip.empty()) {
      std::optional<llvm::AArch64::CpuInfo> cpu = llvm::AArch64::parseCpu(chip);
      if (!cpu) {
        message = "target=module: unknown AArch64 CPU '" + chip.str() + "'";
        return failure();
      }
      dotprod = cpu->getImpliedExtensions().test(llvm::AArch64::AEK_DOTPROD);
    }
    for (StringRef feature : explicitFeatures) {
      bool on = feature.starts_with("+");
      StringRef name = feature.drop_front();
      if (name == "neon")
        neon = on;
      else if (name == "dotprod")
        dotprod = on;
    }
    if (!neon)
      return SherryTarget::Portable;
    return dotprod ? SherryTarget::NeonDotprod : SherryTarget::Neon;
  }
  return SherryTarget::Portable;
}

namespace {

/// Resolves target=module on the module it runs on, then runs
/// --sherry-to-llvm for that target.
struct SherryToLLVMForModuleTargetPass
    : public PassWrapper<SherryToLLVMForModuleTargetPass,
                         OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SherryToLLVMForModuleTargetPass)

  explicit SherryToLLVMForModuleTargetPass(const SherryToLLVMOptions &from) {
    options.copyOptionValuesFrom(from);
  }
  SherryToLLVMForModuleTargetPass(const SherryToLLVMForModuleTargetPass &other)
      : PassWrapper(other) {
    options.copyOptionValuesFrom(other.options);
  }

  StringRef getArgument() const override {
    return "sherry-to-llvm-for-module-target";
  }
  StringRef getDescription() const override {
    return "--sherry-to-llvm for the target the module names (target=module)";
  }

  /// The dialects of every target's pipeline: which one runs is known only
  /// once the module is there.
  void getDependentDialects(DialectRegistry &registry) const override {
    for (SherryTarget target :
         {SherryTarget::Portable, SherryTarget::Avx512Vnni,
          SherryTarget::Avx512Bw, SherryTarget::Avx2,
          SherryTarget::NeonDotprod, SherryTarget::Neon}) {
      OpPassManager pm(ModuleOp::getOperationName());
      buildFor(pm, target);
      pm.getDependentDialects(registry);
    }
  }

  void runOnOperation() override {
    std::string message;
    FailureOr<SherryTarget> target =
        resolveModuleTarget(getOperation(), message);
    if (failed(target)) {
      getOperation()->emitError() << "sherry-to-llvm: " << message;
      return signalPassFailure();
    }
    OpPassManager pm(ModuleOp::getOperationName());
    buildFor(pm, *target);
    if (failed(runPipeline(pm, getOperation())))
      signalPassFailure();
  }

private:
  /// --sherry-to-llvm with these options for a concrete target.
  void buildFor(OpPassManager &pm, SherryTarget target) const {
    SherryToLLVMOptions concrete;
    concrete.copyOptionValuesFrom(options);
    concrete.target = target;
    buildSherryToLLVMPipeline(pm, concrete);
  }

  SherryToLLVMOptions options;
};

} // namespace

std::unique_ptr<Pass> mlir::sherry::createSherryToLLVMForModuleTargetPass(
    const SherryToLLVMOptions &options) {
  return std::make_unique<SherryToLLVMForModuleTargetPass>(options);
}
