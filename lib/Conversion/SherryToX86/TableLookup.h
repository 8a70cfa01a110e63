//===- TableLookup.h - x86 lookups of the activation-table kernel -*- C++
//-*-===//

#ifndef SHERRY_LIB_CONVERSION_SHERRYTOX86_TABLELOOKUP_H
#define SHERRY_LIB_CONVERSION_SHERRYTOX86_TABLELOOKUP_H

#include "sherry/Conversion/SherryToVector/TableKernel.h"

#include <memory>

namespace mlir::sherry {

/// The table arithmetic of an x86 isa: vpermb on 64-entry tables for
/// "avx512-vnni" (which implies VBMI here), vpshufb on 16-entry tables per
/// 128-bit lane for "avx512-bw" and "avx2".
std::unique_ptr<TableArithmetic> createX86TableArithmetic(StringRef isa);

} // namespace mlir::sherry

#endif // SHERRY_LIB_CONVERSION_SHERRYTOX86_TABLELOOKUP_H
