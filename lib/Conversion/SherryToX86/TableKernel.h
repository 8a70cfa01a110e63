//===- TableKernel.h - The activation-table kernel on AVX-512 ---*- C++ -*-===//

#ifndef SHERRY_LIB_CONVERSION_SHERRYTOX86_TABLEKERNEL_H
#define SHERRY_LIB_CONVERSION_SHERRYTOX86_TABLEKERNEL_H

#include "sherry/Dialect/Sherry/IR/SherryOps.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::sherry {

/// Replaces an int8 sherry.matmul on tensors whose weights are a constant by
/// the activation-table kernel (AVX-512 BW + VBMI): tables of activation
/// sums built once per call, weights regrouped at compile time, an
/// scf.forall over blocks of `tileBlock` tiles of 32 rows. With `parts` > 1
/// the forall has `parts` iterations instead, each building its own tables
/// and computing a contiguous share of the blocks in order (one per thread).
LogicalResult lowerMatmulToTableKernel(MatmulOp op, PatternRewriter &rewriter,
                                       int64_t tileBlock, int64_t parts);

} // namespace mlir::sherry

#endif // SHERRY_LIB_CONVERSION_SHERRYTOX86_TABLEKERNEL_H
