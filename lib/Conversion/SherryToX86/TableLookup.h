//===- TableLookup.h - x86 lookups of the activation-table kernel -*- C++
//-*-===//

#ifndef SHERRY_LIB_CONVERSION_SHERRYTOX86_TABLELOOKUP_H
#define SHERRY_LIB_CONVERSION_SHERRYTOX86_TABLELOOKUP_H

#include "sherry/Conversion/KernelOptions.h"
#include "sherry/Conversion/KernelCommon/TableKernel.h"

#include <memory>

namespace mlir::sherry {

/// The table arithmetics of an x86 isa, in order of preference: on
/// AVX-512 (avx512-vnni, avx512-bw), vpermw on 32-entry tables of 16-bit
/// sums where scale segments are multiples of 64 elements; then vpermb on
/// 64-entry byte tables for avx512-vnni (which implies VBMI here), or
/// vpshufb on 16-entry tables per 128-bit lane (avx512-bw, avx2). `lookup`
/// Words or Bytes keeps only the one (table-lookup). Word tables come from
/// `build` (table-build): Call, built once per call into memory; Step,
/// built per step in registers from the activations; Auto, per step at a
/// static N of 1 and per call otherwise.
TableArithmetics createX86TableArithmetics(X86Isa isa, TableLookup lookup,
                                           TableBuild build);

} // namespace mlir::sherry

#endif // SHERRY_LIB_CONVERSION_SHERRYTOX86_TABLELOOKUP_H
