//===- ForallWorkStealing.cpp - Parts that take each other's iterations ---===//
//
// A static split of a parallel loop's iterations waits at the join for its
// slowest thread. On a shared machine the threads of one parallel region
// rarely run at the same speed (another tenant on a core, a longer memory
// path), and a decode step whose weights stream from DRAM lost a tenth of
// its time that way. Here each part keeps its contiguous static share,
// taken in order so that its weights stream as before, and a part that is
// done takes iterations from the end of a slower part's share.
//
//===----------------------------------------------------------------------===//

#include "sherry/Transforms/Passes.h"

#include "sherry/Dialect/Sherry/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_SHERRYFORALLWORKSTEALING
#include "sherry/Transforms/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

/// Each part's range of iterations [front, back) lives in one i64 in a
/// cache line of its own: front in the low 32 bits, back + kBackBias in the
/// high ones. Claims are plain atomic adds, +1 by the owner (which stays in
/// its cache until another part steals), -2^32 by a thief, and take an
/// iteration only where the old front was below the old back. A failed
/// claim still moves its end, so the range only grows emptier: the owner's
/// front passes the back by at most one, and each thief lowers the back
/// once more per range, which the bias keeps from wrapping around.
constexpr int64_t kLineWords = 8;
constexpr int64_t kHalfBits = 32;
constexpr int64_t kBackBias = int64_t(1) << 30;

/// Why `forall` cannot be rewritten, or an empty string.
std::string unsupportedReason(scf::ForallOp forall, int64_t parts) {
  if (parts < 1)
    return "the number of parts must be positive";
  if (!forall.getOutputs().empty())
    return "the loop still has shared outputs (run after bufferization)";
  if (forall.getRank() != 1)
    return "the loop has more than one dimension";
  std::optional<int64_t> lb =
      getConstantIntValue(forall.getMixedLowerBound()[0]);
  std::optional<int64_t> ub =
      getConstantIntValue(forall.getMixedUpperBound()[0]);
  std::optional<int64_t> step = getConstantIntValue(forall.getMixedStep()[0]);
  if (!lb || !ub || !step || *lb != 0 || *step != 1)
    return "the loop is not from 0 in steps of 1 to a static bound";
  if (*ub >= kBackBias || parts >= kBackBias)
    return "the loop has too many iterations or parts";
  return "";
}

/// The buffer `value` is a view of: through view-like ops and the iter_args
/// of scf.for loops, to an allocation or a value from elsewhere.
Value baseBuffer(Value value) {
  while (true) {
    if (auto view = value.getDefiningOp<ViewLikeOpInterface>()) {
      value = view.getViewSource();
      continue;
    }
    auto arg = dyn_cast<BlockArgument>(value);
    auto loop = arg ? dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp())
                    : scf::ForOp();
    if (!loop || arg.getArgNumber() == 0)
      return value;
    value = loop.getInitArgs()[arg.getArgNumber() - 1];
  }
}

/// The buffers `op` and the operations in it read and write, and those it
/// allocates. An operation that does not say what it touches (a call) may
/// read and write every memref it takes.
struct BufferEffects {
  llvm::SmallDenseSet<Value> reads, writes, allocations;
};
BufferEffects bufferEffects(Operation *op) {
  BufferEffects effects;
  op->walk([&](Operation *nested) {
    auto iface = dyn_cast<MemoryEffectOpInterface>(nested);
    if (!iface) {
      if (nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
        return;
      for (Value operand : nested->getOperands())
        if (isa<BaseMemRefType>(operand.getType())) {
          effects.reads.insert(baseBuffer(operand));
          effects.writes.insert(baseBuffer(operand));
        }
      return;
    }
    SmallVector<MemoryEffects::EffectInstance> instances;
    iface.getEffects(instances);
    for (const MemoryEffects::EffectInstance &effect : instances) {
      Value value = effect.getValue();
      if (!value || !isa<BaseMemRefType>(value.getType()))
        continue;
      if (isa<MemoryEffects::Allocate>(effect.getEffect()))
        effects.allocations.insert(value);
      else if (isa<MemoryEffects::Read>(effect.getEffect()))
        effects.reads.insert(baseBuffer(value));
      else if (isa<MemoryEffects::Write>(effect.getEffect()))
        effects.writes.insert(baseBuffer(value));
    }
  });
  return effects;
}

/// The operations of `body` that must move with the per-part operation
/// `root`, in a set closed under what they use: the operations of `body`
/// whose results they use (directly or in their regions) and those that
/// write buffers they allocate. Fails, saying why, where one of them uses
/// `iv`, writes a buffer it does not allocate, or reads one that the rest
/// of the body writes: running once per part would then change the result.
FailureOr<SetVector<Operation *>> perPartSlice(Operation *root, Block *body,
                                               Value iv, std::string &why) {
  SetVector<Operation *> slice;
  llvm::SmallDenseSet<Value> allocated;
  SmallVector<Operation *> worklist{root};
  while (!worklist.empty()) {
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (!slice.insert(op))
        continue;
      WalkResult result = op->walk([&](Operation *nested) {
        for (Value operand : nested->getOperands()) {
          if (operand == iv)
            return WalkResult::interrupt();
          Operation *def = operand.getDefiningOp();
          if (def && def->getBlock() == body)
            worklist.push_back(def);
        }
        return WalkResult::advance();
      });
      if (result.wasInterrupted()) {
        why = "depends on the iteration";
        return failure();
      }
      for (Value buffer : bufferEffects(op).allocations)
        allocated.insert(buffer);
    }
    // What else fills the buffers the slice allocates moves with it.
    for (Operation &op : body->without_terminator())
      if (!slice.contains(&op) &&
          llvm::any_of(bufferEffects(&op).writes, [&](Value buffer) {
            return allocated.contains(buffer);
          }))
        worklist.push_back(&op);
  }
  llvm::SmallDenseSet<Value> readOutside;
  for (Operation *op : slice) {
    BufferEffects effects = bufferEffects(op);
    if (llvm::any_of(effects.writes, [&](Value buffer) {
          return !allocated.contains(buffer);
        })) {
      why = "writes a buffer it does not allocate";
      return failure();
    }
    for (Value buffer : effects.reads)
      if (!allocated.contains(buffer))
        readOutside.insert(buffer);
  }
  for (Operation &op : body->without_terminator())
    if (!slice.contains(&op) &&
        llvm::any_of(bufferEffects(&op).writes, [&](Value buffer) {
          return readOutside.contains(buffer);
        })) {
      why = "reads a buffer that each iteration writes";
      return failure();
    }
  return slice;
}

/// The word of the range [front, back).
int64_t packRange(int64_t front, int64_t back) {
  return front | ((back + kBackBias) << kHalfBits);
}

/// A range's word `value` (i64) as its (front, back), as i64.
std::pair<Value, Value> unpackRange(OpBuilder &b, Location loc, Value value) {
  Type i64 = b.getI64Type();
  Value mask =
      arith::ConstantIntOp::create(b, loc, i64, (int64_t(1) << kHalfBits) - 1);
  Value shift = arith::ConstantIntOp::create(b, loc, i64, kHalfBits);
  Value bias = arith::ConstantIntOp::create(b, loc, i64, kBackBias);
  return {arith::AndIOp::create(b, loc, value, mask),
          arith::SubIOp::create(
              b, loc, arith::ShRUIOp::create(b, loc, value, shift), bias)};
}

void rewrite(scf::ForallOp forall, int64_t parts) {
  Location loc = forall.getLoc();
  MLIRContext *ctx = forall.getContext();
  int64_t iterations = *getConstantIntValue(forall.getMixedUpperBound()[0]);
  Block *oldBody = forall.getBody();
  Value oldIv = forall.getInductionVar(0);
  Type i64 = IntegerType::get(ctx, 64);
  Type indexType = IndexType::get(ctx);

  // Operations marked to run once per part, with what they use of the body.
  SetVector<Operation *> perPart;
  for (Operation &op : oldBody->without_terminator()) {
    if (!op.hasAttr(kPerPartAttrName))
      continue;
    std::string why;
    FailureOr<SetVector<Operation *>> slice =
        perPartSlice(&op, oldBody, oldIv, why);
    if (failed(slice)) {
      op.emitWarning() << "sherry-forall-work-stealing: an operation marked '"
                       << kPerPartAttrName << "' " << why
                       << "; it runs per iteration";
      op.removeAttr(kPerPartAttrName);
      continue;
    }
    perPart.insert(slice->begin(), slice->end());
  }

  // The ranges, on the stack of the enclosing allocation scope (reused by
  // every execution of the loop there), set right before the loop.
  Operation *scope =
      forall->getParentWithTrait<OpTrait::AutomaticAllocationScope>();
  OpBuilder b(ctx);
  auto rangesType = MemRefType::get({parts, kLineWords}, i64);
  if (scope)
    b.setInsertionPointToStart(&scope->getRegion(0).front());
  else
    b.setInsertionPoint(forall);
  Value ranges = memref::AllocaOp::create(
      b, loc, rangesType, ValueRange{}, ValueRange{}, b.getI64IntegerAttr(64));
  b.setInsertionPoint(forall);
  Value zeroIndex = arith::ConstantIndexOp::create(b, loc, 0);
  for (int64_t p = 0; p < parts; ++p) {
    int64_t front = p * iterations / parts;
    int64_t back = (p + 1) * iterations / parts;
    memref::StoreOp::create(
        b, loc,
        arith::ConstantIntOp::create(b, loc, i64, packRange(front, back)),
        ranges,
        ValueRange{arith::ConstantIndexOp::create(b, loc, p), zeroIndex});
  }

  auto newForall =
      scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
                            ArrayRef<OpFoldResult>{b.getIndexAttr(parts)},
                            ArrayRef<OpFoldResult>{b.getIndexAttr(1)},
                            ValueRange{}, forall.getMapping());
  Block *body = newForall.getBody();
  Value part = newForall.getInductionVar(0);
  b.setInsertionPoint(body->getTerminator());

  // Per-part operations first, in their order.
  for (Operation &op : llvm::make_early_inc_range(*oldBody))
    if (perPart.contains(&op)) {
      op.moveBefore(body->getTerminator());
      op.removeAttr(kPerPartAttrName);
    }

  // Take from the part's own front, then from the back of each other part
  // in turn until every range is empty: a range only shrinks.
  Value one = arith::ConstantIntOp::create(b, loc, i64, 1);
  Value oneIndex = arith::ConstantIndexOp::create(b, loc, 1);
  Value partsIndex = arith::ConstantIndexOp::create(b, loc, parts);
  Value minusBack =
      arith::ConstantIntOp::create(b, loc, i64, -(int64_t(1) << kHalfBits));
  scf::WhileOp::create(
      b, loc, TypeRange{indexType, i64, b.getI1Type()}, ValueRange{part},
      [&](OpBuilder &wb, Location wl, ValueRange args) {
        Value victim = args[0];
        Value own = arith::CmpIOp::create(wb, wl, arith::CmpIPredicate::eq,
                                          victim, part);
        // The owner moves the front up, a thief the back down; both only
        // claim what lay between them before.
        Value delta = arith::SelectOp::create(wb, wl, own, one, minusBack);
        Value old = memref::AtomicRMWOp::create(
            wb, wl, arith::AtomicRMWKind::addi, delta, ranges,
            ValueRange{victim, zeroIndex});
        auto [front, back] = unpackRange(wb, wl, old);
        Value ok = arith::CmpIOp::create(wb, wl, arith::CmpIPredicate::slt,
                                         front, back);
        Value iteration = arith::SelectOp::create(
            wb, wl, own, front, arith::SubIOp::create(wb, wl, back, one));
        // An empty victim passes to the next; back at our own: done.
        Value following = arith::RemUIOp::create(
            wb, wl, arith::AddIOp::create(wb, wl, victim, oneIndex),
            partsIndex);
        Value next = arith::SelectOp::create(wb, wl, ok, victim, following);
        Value more = arith::OrIOp::create(
            wb, wl, ok,
            arith::CmpIOp::create(wb, wl, arith::CmpIPredicate::ne, next,
                                  part));
        scf::ConditionOp::create(wb, wl, more, ValueRange{next, iteration, ok});
      },
      [&](OpBuilder &ab, Location al, ValueRange args) {
        auto run = scf::IfOp::create(ab, al, args[2], /*withElse=*/false);
        {
          OpBuilder::InsertionGuard guard(ab);
          ab.setInsertionPoint(run.thenBlock()->getTerminator());
          IRMapping mapping;
          mapping.map(oldIv,
                      arith::IndexCastOp::create(ab, al, indexType, args[1]));
          for (Operation &op : oldBody->without_terminator())
            ab.clone(op, mapping);
        }
        scf::YieldOp::create(ab, al, ValueRange{args[0]});
      });
  forall.erase();
}

struct SherryForallWorkStealingPass
    : public mlir::sherry::impl::SherryForallWorkStealingBase<
          SherryForallWorkStealingPass> {
  void runOnOperation() override {
    SmallVector<scf::ForallOp> marked;
    getOperation()->walk([&](scf::ForallOp forall) {
      if (forall->hasAttr(kWorkStealingAttrName))
        marked.push_back(forall);
    });
    for (scf::ForallOp forall : marked) {
      auto partsAttr =
          dyn_cast<IntegerAttr>(forall->getAttr(kWorkStealingAttrName));
      forall->removeAttr(kWorkStealingAttrName);
      if (!partsAttr) {
        forall.emitError() << "sherry-forall-work-stealing: '"
                           << kWorkStealingAttrName
                           << "' must be an integer (the number of parts)";
        return signalPassFailure();
      }
      int64_t parts = partsAttr.getInt();
      std::string reason = unsupportedReason(forall, parts);
      if (!reason.empty()) {
        forall.emitError() << "sherry-forall-work-stealing: cannot split "
                              "this loop into parts: "
                           << reason;
        return signalPassFailure();
      }
      rewrite(forall, parts);
    }
  }
};

} // namespace
