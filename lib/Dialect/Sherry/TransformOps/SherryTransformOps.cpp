//===- SherryTransformOps.cpp - Transform ops for sherry ------------------===//

#include "sherry/Dialect/Sherry/TransformOps/SherryTransformOps.h"

#include "sherry/Dialect/Sherry/IR/SherryDialect.h"
#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Transform/IR/TransformDialect.h"

using namespace mlir;
using namespace mlir::sherry;

DiagnosedSilenceableFailure
SetKernelOp::applyToOne(transform::TransformRewriter &rewriter,
                              Operation *target,
                              transform::ApplyToEachResultList &results,
                              transform::TransformState &state) {
  if (!isa<MatmulOp>(target)) {
    DiagnosedDefiniteFailure diag =
        emitDefiniteFailure() << "sets the kernel of sherry.matmul ops, "
                                 "but the handle points to '"
                              << target->getName() << "'";
    diag.attachNote(target->getLoc()) << "this payload op";
    return diag;
  }
  rewriter.modifyOpInPlace(target, [&] {
    target->setAttr(SherryDialect::KernelAttrHelper::getNameStr(),
                    getKernelAttr());
  });
  return DiagnosedSilenceableFailure::success();
}

void SetKernelOp::getEffects(
    SmallVectorImpl<MemoryEffects::EffectInstance> &effects) {
  transform::onlyReadsHandle(getTargetMutable(), effects);
  transform::modifiesPayload(effects);
}

#define GET_OP_CLASSES
#include "sherry/Dialect/Sherry/TransformOps/SherryTransformOps.cpp.inc"

namespace {
class SherryTransformDialectExtension
    : public transform::TransformDialectExtension<
          SherryTransformDialectExtension> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SherryTransformDialectExtension)
  using Base::Base;

  void init() {
    declareDependentDialect<SherryDialect>();
    registerTransformOps<
#define GET_OP_LIST
#include "sherry/Dialect/Sherry/TransformOps/SherryTransformOps.cpp.inc"
        >();
  }
};
} // namespace

void mlir::sherry::registerTransformDialectExtension(
    DialectRegistry &registry) {
  registry.addExtensions<SherryTransformDialectExtension>();
}
