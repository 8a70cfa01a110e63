//===- Tile.cpp - Tile sherry.matmul with scf.forall ----------------------===//

#include "sherry/Dialect/Sherry/Transforms/Passes.h"

#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_SHERRYTILE
#include "sherry/Dialect/Sherry/Transforms/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

struct SherryTilePass
    : public mlir::sherry::impl::SherryTileBase<SherryTilePass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<MatmulOp> matmuls;
    getOperation()->walk([&](MatmulOp op) {
      // Only the tensor form: tiles of a bufferized op would need no
      // results, and the lowering tiles before bufferization.
      if (!op.getResult().empty())
        matmuls.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (MatmulOp op : matmuls) {
      // The iteration space is (N, M). Weights in the tables layout tile by
      // activation rows only: no slice of their bytes is a range of rows.
      int64_t rows = op.getLayout().isTables() ? 0 : int64_t(rowTile);
      if (batchTile == 0 && rows == 0)
        continue;
      SmallVector<OpFoldResult> sizes{rewriter.getIndexAttr(batchTile),
                                      rewriter.getIndexAttr(rows)};
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
          .setTileSizes(sizes);
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op.emitError("sherry-tile: tiling failed");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, tiled->replacements);
    }
  }
};

} // namespace
