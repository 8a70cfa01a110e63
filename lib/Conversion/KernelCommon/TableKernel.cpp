//===- TableKernel.cpp - The activation-table kernel ----------------------===//
//
// Lowers sherry.matmul (and groups of sibling matmuls) to the
// activation-table kernel: what each matmul needs is worked out first (a
// matmul that does not fit is left as it was), then its constants and
// operands, the int8 activations, and the loops (TableKernelLoops.cpp),
// split between threads where its weights are worth it
// (TablePartition.cpp).
//
//===----------------------------------------------------------------------===//

#include "sherry/Conversion/KernelCommon/TableKernel.h"

#include "TableKernelLoops.h"
#include "TablePartition.h"

#include "sherry/Conversion/KernelCommon/Emitter.h"
#include "sherry/Conversion/KernelCommon/MicroKernel.h"
#include "sherry/Conversion/KernelCommon/Regroup.h"
#include "sherry/Dialect/Sherry/IR/SherryConstants.h"
#include "sherry/Dialect/Sherry/Transforms/SiblingMatmuls.h"
#include "sherry/Format/Format.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::sherry;
using namespace mlir::sherry::table_kernel;
namespace format = ::sherry::format;

namespace {

/// What the kernel needs of one matmul, worked out at compile time before
/// any IR is made: a matmul that fails here leaves the IR as it was.
struct PreparedMatmul {
  mutable MatmulOp op; ///< op handles are values; getters are not const
  int64_t m, k, tiles, tileBlock, segment;
  ScaleGranularity granularity;
  /// Constant stq1_0 weights: their block scales become an M x K/256 f32
  /// constant.
  bool blockScales = false;
  /// The stq1_0 grouping: the activations go in group order.
  bool regroup = false;
  /// Constant canonical weights: their tables layout, made at compile
  /// time. Empty for weights already in the tables layout, read as they
  /// are (constant or not).
  std::vector<uint8_t> tables;
  std::vector<float> blockScaleValues; ///< M x K/256, stq1_0
  /// Bytes of each count of negative groups (complementsNegatives()), or 0.
  int64_t countBytes = 0;
};

/// The order in which `arithmetic` reads its weights, as the layout
/// attribute names it.
TableOrder attributeOrder(const TableArithmetic &arithmetic) {
  switch (arithmetic.order()) {
  case format::TableOrder::GroupPairs:
    return TableOrder::Pairs;
  case format::TableOrder::Lanes:
    return TableOrder::Lanes;
  case format::TableOrder::WordFields:
    break;
  }
  return TableOrder::Words;
}

FailureOr<PreparedMatmul> prepareMatmul(MatmulOp op, RewriterBase &rewriter,
                                        const TableArithmetic &arithmetic,
                                        const TableKernelOptions &options) {
  if (op.getResult().empty() || op.getMode() != ActivationMode::Int8)
    return rewriter.notifyMatchFailure(op, "int8 mode on tensors only");
  PreparedMatmul p;
  p.op = op;
  p.k = op.getK();
  p.m = op.getM();
  if (ShapedType::isDynamic(p.k) || ShapedType::isDynamic(p.m))
    return rewriter.notifyMatchFailure(op, "M and K must be static");
  LayoutAttr layout = op.getLayout();
  p.granularity = layout.getGranularity();
  p.regroup = layout.hasStq1_0Grouping();
  p.segment = layout.getScaleRegionLength(p.k);
  p.tiles = (p.m + kRows - 1) / kRows;
  if (p.segment % arithmetic.stepElements() != 0)
    return rewriter.notifyMatchFailure(
        op, "scale segments are no multiple of the lookup's steps");
  if (arithmetic.complementsNegatives()) {
    assert(arithmetic.order() == format::TableOrder::Lanes &&
           "the tables layout keeps counts in the lanes order only");
    p.countBytes = format::tableCountBytes(p.segment);
  }

  // Weights in the tables layout, run-time ones included: read as they
  // are, by the lookup of their order, in their blocks of tiles.
  if (layout.isTables()) {
    if (layout.getTableOrder() != attributeOrder(arithmetic))
      return rewriter.notifyMatchFailure(op, "the weights' table order is "
                                             "not this lookup's");
    p.tileBlock = layout.getTileBlock();
    return p;
  }

  Attribute bytesAttr;
  if (!matchPattern(op.getWeights(), m_Constant(&bytesAttr)))
    return rewriter.notifyMatchFailure(
        op, "weights are neither a constant nor in the tables layout");
  std::optional<std::vector<int8_t>> bytes = getElementsAsInt8(bytesAttr);
  if (!bytes)
    return rewriter.notifyMatchFailure(op, "unreadable weight constant");

  // Constant weights take the tables layout at compile time, through the
  // format library: the codes regrouped, the counts (which follow the
  // scale regions, not the scales' values) and stq1_0's block scales.
  format::PackedWeights packed;
  packed.layout = toFormatLayout(layout);
  packed.rows = p.m;
  packed.cols = p.k;
  packed.data.assign(bytes->begin(), bytes->end());
  packed.scaleSpec = toScaleSpec(layout);
  p.blockScales = layout.getFormat() == PackedFormat::Stq1_0;
  if (!p.blockScales)
    packed.scales.assign(format::numScales(packed.scaleSpec, p.m, p.k), 1.0f);
  p.tileBlock =
      options.tileBlock > 0 ? options.tileBlock : arithmetic.defaultTileBlock();
  format::Result<format::PackedWeights> tables =
      format::toTables(packed, {arithmetic.order(), p.tileBlock});
  if (!tables.ok())
    return rewriter.notifyMatchFailure(op, tables.getStatus().message());
  p.tables = std::move(tables->data);
  if (p.blockScales)
    p.blockScaleValues = std::move(tables->scales);
  return p;
}

/// The constants and operands of a prepared matmul, created at the
/// rewriter's insertion point; tables and activation scales come later.
TableOperands materializeMatmul(const PreparedMatmul &p, RewriterBase &rewriter,
                                const TableArithmetic &arithmetic) {
  Location loc = p.op.getLoc();
  TableOperands ops;
  ops.arith = &arithmetic;
  ops.k = p.k;
  ops.granularity = p.granularity;
  ops.blockScales = p.blockScales;
  ops.wholeTiles = p.m % kRows == 0;
  ops.segment = p.segment;
  ops.countBytes = p.countBytes;
  int64_t n = p.op.getN(), perPass = arithmetic.rowsPerPass();
  ops.rowsPerPass = !ShapedType::isDynamic(n) && n < perPass ? 1 : perPass;
  ops.weights = p.op.getWeights();
  if (!p.tables.empty()) {
    auto weightsType = RankedTensorType::get({int64_t(p.tables.size())},
                                             rewriter.getI8Type());
    ops.weights = constantBytes(
        rewriter, loc, weightsType,
        ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(p.tables.data()),
                         p.tables.size()),
        "sherry_tables");
  }
  ops.scales = p.op.getScales();
  if (p.blockScales) {
    auto scalesType =
        RankedTensorType::get({p.m, p.k / 256}, rewriter.getF32Type());
    ops.scales = arith::ConstantOp::create(
        rewriter, loc,
        cast<TypedAttr>(makeFloatElements(scalesType, p.blockScaleValues,
                                          "sherry_block_scales")));
  }
  ops.bias = p.op.getBias();
  if (ops.countBytes) {
    int64_t countsOffset = p.tiles * (p.k / 16) * kStepBytes;
    int64_t size = p.tiles * (p.k / p.segment) * kRows * ops.countBytes;
    ops.counts = tensor::ExtractSliceOp::create(
        rewriter, loc, ops.weights,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(countsOffset)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(size)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
  }
  return ops;
}

/// The int8 activations of `op` (in group order for the stq1_0 grouping)
/// and their scales.
std::pair<Value, Value> quantizeInput(RewriterBase &rewriter, MatmulOp op,
                                      bool regroup) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto xType = cast<RankedTensorType>(x.getType());
  auto quant = QuantizeActivationsOp::create(
      rewriter, loc,
      RankedTensorType::get(xType.getShape(), rewriter.getI8Type()),
      RankedTensorType::get({xType.getDimSize(0)}, rewriter.getF32Type()), x,
      0);
  Value q = quant.getValues();
  if (regroup)
    q = regroupStq1_0(rewriter, loc, q, /*toGroupMajor=*/true);
  return {q, quant.getScales()};
}

/// Activation rows per table build (0: every row at once), from the bytes
/// options.tableBytes allows.
int64_t rowBlockOf(const TableArithmetic &arithmetic,
                   const TableKernelOptions &options, int64_t k, int64_t n) {
  int64_t rowTableBytes = (k / 16) * arithmetic.tableBytes();
  int64_t rowBlock =
      options.tableBytes > 0
          ? std::max<int64_t>(1, options.tableBytes / rowTableBytes)
          : 0;
  if (!ShapedType::isDynamic(n) && n <= rowBlock)
    rowBlock = 0;
  return rowBlock;
}

} // namespace

LogicalResult
mlir::sherry::lowerMatmulToTableKernel(MatmulOp op, PatternRewriter &rewriter,
                                       const TableArithmetic &arithmetic,
                                       const TableKernelOptions &options) {
  FailureOr<PreparedMatmul> prepared =
      prepareMatmul(op, rewriter, arithmetic, options);
  if (failed(prepared))
    return failure();
  const PreparedMatmul &p = *prepared;
  Location loc = op.getLoc();
  Emitter e{rewriter, loc};
  TableOperands ops = materializeMatmul(p, rewriter, arithmetic);
  auto [q, xScales] = quantizeInput(rewriter, op, p.regroup);
  ops.xScales = xScales;
  int64_t n = op.getN(), m = p.m, k = p.k, tiles = p.tiles;
  int64_t tileBlock = p.tileBlock;
  // Rows whose tables fit options.tableBytes; no blocks where every row
  // fits.
  ops.rowBlock = rowBlockOf(arithmetic, options, k, n);
  Value mValue = e.idx(m);
  int64_t mainTiles = tiles - tiles % tileBlock;
  Value y = op.getInit();
  if (options.parts > 1) {
    // Only parts of at least `partWeights` weights (padded rows included),
    // times the activation rows where N is static.
    int64_t parts = partsFor(options, partWork(arithmetic, tiles, k, n));
    if (parts > 1) {
      PartMember member{ops, tiles, tileBlock, m, y};
      rewriter.replaceOp(op, emitPartLoop(rewriter, loc, member, q, parts,
                                          options.workStealing));
      return success();
    }
    // Too small to share: every block in order, on the calling thread.
    Value zero = e.idx(0);
    rewriter.replaceOp(
        op,
        emitRowBlocks(e, ops, q, y,
                      [&](Emitter &be, const TableOperands &block, Value rows) {
                        return emitTilesInOrder(
                            be, block, zero, be.idx(mainTiles), be.idx(tiles),
                            tiles, tileBlock, zero, mValue, rows);
                      }));
    return success();
  }
  rewriter.replaceOp(
      op, emitRowBlocks(
              e, ops, q, y,
              [&](Emitter &be, const TableOperands &block, Value rows) {
                if (mainTiles > 0)
                  rows =
                      emitTileLoop(be.b, be.loc, block, be.idx(0),
                                   be.idx(mainTiles), tileBlock, mValue, rows);
                if (mainTiles < tiles)
                  rows = emitTileLoop(be.b, be.loc, block, be.idx(mainTiles),
                                      be.idx(tiles), 1, mValue, rows);
                return rows;
              }));
  return success();
}

/// The parts of the sibling loop for `members`, or 0 where they would not
/// take it: the checks of prepareMatmul that need no format work, tables of
/// every activation row at once and more than one part for their weights
/// together.
static int64_t siblingParts(ArrayRef<MatmulOp> members,
                            const TableArithmetic &arithmetic,
                            const TableKernelOptions &options) {
  if (members.size() < 2 || options.parts <= 1)
    return 0;
  MatmulOp front = members.front();
  int64_t n = front.getN(), k = front.getK();
  if (ShapedType::isDynamic(n) || ShapedType::isDynamic(k) ||
      rowBlockOf(arithmetic, options, k, n) != 0)
    return 0;
  int64_t work = 0;
  for (MatmulOp op : members) {
    if (op.getResult().empty() || op.getMode() != ActivationMode::Int8 ||
        ShapedType::isDynamic(op.getM()) ||
        op.getLayout().getScaleRegionLength(k) % arithmetic.stepElements() !=
            0 ||
        (!op.getLayout().isTables() &&
         !matchPattern(op.getWeights(), m_Constant())) ||
        (op.getLayout().isTables() &&
         op.getLayout().getTableOrder() != attributeOrder(arithmetic)))
      return 0;
    work += partWork(arithmetic, (op.getM() + kRows - 1) / kRows, k, n);
  }
  int64_t parts = partsFor(options, work);
  return parts > 1 ? parts : 0;
}

LogicalResult mlir::sherry::lowerSiblingMatmulsToTableKernel(
    ArrayRef<MatmulOp> members, RewriterBase &rewriter,
    const TableArithmetic &arithmetic, const TableKernelOptions &options) {
  int64_t parts = siblingParts(members, arithmetic, options);
  if (parts == 0)
    return failure();
  SmallVector<PreparedMatmul> prepared;
  for (MatmulOp op : members) {
    FailureOr<PreparedMatmul> p =
        prepareMatmul(op, rewriter, arithmetic, options);
    if (failed(p))
      return failure();
    prepared.push_back(std::move(*p));
  }
  MatmulOp last = members.back();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(last);
  SmallVector<PartMember> partMembers;
  for (const PreparedMatmul &p : prepared)
    partMembers.push_back({materializeMatmul(p, rewriter, arithmetic), p.tiles,
                           p.tileBlock, p.m, p.op.getInit()});
  auto [q, xScales] = quantizeInput(rewriter, last, prepared[0].regroup);
  for (PartMember &member : partMembers) {
    member.ops.xScales = xScales;
    member.ops.rowBlock = 0;
  }
  Location loc = FusedLoc::get(
      rewriter.getContext(),
      llvm::map_to_vector(members, [](MatmulOp op) { return op.getLoc(); }));
  SmallVector<size_t> order = partBalancedOrder(partMembers, parts);
  SmallVector<PartMember> ordered =
      llvm::map_to_vector(order, [&](size_t i) { return partMembers[i]; });
  SmallVector<Value> results =
      emitPartLoop(rewriter, loc, ordered, q, parts, options.workStealing);
  for (auto [i, result] : llvm::zip_equal(order, results))
    rewriter.replaceOp(members[i], result);
  return success();
}

TableArithmetic::~TableArithmetic() = default;

MatmulToTableKernel::MatmulToTableKernel(MLIRContext *ctx,
                                         TableArithmetics arithmetics,
                                         const TableKernelOptions &options)
    : OpRewritePattern(ctx, /*benefit=*/2), arithmetics(std::move(arithmetics)),
      options(options) {}

LogicalResult
MatmulToTableKernel::matchAndRewrite(MatmulOp op,
                                     PatternRewriter &rewriter) const {
  int64_t n = op.getN(), k = op.getK();
  if (options.maxBatch > 0 && !ShapedType::isDynamic(n) &&
      n >= options.maxBatch)
    return rewriter.notifyMatchFailure(op, "a batch for the decode kernel");
  if (ShapedType::isDynamic(k))
    return rewriter.notifyMatchFailure(op, "K must be static");
  int64_t segment = op.getLayout().getScaleRegionLength(k);
  for (const std::unique_ptr<TableArithmetic> &arithmetic : arithmetics) {
    int64_t maxRows = arithmetic->maxRows();
    if (maxRows > 0 && (ShapedType::isDynamic(n) || n > maxRows))
      continue;
    if (segment % arithmetic->stepElements() != 0)
      continue;
    // Weights in the tables layout take the lookup of their order.
    if (op.getLayout().isTables() &&
        op.getLayout().getTableOrder() != attributeOrder(*arithmetic))
      continue;
    // Siblings (one N, K and layout, so one arithmetic) go as one loop nest
    // when the last of them is rewritten.
    if (options.groupSiblings &&
        isSiblingCandidate(op, SiblingWeights::ConstantOrTables)) {
      for (SmallVector<MatmulOp> &run : collectSiblingMatmuls(
               *op->getBlock(), SiblingWeights::ConstantOrTables)) {
        if (!llvm::is_contained(run, op) ||
            siblingParts(run, *arithmetic, options) == 0)
          continue;
        if (op != run.back())
          return rewriter.notifyMatchFailure(
              op, "lowered with its siblings, at the last of them");
        if (succeeded(lowerSiblingMatmulsToTableKernel(run, rewriter,
                                                       *arithmetic, options)))
          return success();
      }
    }
    return lowerMatmulToTableKernel(op, rewriter, *arithmetic, options);
  }
  return rewriter.notifyMatchFailure(
      op, "no lookup of the target reads these weights (their scale "
          "segments, or their table order)");
}
