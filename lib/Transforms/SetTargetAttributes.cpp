//===- SetTargetAttributes.cpp - Pin the instruction set of llvm.funcs ----===//
//
// A kernel lowered for AVX2 must not come out of LLVM with AVX-512 code
// because the machine that compiles it has AVX-512: the generic vector ops
// around the kernel's intrinsics would otherwise take whatever the code
// generator's CPU offers. LLVM reads a function's "target-cpu" and
// "target-features" in place of the compiler's, so setting them on every
// function pins the instruction set.
//
//===----------------------------------------------------------------------===//

#include "sherry/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include "llvm/ADT/StringExtras.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_SHERRYSETTARGETATTRIBUTES
#include "sherry/Transforms/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;

namespace {

struct SherrySetTargetAttributesPass
    : public mlir::sherry::impl::SherrySetTargetAttributesBase<
          SherrySetTargetAttributesPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<StringRef> list;
    llvm::SplitString(features, list, ",");
    for (StringRef feature : list) {
      if (feature.size() < 2 || (feature[0] != '+' && feature[0] != '-')) {
        getOperation()->emitError()
            << "sherry-set-target-attributes: feature '" << feature
            << "' must start with '+' or '-'";
        return signalPassFailure();
      }
    }
    MLIRContext *ctx = &getContext();
    auto featuresAttr =
        list.empty() ? LLVM::TargetFeaturesAttr()
                     : LLVM::TargetFeaturesAttr::get(ctx, ArrayRef(list));
    getOperation()->walk([&](LLVM::LLVMFuncOp func) {
      if (func.isExternal())
        return;
      if (!cpu.empty())
        func.setTargetCpuAttr(StringAttr::get(ctx, cpu));
      if (featuresAttr)
        func.setTargetFeaturesAttr(featuresAttr);
    });
  }
};

} // namespace
