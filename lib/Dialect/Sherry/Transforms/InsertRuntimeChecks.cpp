//===- InsertRuntimeChecks.cpp - Check dynamic matmul sizes at run time ---===//
//
// Where the sizes of a sherry.matmul are dynamic, nothing before the
// kernels knows that x and the accumulator have as many rows, or the
// weights as many bytes per row as x's K needs: a call with disagreeing
// operands would read and write past their buffers. Each pair of sizes
// that must agree and that value-bounds analysis cannot prove equal gets a
// comparison; a pair that differs calls sherry_runtime_error and empties
// the matmul (no rows, or no output columns), so that nothing is touched
// out of bounds whatever the handler does. The lowering of sherry.pack on
// run-time values reports values it cannot encode the same way.
//
//===----------------------------------------------------------------------===//

#include "sherry/Dialect/Sherry/IR/SherryOps.h"
#include "sherry/Dialect/Sherry/Transforms/Passes.h"
#include "sherry/Dialect/Sherry/Utils/RuntimeErrors.h"
#include "sherry/Format/Format.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_SHERRYINSERTRUNTIMECHECKS
#include "sherry/Dialect/Sherry/Transforms/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

/// One comparison of two sizes of a matmul.
struct SizeCheck {
  OpFoldResult got, expected;
  /// Fails where `expected` does not divide `got` (else where they differ).
  bool divides;
  /// The printf format's words for the two sizes, each with a %lld.
  std::string what;
  /// Which sizes of the matmul a failure empties: its rows (x and the
  /// accumulator), its output columns (weights, scales, bias and the
  /// accumulator), or both (K, on which every operand depends).
  bool emptiesRows, emptiesColumns;
};

/// Sizes of the shaped operands of one matmul, as index values or constants.
class MatmulSizes {
public:
  MatmulSizes(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  OpFoldResult dim(Value shaped, int64_t d) {
    auto type = cast<ShapedType>(shaped.getType());
    if (!type.isDynamicDim(d))
      return b.getIndexAttr(type.getDimSize(d));
    if (isa<TensorType>(type))
      return tensor::DimOp::create(b, loc, shaped, d).getResult();
    return memref::DimOp::create(b, loc, shaped, d).getResult();
  }

  Value value(OpFoldResult size) {
    if (auto v = dyn_cast<Value>(size))
      return v;
    return arith::ConstantIndexOp::create(
        b, loc, cast<IntegerAttr>(cast<Attribute>(size)).getInt());
  }

  /// ceil(`size` / den).
  OpFoldResult ceilDiv(OpFoldResult size, int64_t den) {
    if (std::optional<int64_t> c = getConstantIntValue(size))
      return b.getIndexAttr((*c + den - 1) / den);
    return arith::CeilDivUIOp::create(
               b, loc, value(size), arith::ConstantIndexOp::create(b, loc, den))
        .getResult();
  }

  /// `size` * num / den (exact where the layout's K multiple holds).
  OpFoldResult scaled(OpFoldResult size, int64_t num, int64_t den) {
    if (std::optional<int64_t> c = getConstantIntValue(size))
      return b.getIndexAttr(*c * num / den);
    Value v = arith::MulIOp::create(
        b, loc, value(size), arith::ConstantIndexOp::create(b, loc, num));
    return arith::DivUIOp::create(b, loc, v,
                                  arith::ConstantIndexOp::create(b, loc, den))
        .getResult();
  }

private:
  OpBuilder &b;
  Location loc;
};

/// Whether two sizes are the same, as far as the IR proves.
bool provablyEqual(OpFoldResult a, OpFoldResult b) {
  std::optional<int64_t> ca = getConstantIntValue(a),
                         cb = getConstantIntValue(b);
  if (ca && cb)
    return *ca == *cb;
  FailureOr<bool> equal = ValueBoundsConstraintSet::areEqual(
      ValueBoundsConstraintSet::Variable(a),
      ValueBoundsConstraintSet::Variable(b));
  return succeeded(equal) && *equal;
}

/// How the message names an operand: "x (argument 0)" where it is an
/// argument of the function.
std::string operandName(Value value, StringRef name) {
  if (auto arg = dyn_cast<BlockArgument>(value))
    if (isa<FunctionOpInterface>(arg.getOwner()->getParentOp()))
      return (name + " (argument " + Twine(arg.getArgNumber()) + ")").str();
  return name.str();
}

/// Remembers the operations a builder creates.
struct CreatedOps : public OpBuilder::Listener {
  void notifyOperationInserted(Operation *op,
                               OpBuilder::InsertPoint) override {
    ops.push_back(op);
  }
  SmallVector<Operation *> ops;
};

struct SherryInsertRuntimeChecksPass
    : public mlir::sherry::impl::SherryInsertRuntimeChecksBase<
          SherryInsertRuntimeChecksPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<MatmulOp> matmuls;
    // The lowering of sherry.pack on run-time values checks them and
    // reports through the same function.
    bool packsAtRunTime = false;
    module.walk([&](Operation *op) {
      if (auto matmul = dyn_cast<MatmulOp>(op))
        matmuls.push_back(matmul);
      else if (auto pack = dyn_cast<PackOp>(op))
        packsAtRunTime |= !matchPattern(pack.getValues(), m_Constant());
    });
    func::FuncOp reporter;
    auto getReporter = [&]() -> LogicalResult {
      if (reporter)
        return success();
      FailureOr<func::FuncOp> found = getOrDeclareRuntimeErrorFunction(module);
      if (failed(found))
        return failure();
      reporter = *found;
      if (handler == RuntimeErrorHandler::WeakDefault)
        defineWeakRuntimeErrorFunction(reporter);
      return success();
    };
    if (packsAtRunTime && failed(getReporter()))
      return signalPassFailure();
    for (MatmulOp op : matmuls) {
      // The size operations the checks needed; those the checks do not use
      // in the end (sizes proved equal) go again.
      CreatedOps created;
      SmallVector<SizeCheck> checks = collectChecks(op, created);
      llvm::scope_exit eraseUnused([&] {
        for (Operation *createdOp : llvm::reverse(created.ops))
          if (createdOp->use_empty())
            createdOp->erase();
      });
      if (checks.empty())
        continue;
      if (failed(getReporter()))
        return signalPassFailure();
      insertChecks(op, checks, reporter);
    }
  }

private:
  /// The checks of `op` that the IR does not already prove; the size
  /// operations they need are created before `op`.
  SmallVector<SizeCheck> collectChecks(MatmulOp op,
                                       OpBuilder::Listener &listener) {
    OpBuilder b(op, &listener);
    Location loc = op.getLoc();
    MatmulSizes sizes(b, loc);
    LayoutAttr layout = op.getLayout();
    Value x = op.getInput(), w = op.getWeights(), init = op.getInit();
    std::string xName = operandName(x, "x");
    std::string wName = operandName(w, "the weights");
    std::string initName = operandName(init, "the accumulator");
    SmallVector<SizeCheck> checks;
    auto check = [&](OpFoldResult got, OpFoldResult expected,
                     std::string what, bool rows, bool columns) {
      if (!provablyEqual(got, expected))
        checks.push_back(
            {got, expected, /*divides=*/false, std::move(what), rows, columns});
    };

    // N.
    check(sizes.dim(x, 0), sizes.dim(init, 0),
          xName + " has %lld rows but " + initName + " has %lld", true, false);
    // M.
    // The tables layout's bytes are one run: M is the accumulator's, and
    // the weights' byte count must be what M and K give.
    bool tables = layout.isTables();
    OpFoldResult m = tables ? sizes.dim(init, 1) : sizes.dim(w, 0);
    std::string mName =
        tables ? initName + " has %lld columns" : wName + " have %lld rows";
    if (!tables)
      check(m, sizes.dim(init, 1),
            wName + " have %lld rows but " + initName + " has %lld columns",
            false, true);
    Value scales = op.getScales();
    std::string scalesName = scales ? operandName(scales, "the scales") : "";
    if (scales && layout.getGranularity() != ScaleGranularity::Tensor)
      check(m, sizes.dim(scales, 0),
            mName + " but " + scalesName + " have %lld rows", false, true);
    if (Value bias = op.getBias())
      check(m, sizes.dim(bias, 0),
            mName + " but " + operandName(bias, "the bias") + " has %lld",
            false, true);
    // K, where x does not say it.
    OpFoldResult k = sizes.dim(x, 1);
    std::optional<int64_t> staticK = getConstantIntValue(k);
    int64_t multiple = layout.getRequiredKMultiple();
    if (!staticK)
      checks.push_back({k, b.getIndexAttr(multiple), /*divides=*/true,
                        xName +
                            " has %lld columns (K), not a multiple of %lld "
                            "as the layout needs",
                        true, true});
    if (!tables) {
      check(sizes.dim(w, 1),
            sizes.scaled(k, layout.getRowBytes(multiple), multiple),
            wName + " have %lld bytes per row but K of " + xName +
                " needs %lld",
            true, true);
    } else if (staticK) {
      // Whole tiles of 32 rows, each the same number of bytes for K.
      int64_t tileBytes = layout.getWeightBytes(1, *staticK);
      OpFoldResult tiles =
          sizes.ceilDiv(m, ::sherry::format::kTableTileRows);
      check(sizes.dim(w, 0), sizes.scaled(tiles, tileBytes, 1),
            wName + " have %lld bytes but M and K (" + initName + ", " +
                xName + ") need %lld",
            true, true);
    }
    if (scales && layout.getGranularity() == ScaleGranularity::Group)
      check(sizes.dim(scales, 1), sizes.scaled(k, 1, layout.getGroupSize()),
            scalesName + " have %lld columns but K of " + xName +
                " needs %lld",
            true, true);
    return checks;
  }

  /// Emits `checks` before `op` and rebuilds it on operands emptied where a
  /// check fails.
  void insertChecks(MatmulOp op, ArrayRef<SizeCheck> checks,
                    func::FuncOp reporter) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    MatmulSizes sizes(b, loc);
    std::string where = describeForRuntimeError(op);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value rowsBad, columnsBad;
    auto orInto = [&](Value &into, Value bad) {
      into = into ? arith::OrIOp::create(b, loc, into, bad).getResult() : bad;
    };
    for (const SizeCheck &check : checks) {
      Value got = sizes.value(check.got),
            expected = sizes.value(check.expected);
      Value bad =
          check.divides
              ? arith::CmpIOp::create(
                    b, loc, arith::CmpIPredicate::ne,
                    arith::RemUIOp::create(b, loc, got, expected), zero)
              : arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, got,
                                      expected);
      emitRuntimeErrorIf(b, loc, reporter, bad,
                         where + check.what + "; the matmul computed nothing",
                         got, expected);
      if (check.emptiesRows)
        orInto(rowsBad, bad);
      if (check.emptiesColumns)
        orInto(columnsBad, bad);
    }

    // The sizes the matmul computes: none where a check failed.
    auto sizeOr0 = [&](Value bad, OpFoldResult size) -> OpFoldResult {
      if (!bad)
        return size;
      return arith::SelectOp::create(b, loc, bad, zero, sizes.value(size))
          .getResult();
    };
    bool tables = op.getLayout().isTables();
    OpFoldResult n = sizeOr0(rowsBad, sizes.dim(op.getInit(), 0));
    OpFoldResult m = sizeOr0(columnsBad, tables ? sizes.dim(op.getInit(), 1)
                                                : sizes.dim(op.getWeights(), 0));
    bool isTensor = !op.getResult().empty();
    // The leading `count` rows of `v` (all its columns), or `v` where no
    // check can empty them.
    auto leading = [&](Value v, Value bad, OpFoldResult count) -> Value {
      if (!v || !bad)
        return v;
      auto type = cast<ShapedType>(v.getType());
      SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
      SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
      SmallVector<OpFoldResult> shape{count};
      for (int64_t d = 1; d < type.getRank(); ++d)
        shape.push_back(sizes.dim(v, d));
      if (isTensor)
        return tensor::ExtractSliceOp::create(b, loc, v, offsets, shape,
                                              strides);
      return memref::SubViewOp::create(b, loc, v, offsets, shape, strides);
    };
    Value x = leading(op.getInput(), rowsBad, n);
    // The tables layout's bytes are no rows: with no output columns left,
    // the kernel reads none of them.
    Value w = tables ? op.getWeights() : leading(op.getWeights(), columnsBad, m);
    Value scales = op.getScales();
    if (op.getLayout().getGranularity() != ScaleGranularity::Tensor)
      scales = leading(scales, columnsBad, m);
    Value bias = leading(op.getBias(), columnsBad, m);
    Value init = op.getInit();
    SmallVector<OpFoldResult> offsets(2, b.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    SmallVector<OpFoldResult> initSizes{rowsBad ? n : sizes.dim(init, 0),
                                        columnsBad ? m
                                                   : sizes.dim(init, 1)};
    Value part;
    if (isTensor)
      part = tensor::ExtractSliceOp::create(b, loc, init, offsets, initSizes,
                                            strides);
    else
      part = memref::SubViewOp::create(b, loc, init, offsets, initSizes,
                                       strides);
    auto rebuilt = MatmulOp::create(
        b, loc, isTensor ? TypeRange{part.getType()} : TypeRange{}, x, w,
        scales, bias, part, op.getLayoutAttr(), op.getModeAttr());
    rebuilt->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    if (isTensor) {
      Value result = tensor::InsertSliceOp::create(
          b, loc, rebuilt.getResult()[0], init, offsets, initSizes, strides);
      op.getResult()[0].replaceAllUsesWith(result);
    }
    op.erase();
  }

};

} // namespace
