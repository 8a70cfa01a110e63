//===- SherryConstants.h - Constants and the format library -----*- C++ -*-===//
//
// The bridge between MLIR constants and the format library: reading
// `dense`/`dense_resource` elements, building them back, and mapping layout
// attributes to format-library layouts. Folders and passes share it so that
// compile-time packing has one code path.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_DIALECT_SHERRY_IR_SHERRYCONSTANTS_H
#define SHERRY_DIALECT_SHERRY_IR_SHERRYCONSTANTS_H

#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"
#include "sherry/Format/Format.h"

#include <optional>
#include <vector>

namespace mlir::sherry {

/// Constants up to this many elements stay inline (`dense<...>`), so small
/// tests read well; larger ones become `dense_resource` blobs so that IR with
/// real weights stays printable.
constexpr int64_t kInlineConstantLimit = 1024;

/// The elements of a float constant (`dense` of any float type, or
/// `dense_resource` of f32) widened to f32, or nullopt.
std::optional<std::vector<float>> getElementsAsFloats(Attribute attr);

/// The elements of an i8 constant (`dense` or `dense_resource`), or nullopt.
std::optional<std::vector<int8_t>> getElementsAsInt8(Attribute attr);

/// An i8 constant of `type`, inline or as a blob named after `blobName`.
Attribute makeInt8Elements(ShapedType type, ArrayRef<int8_t> data,
                           StringRef blobName);

/// A float constant of `type`'s element type (narrowed with round to nearest
/// even where it is f16 or bf16), inline or as a blob.
Attribute makeFloatElements(ShapedType type, ArrayRef<float> data,
                            StringRef blobName);

/// Which K elements form a group, as the format library names it (for the
/// tables layout, its grouping).
::sherry::format::Layout toFormatLayout(LayoutAttr layout);
/// The tables layout's order and block, for the tables layout only.
std::optional<::sherry::format::TableLayout>
toFormatTableLayout(LayoutAttr layout);
::sherry::format::ScaleSpec toScaleSpec(LayoutAttr layout);

} // namespace mlir::sherry

#endif // SHERRY_DIALECT_SHERRY_IR_SHERRYCONSTANTS_H
