//===- TableLookup.h - NEON lookups of the activation-table kernel -*- C++
//-*-===//

#ifndef SHERRY_LIB_CONVERSION_SHERRYTONEON_TABLELOOKUP_H
#define SHERRY_LIB_CONVERSION_SHERRYTONEON_TABLELOOKUP_H

#include "sherry/Conversion/KernelCommon/TableKernel.h"

#include <memory>

namespace mlir::sherry {

/// The table arithmetic of AArch64 NEON (Armv8.0: tbl, zip, add).
std::unique_ptr<TableArithmetic> createNeonTableArithmetic();

} // namespace mlir::sherry

#endif // SHERRY_LIB_CONVERSION_SHERRYTONEON_TABLELOOKUP_H
