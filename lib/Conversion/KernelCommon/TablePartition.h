//===- TablePartition.h - The table kernel's parallel parts -----*- C++ -*-===//
//
// Private to KernelCommon: what the table kernel's driver asks of the
// partition policy (TablePartition.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LIB_CONVERSION_KERNELCOMMON_TABLEPARTITION_H
#define LIB_CONVERSION_KERNELCOMMON_TABLEPARTITION_H

#include "TableKernelLoops.h"

namespace mlir::sherry::table_kernel {

/// The work partsFor weighs: the weights of `tiles` tiles of K elements
/// (padded rows included), times N where it is static, times what a weight
/// costs `arith` against the AVX-512 kernels.
int64_t partWork(const TableArithmetic &arith, int64_t tiles, int64_t k,
                 int64_t n);

/// Parts for `work` weights (times the static N) as the options allow.
int64_t partsFor(const TableKernelOptions &options, int64_t work);

/// One matmul of a part loop: its operands (without tables), its tiles in
/// blocks of `count`, its M and its accumulator.
struct PartMember {
  TableOperands ops;
  int64_t tiles, count, m;
  Value init;
};

/// An scf.forall over `parts` contiguous parts of the `members`' blocks of
/// tiles, in member order, which share the int8 activations `q`: a member
/// short of a block counts as one block, and the tiles past a member's last
/// block go with the part that has it. Each part builds its own tables from
/// `q` (once for all members where every member takes all activation rows
/// at once, else per block of rows) and writes its rows of each member's
/// own accumulator: with one part per thread the tables are written and
/// read by the same core, instead of crossing to the other cores' caches on
/// every call (the forall over blocks of emitTileLoop). Returns the
/// members' results.
///
/// With `workStealing` and tables built for every activation row at once,
/// the forall has one iteration per block (unit) instead, marked
/// kWorkStealingAttrName = `parts`, and its table build kPerPartAttrName:
/// sherry-forall-work-stealing makes it `parts` parts again, each building
/// its tables once and taking its share of the blocks in order, then
/// blocks from the end of the other parts' shares. A thread slowed down (by
/// another tenant of its core, by its memory path) no longer holds up the
/// join with the whole of its static share; without that pass the loop is
/// still right, with tables per block.
SmallVector<Value> emitPartLoop(OpBuilder &b, Location loc,
                                ArrayRef<PartMember> members, Value q,
                                int64_t parts, bool workStealing);

/// The order in which emitPartLoop should lay out the blocks of `members`
/// (indices into it) so that the costliest of `parts` parts is cheapest: a
/// part costs its weights plus kMemberStartWeights per member it has blocks
/// of. Every order is tried for up to 6 members; the given order stays
/// unless another is strictly cheaper.
SmallVector<size_t> partBalancedOrder(ArrayRef<PartMember> members,
                                      int64_t parts);

} // namespace mlir::sherry::table_kernel

#endif // LIB_CONVERSION_KERNELCOMMON_TABLEPARTITION_H
