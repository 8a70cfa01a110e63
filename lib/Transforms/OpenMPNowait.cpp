//===- OpenMPNowait.cpp - One barrier per parallel region -----------------===//
//
// A worksharing loop's implicit barrier right before the end of its
// parallel region, whose join is a barrier too, only makes every thread
// synchronize twice.
//
//===----------------------------------------------------------------------===//

#include "sherry/Transforms/Passes.h"

#include "mlir/Dialect/OpenMP/OpenMPDialect.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_SHERRYOPENMPNOWAIT
#include "sherry/Transforms/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;

namespace {

struct SherryOpenMPNowaitPass
    : public mlir::sherry::impl::SherryOpenMPNowaitBase<
          SherryOpenMPNowaitPass> {
  void runOnOperation() override {
    getOperation()->walk([](omp::WsloopOp loop) {
      // Reductions combine at the loop's end, before its barrier.
      if (loop.getNowait() || !loop.getReductionVars().empty() ||
          !isa<omp::ParallelOp>(loop->getParentOp()))
        return;
      Operation *next = loop->getNextNode();
      if (next && isa<omp::TerminatorOp>(next))
        loop.setNowait(true);
    });
  }
};

} // namespace
