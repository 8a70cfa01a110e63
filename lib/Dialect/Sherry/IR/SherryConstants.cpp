//===- SherryConstants.cpp - Constants and the format library -------------===//

#include "sherry/Dialect/Sherry/IR/SherryConstants.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace mlir::sherry;
namespace format = ::sherry::format;

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

std::optional<std::vector<float>>
mlir::sherry::getElementsAsFloats(Attribute attr) {
  if (auto dense = dyn_cast_or_null<DenseFPElementsAttr>(attr)) {
    std::vector<float> out;
    out.reserve(dense.getNumElements());
    for (APFloat v : dense.getValues<APFloat>()) {
      bool lost;
      v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
      out.push_back(v.convertToFloat());
    }
    return out;
  }
  // A blob is only as long as it is, whatever its type says: one of
  // another size is left alone (translation rejects it later).
  if (auto blob = dyn_cast_or_null<DenseF32ResourceElementsAttr>(attr))
    if (std::optional<ArrayRef<float>> data = blob.tryGetAsArrayRef())
      if (int64_t(data->size()) == blob.getType().getNumElements())
        return std::vector<float>(data->begin(), data->end());
  return std::nullopt;
}

std::optional<std::vector<int8_t>>
mlir::sherry::getElementsAsInt8(Attribute attr) {
  if (auto dense = dyn_cast_or_null<DenseIntElementsAttr>(attr)) {
    if (!dense.getElementType().isInteger(8))
      return std::nullopt;
    std::vector<int8_t> out;
    out.reserve(dense.getNumElements());
    for (int8_t v : dense.getValues<int8_t>())
      out.push_back(v);
    return out;
  }
  if (auto blob = dyn_cast_or_null<DenseI8ResourceElementsAttr>(attr))
    if (std::optional<ArrayRef<int8_t>> data = blob.tryGetAsArrayRef())
      if (int64_t(data->size()) == blob.getType().getNumElements())
        return std::vector<int8_t>(data->begin(), data->end());
  return std::nullopt;
}

Attribute mlir::sherry::makeInt8Elements(ShapedType type, ArrayRef<int8_t> data,
                                         StringRef blobName) {
  if (type.getNumElements() <= kInlineConstantLimit)
    return DenseElementsAttr::get(type, data);
  return DenseI8ResourceElementsAttr::get(
      type, blobName, HeapAsmResourceBlob::allocateAndCopyInferAlign(data));
}

Attribute mlir::sherry::makeFloatElements(ShapedType type, ArrayRef<float> data,
                                          StringRef blobName) {
  Type elementType = type.getElementType();
  if (elementType.isF32() && type.getNumElements() > kInlineConstantLimit)
    return DenseF32ResourceElementsAttr::get(
        type, blobName, HeapAsmResourceBlob::allocateAndCopyInferAlign(data));
  auto floatType = cast<FloatType>(elementType);
  SmallVector<APFloat> values;
  values.reserve(data.size());
  for (float f : data) {
    APFloat v(f);
    bool lost;
    v.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
              &lost);
    values.push_back(v);
  }
  return DenseElementsAttr::get(type, values);
}

format::Layout mlir::sherry::toFormatLayout(LayoutAttr layout) {
  return layout.hasStq1_0Grouping() ? format::Layout::Stq1_0
                                    : format::Layout::Sherry;
}

std::optional<format::TableLayout>
mlir::sherry::toFormatTableLayout(LayoutAttr layout) {
  if (!layout.isTables())
    return std::nullopt;
  format::TableLayout tables;
  switch (layout.getTableOrder()) {
  case TableOrder::Pairs:
    tables.order = format::TableOrder::GroupPairs;
    break;
  case TableOrder::Lanes:
    tables.order = format::TableOrder::Lanes;
    break;
  case TableOrder::Words:
    tables.order = format::TableOrder::WordFields;
    break;
  }
  tables.tileBlock = layout.getTileBlock();
  return tables;
}

format::ScaleSpec mlir::sherry::toScaleSpec(LayoutAttr layout) {
  switch (layout.getGranularity()) {
  case ScaleGranularity::Tensor:
    return format::ScaleSpec::tensor();
  case ScaleGranularity::Row:
    return format::ScaleSpec::row();
  case ScaleGranularity::Group:
    return format::ScaleSpec::group(layout.getGroupSize());
  }
  llvm_unreachable("unknown granularity");
}
