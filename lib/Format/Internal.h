//===- Internal.h - Format library internals shared by its files -*- C++ -*-===//

#ifndef SHERRY_LIB_FORMAT_INTERNAL_H
#define SHERRY_LIB_FORMAT_INTERNAL_H

#include "sherry/Format/Format.h"

namespace sherry::format::detail {

/// The ternary values and scales of table-order weights (verify() passed):
/// their codes read back, after checking the padding rows and the counts of
/// negative groups.
Result<TernaryMatrix> unpackTables(const PackedWeights &packed);

} // namespace sherry::format::detail

#endif // SHERRY_LIB_FORMAT_INTERNAL_H
