//===- VectorizeLinalg.cpp - Vectorize what no kernel covers --------------===//
//
// A model's norms, attention and dense matmuls lowered to scalar loops run
// their reductions as chains of dependent adds; at a context of 512 they
// cost several times the layer's sparse matmuls. Tiled so that the
// innermost loop is a vector (with partial sums for reductions), they run
// at vector speed through the rest of the pipeline unchanged.
//
//===----------------------------------------------------------------------===//

#include "sherry/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_SHERRYVECTORIZELINALG
#include "sherry/Transforms/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;

namespace {

/// Vectorizes `op` with `sizes` (masked where needed); false where the
/// vectorizer refuses it (the op is then left as it is).
bool vectorizeTile(RewriterBase &rewriter, Operation *op,
                   ArrayRef<int64_t> sizes) {
  // One flag per size: the vectorizer reads as many as there are sizes.
  SmallVector<bool> scalable(sizes.size(), false);
  if (failed(linalg::vectorizeOpPrecondition(op, sizes, scalable,
                                             /*vectorizeNDExtract=*/true)))
    return false;
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::VectorizationResult> result = linalg::vectorize(
      rewriter, op, sizes, scalable, /*vectorizeNDExtract=*/true);
  if (failed(result))
    return false;
  if (!result->replacements.empty())
    rewriter.replaceOp(op, result->replacements);
  else
    rewriter.eraseOp(op);
  return true;
}

/// Tiles `op` by `tiles` (0: not tiled) with `strategy`; null on failure.
FailureOr<scf::SCFTilingResult>
tile(RewriterBase &rewriter, TilingInterface op, ArrayRef<int64_t> tiles,
     ReductionTilingStrategy strategy = ReductionTilingStrategy::FullReduction,
     ArrayRef<unsigned> reductionDims = {},
     scf::SCFTilingOptions::LoopType loopType =
         scf::SCFTilingOptions::LoopType::ForOp) {
  scf::SCFTilingOptions options;
  options.setLoopType(loopType);
  options.setTileSizes(getAsIndexOpFoldResult(op->getContext(), tiles));
  options.setReductionTilingStrategy(strategy);
  options.setReductionDims(reductionDims);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> result =
      scf::tileUsingSCF(rewriter, op, options);
  if (failed(result))
    return failure();
  rewriter.replaceOp(op, result->replacements);
  return result;
}

struct SherryVectorizeLinalgPass
    : public mlir::sherry::impl::SherryVectorizeLinalgBase<
          SherryVectorizeLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (vectorWidth == 0) {
      func.emitError() << "sherry-vectorize-linalg: vector-width must be "
                          "positive";
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> ops;
    // The kernels' loops: neither vectorized nor cleaned up, so that the
    // passes after this one find them as the kernels made them.
    DenseSet<Operation *> kept;
    for (Block &block : func.getBody())
      for (Operation &op : block) {
        auto linalgOp = dyn_cast<linalg::LinalgOp>(&op);
        // Tiles of other indexing maps (mod, sums of loops) are not
        // slices the tiler can compute.
        if (linalgOp && linalgOp.hasPureTensorSemantics() &&
            linalgOp.getNumLoops() &&
            linalgOp.hasOnlyProjectedPermutations() &&
            !isa<linalg::FillOp>(&op))
          ops.push_back(linalgOp);
        else if (op.getNumRegions())
          kept.insert(&op);
      }
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops)
      vectorizeOne(rewriter, op);
    cleanUp(rewriter, kept);
  }

  /// `op` split into parallelParts chunks of its largest parallel loop by
  /// an scf.forall, where it is big enough; the op inside, or `op`.
  linalg::LinalgOp splitForThreads(RewriterBase &rewriter,
                                   linalg::LinalgOp op) {
    if (parallelParts < 2)
      return op;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    uint64_t work = 1;
    for (int64_t range : ranges) {
      if (ShapedType::isDynamic(range))
        return op;
      work *= range;
    }
    if (work < parallelMinWork)
      return op;
    std::optional<unsigned> dim;
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    for (unsigned d = 0; d < ranges.size(); ++d)
      if (linalg::isParallelIterator(iterators[d]) &&
          ranges[d] >= int64_t(parallelParts) &&
          (!dim || ranges[d] > ranges[*dim]))
        dim = d;
    auto tileable = dyn_cast<TilingInterface>(op.getOperation());
    if (!dim || !tileable)
      return op;
    SmallVector<int64_t> tiles(ranges.size(), 0);
    tiles[*dim] = llvm::divideCeil(ranges[*dim], parallelParts);
    FailureOr<scf::SCFTilingResult> chunks =
        tile(rewriter, tileable, tiles, ReductionTilingStrategy::FullReduction,
             {}, scf::SCFTilingOptions::LoopType::ForallOp);
    if (failed(chunks))
      return op;
    auto inner = dyn_cast<linalg::LinalgOp>(chunks->tiledOps.back());
    return inner ? inner : op;
  }

  void vectorizeOne(RewriterBase &rewriter, linalg::LinalgOp op) {
    op = splitForThreads(rewriter, op);
    unsigned loops = op.getNumLoops();
    unsigned inner = loops - 1;
    int64_t width = vectorWidth;
    SmallVector<int64_t> tiles(loops, 1);
    SmallVector<int64_t> sizes(loops, 1);
    sizes[inner] = width;
    auto tileable = dyn_cast<TilingInterface>(op.getOperation());
    if (!tileable)
      return;
    if (!linalg::isReductionIterator(op.getIteratorTypesArray()[inner])) {
      tiles[inner] = width;
      FailureOr<scf::SCFTilingResult> tiled = tile(rewriter, tileable, tiles);
      if (succeeded(tiled))
        (void)vectorizeTile(rewriter, tiled->tiledOps.back(), sizes);
      return;
    }
    // One output element per tile, its reduction split into `width`
    // partial sums.
    tiles[inner] = 0;
    FailureOr<scf::SCFTilingResult> outer = tile(rewriter, tileable, tiles);
    if (failed(outer))
      return;
    auto tiledOp = dyn_cast<TilingInterface>(outer->tiledOps.back());
    if (!tiledOp)
      return;
    SmallVector<int64_t> split(loops, 0);
    split[inner] = width;
    FailureOr<scf::SCFTilingResult> partial =
        tile(rewriter, tiledOp, split,
             ReductionTilingStrategy::PartialReductionOuterReduction, {inner});
    if (failed(partial))
      return;
    for (Operation *merge : partial->mergeOps)
      if (auto mergeOp = dyn_cast<linalg::LinalgOp>(merge)) {
        SmallVector<int64_t> mergeSizes(mergeOp.getNumLoops(), 1);
        mergeSizes.back() = width;
        (void)vectorizeTile(rewriter, merge, mergeSizes);
      }
    for (Value init : partial->initialValues)
      if (Operation *fill = init.getDefiningOp<linalg::FillOp>())
        (void)vectorizeTile(rewriter, fill, {});
    (void)vectorizeTile(rewriter, partial->tiledOps.back(), sizes);
  }

  /// Unit dimensions and masks lowered away, then multi-reductions (after
  /// the unit ones became elementwise ops), then the partial sums moved
  /// from tensors into vector loop-carried values.
  void cleanUp(RewriterBase &rewriter, const DenseSet<Operation *> &kept) {
    func::FuncOp func = getOperation();
    // Every op of the function but those in the kept ones, inner first.
    auto collect = [&] {
      SmallVector<Operation *> ops;
      func.walk<WalkOrder::PreOrder>([&](Operation *op) {
        if (kept.contains(op))
          return WalkResult::skip();
        if (op != func)
          ops.push_back(op);
        return WalkResult::advance();
      });
      std::reverse(ops.begin(), ops.end());
      return ops;
    };
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    MLIRContext *ctx = &getContext();
    RewritePatternSet shapes(ctx), reductions(ctx);
    vector::populateVectorMaskLoweringPatternsForSideEffectingOps(shapes);
    vector::populateCastAwayVectorLeadingOneDimPatterns(shapes);
    vector::populateVectorTransferDropUnitDimsPatterns(shapes);
    vector::populateDropUnitDimWithShapeCastPatterns(shapes);
    vector::populateSinkVectorOpsPatterns(shapes);
    vector::populateVectorMultiReductionLoweringPatterns(
        reductions, vector::VectorMultiReductionLowering::InnerReduction);
    for (RegisteredOperationName name : ctx->getRegisteredOperations())
      if (isa<vector::VectorDialect, scf::SCFDialect, tensor::TensorDialect,
              arith::ArithDialect>(name.getDialect())) {
        name.getCanonicalizationPatterns(shapes, ctx);
        name.getCanonicalizationPatterns(reductions, ctx);
      }
    FrozenRewritePatternSet frozenShapes(std::move(shapes));
    FrozenRewritePatternSet frozenReductions(std::move(reductions));
    auto simplify = [&] {
      return succeeded(applyOpPatternsGreedily(collect(), frozenShapes,
                                               config)) &&
             succeeded(applyOpPatternsGreedily(collect(), frozenReductions,
                                               config));
    };
    if (!simplify())
      return signalPassFailure();
    // Equal constants as one value: hoisting matches a sum's read and
    // write by their indices.
    DominanceInfo dominance;
    for (Operation &op : func.getBody().front())
      if (op.getNumRegions() && !kept.contains(&op))
        eliminateCommonSubExpressions(rewriter, dominance, &op);
    // Inner loops first, so that a sum leaves its whole nest; what a read
    // of it uses (its padding value) must be out of the loop first.
    for (Operation *op : collect())
      if (auto loop = dyn_cast<scf::ForOp>(op)) {
        (void)moveLoopInvariantCode(loop);
        (void)hoistLoopInvariantSubsets(rewriter, loop);
      }
    // The hoisted values' tensors fold away.
    if (!simplify())
      signalPassFailure();
  }
};

} // namespace
