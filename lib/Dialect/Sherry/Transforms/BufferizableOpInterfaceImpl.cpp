//===- BufferizableOpInterfaceImpl.cpp - One-shot bufferization -----------===//

#include "sherry/Dialect/Sherry/Transforms/BufferizableOpInterfaceImpl.h"

#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace mlir::sherry;

namespace {

/// sherry.matmul is destination-passing: it reads every operand, writes its
/// init in place, and its result aliases the init.
struct MatmulOpInterface
    : public DstBufferizableOpInterfaceExternalModel<MatmulOpInterface,
                                                     MatmulOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto matmul = cast<MatmulOp>(op);
    SmallVector<Value> buffers;
    for (Value operand : op->getOperands()) {
      FailureOr<Value> buffer = getBuffer(rewriter, operand, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    // Operands in ODS order: input, weights, [scales], [bias], init.
    unsigned i = 0;
    Value input = buffers[i++], weights = buffers[i++];
    Value scales = matmul.getScales() ? buffers[i++] : Value();
    Value bias = matmul.getBias() ? buffers[i++] : Value();
    Value init = buffers[i++];
    rewriter.setInsertionPoint(op);
    auto bufferized = MatmulOp::create(rewriter, op->getLoc(), TypeRange{},
                                       input, weights, scales, bias, init,
                                       matmul.getLayoutAttr(),
                                       matmul.getModeAttr());
    matmul.copyChosenKernelTo(bufferized);
    replaceOpWithBufferizedValues(rewriter, op, init);
    return success();
  }
};

} // namespace

void mlir::sherry::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SherryDialect *) {
    MatmulOp::attachInterface<MatmulOpInterface>(*ctx);
  });
}
