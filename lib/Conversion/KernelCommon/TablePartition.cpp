//===- TablePartition.cpp - The table kernel's parallel parts -------------===//
//
// How the table kernel shares a matmul (or sibling matmuls) between
// threads: how many parts its weights are worth, the scf.forall over parts
// that each build their own tables, and the order of sibling members that
// balances the parts.
//
//===----------------------------------------------------------------------===//

#include "TableKernelLoops.h"
#include "TablePartition.h"

#include "sherry/Dialect/Sherry/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::sherry;
using namespace mlir::sherry::table_kernel;

int64_t table_kernel::partWork(const TableArithmetic &arith, int64_t tiles, int64_t k,
                 int64_t n) {
  return tiles * kRows * k * (ShapedType::isDynamic(n) ? 1 : n) *
         arith.relativeWeightCost();
}

int64_t table_kernel::partsFor(const TableKernelOptions &options, int64_t work) {
  int64_t parts = options.parts;
  if (parts > 1 && options.partWeights > 0)
    parts = std::min(parts, work / options.partWeights);
  return parts;
}


SmallVector<Value> table_kernel::emitPartLoop(OpBuilder &b, Location loc,
                                ArrayRef<PartMember> members, Value q,
                                int64_t parts, bool workStealing) {
  SmallVector<int64_t> unitOffsets;
  int64_t units = 0;
  for (const PartMember &member : members) {
    unitOffsets.push_back(units);
    units += std::max<int64_t>(1, member.tiles / member.count);
  }
  SmallVector<Value> inits = llvm::map_to_vector(
      members, [](const PartMember &member) { return member.init; });
  bool sharedTables = llvm::all_of(members, [](const PartMember &member) {
    return member.ops.rowBlock == 0;
  });
  // One iteration per unit, or per part.
  bool perUnit = workStealing && sharedTables && units > parts;
  int64_t iterations = perUnit ? units : parts;
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(iterations)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)}, inits,
      /*mapping=*/std::nullopt,
      [&](OpBuilder &fb, Location fl, ValueRange args) {
        Emitter fe{fb, fl};
        Value part = args[0];
        // Units [part * units / parts, (part + 1) * units / parts), or unit
        // `part` alone.
        auto unitOf = [&](Value p) -> Value {
          if (perUnit)
            return p;
          return arith::DivUIOp::create(fb, fl, fe.mul(p, units),
                                        fe.idx(parts))
              .getResult();
        };
        Value lo = unitOf(part), hi = unitOf(fe.add(part, fe.idx(1)));
        Value tables;
        if (sharedTables) {
          tables = buildTables(fe, *members[0].ops.arith, q, members[0].ops.k);
          if (perUnit)
            tables.getDefiningOp()->setAttr(kPerPartAttrName, fb.getUnitAttr());
        }
        Value n = tensor::DimOp::create(fb, fl, q, 0);
        struct Insert {
          Value rows, shared;
          SmallVector<OpFoldResult> offsets, sizes, strides;
        };
        SmallVector<Insert> inserts;
        for (size_t i = 0; i < members.size(); ++i) {
          const PartMember &member = members[i];
          int64_t count = member.count, blocks = member.tiles / count;
          int64_t memberUnits = std::max<int64_t>(1, blocks);
          // This member's units in the part, clamped to [0, memberUnits].
          auto clamp = [&](Value u) {
            Value shifted = arith::SubIOp::create(
                fb, fl,
                arith::MaxSIOp::create(fb, fl, u, fe.idx(unitOffsets[i])),
                fe.idx(unitOffsets[i]));
            return arith::MinSIOp::create(fb, fl, shifted, fe.idx(memberUnits))
                .getResult();
          };
          Value from = clamp(lo), to = clamp(hi);
          Value first = fe.mul(from, count);
          Value blocksEnd = fe.mul(to, count);
          if (blocks == 0)
            first = blocksEnd = fe.idx(0);
          // The tiles past the last block go with the part that has it.
          Value hasLast = arith::AndIOp::create(
              fb, fl,
              arith::CmpIOp::create(fb, fl, arith::CmpIPredicate::eq, to,
                                    fe.idx(memberUnits)),
              arith::CmpIOp::create(fb, fl, arith::CmpIPredicate::ult, from,
                                    to));
          Value last = arith::SelectOp::create(fb, fl, hasLast,
                                               fe.idx(member.tiles), blocksEnd);
          Value mValue = fe.idx(member.m);
          Value col0 =
              arith::MinUIOp::create(fb, fl, fe.mul(first, kRows), mValue);
          Value end =
              arith::MinUIOp::create(fb, fl, fe.mul(last, kRows), mValue);
          Insert ins;
          ins.shared = args[1 + i];
          ins.offsets = {fb.getIndexAttr(0), col0};
          ins.sizes = {n, arith::SubIOp::create(fb, fl, end, col0).getResult()};
          ins.strides = {fb.getIndexAttr(1), fb.getIndexAttr(1)};
          Value slice = tensor::ExtractSliceOp::create(
              fb, fl, ins.shared, ins.offsets, ins.sizes, ins.strides);
          TableOperands ops = member.ops;
          ops.tables = tables;
          ins.rows = emitRowBlocks(
              fe, ops, q, slice,
              [&](Emitter &be, const TableOperands &block, Value rows) {
                return emitTilesInOrder(be, block, first, blocksEnd, last,
                                        member.tiles, count, first, mValue,
                                        rows);
              });
          inserts.push_back(std::move(ins));
        }
        auto terminator = scf::InParallelOp::create(fb, fl);
        OpBuilder::InsertionGuard guard(fb);
        fb.setInsertionPointToStart(terminator.getBody());
        for (Insert &ins : inserts)
          tensor::ParallelInsertSliceOp::create(fb, fl, ins.rows, ins.shared,
                                                ins.offsets, ins.sizes,
                                                ins.strides);
      });
  if (perUnit)
    forall->setAttr(kWorkStealingAttrName, b.getI64IntegerAttr(parts));
  return SmallVector<Value>(forall.getResults());
}

namespace {

/// What a part pays, in weights, for each member it has blocks of, beyond
/// their weights: the member's own weight stream and, where kernel loops
/// are not outlined (sherry-outline-kernel-loops), its own loop nest (about
/// 12 KB of code, cold in every call since the weights stream through the
/// caches). Measured on the decode step before outlining (docs/design/2026-11-25-x86-table-kernel.md):
/// the part of q's last block, k and v took as long as 3.6 blocks of q, at
/// K = 2048 about half a block of 16 tiles.
constexpr int64_t kMemberStartWeights = int64_t(1) << 19;

} // namespace

SmallVector<size_t> table_kernel::partBalancedOrder(ArrayRef<PartMember> members,
                                      int64_t parts) {
  SmallVector<size_t> order =
      llvm::to_vector(llvm::seq<size_t>(0, members.size()));
  if (members.size() > 6)
    return order;
  // Each member's units (as emitPartLoop counts them) and their weights.
  SmallVector<SmallVector<int64_t>> unitWeights;
  int64_t units = 0;
  for (const PartMember &member : members) {
    int64_t blocks = member.tiles / member.count;
    int64_t rowWeights = kRows * member.ops.k;
    SmallVector<int64_t> weights;
    if (blocks == 0) {
      weights.push_back(member.tiles * rowWeights);
    } else {
      weights.assign(blocks, member.count * rowWeights);
      weights.back() += (member.tiles % member.count) * rowWeights;
    }
    units += weights.size();
    unitWeights.push_back(std::move(weights));
  }
  auto cost = [&](ArrayRef<size_t> candidate) {
    int64_t worst = 0, unit = 0;
    SmallVector<int64_t> partCost(parts, 0);
    SmallVector<int64_t> lastMember(parts, -1);
    for (size_t i : candidate) {
      for (int64_t weights : unitWeights[i]) {
        int64_t part = 0;
        // The part whose [p * units / parts, (p + 1) * units / parts) holds
        // `unit`.
        while ((part + 1) * units / parts <= unit)
          ++part;
        partCost[part] += weights;
        if (lastMember[part] != int64_t(i)) {
          partCost[part] += kMemberStartWeights;
          lastMember[part] = i;
        }
        ++unit;
      }
    }
    for (int64_t c : partCost)
      worst = std::max(worst, c);
    return worst;
  };
  SmallVector<size_t> candidate = order;
  int64_t best = cost(order);
  while (std::next_permutation(candidate.begin(), candidate.end())) {
    int64_t c = cost(candidate);
    if (c < best) {
      best = c;
      order = candidate;
    }
  }
  return order;
}
