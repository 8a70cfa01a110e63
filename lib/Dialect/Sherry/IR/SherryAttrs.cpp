//===- SherryAttrs.cpp - sherry dialect attributes ------------------------===//

#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"
#include "sherry/Dialect/Sherry/IR/SherryDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sherry;

#include "sherry/Dialect/Sherry/IR/SherryEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "sherry/Dialect/Sherry/IR/SherryAttrs.cpp.inc"

void SherryDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "sherry/Dialect/Sherry/IR/SherryAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// LayoutAttr
//===----------------------------------------------------------------------===//

// Syntax: `<` format (`,` granularity)? (`,` `scale_type` `=` type)? `>`
// with granularity `tensor` | `row` | `group` `=` G.
Attribute LayoutAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  SMLoc loc = parser.getCurrentLocation();
  StringRef formatName;
  if (parser.parseLess() || parser.parseKeyword(&formatName))
    return {};
  std::optional<PackedFormat> format = symbolizePackedFormat(formatName);
  if (!format) {
    parser.emitError(loc, "unknown packed layout '")
        << formatName << "'; expected 'sherry' or 'stq1_0'";
    return {};
  }

  bool isStq = *format == PackedFormat::Stq1_0;
  ScaleGranularity granularity =
      isStq ? ScaleGranularity::Group : ScaleGranularity::Row;
  int64_t groupSize = isStq ? 256 : 0;
  Type scaleType =
      isStq ? Type(Float16Type::get(ctx)) : Type(Float32Type::get(ctx));
  bool sawGranularity = false, sawScaleType = false;

  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return {};
    if (key == "scale_type") {
      if (sawScaleType) {
        parser.emitError(keyLoc, "'scale_type' given twice");
        return {};
      }
      sawScaleType = true;
      if (parser.parseEqual() || parser.parseType(scaleType))
        return {};
      continue;
    }
    std::optional<ScaleGranularity> g = symbolizeScaleGranularity(key);
    if (!g) {
      parser.emitError(keyLoc, "unknown layout parameter '")
          << key << "'; expected 'tensor', 'row', 'group = G' or "
          << "'scale_type = T'";
      return {};
    }
    if (sawGranularity) {
      parser.emitError(keyLoc, "scale granularity given twice");
      return {};
    }
    sawGranularity = true;
    granularity = *g;
    groupSize = 0;
    if (granularity == ScaleGranularity::Group &&
        (parser.parseEqual() || parser.parseInteger(groupSize)))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<LayoutAttr>(loc, ctx, *format, granularity,
                                       groupSize, scaleType);
}

void LayoutAttr::print(AsmPrinter &printer) const {
  printer << '<' << stringifyPackedFormat(getFormat());
  if (getFormat() == PackedFormat::Stq1_0) {
    printer << '>';
    return;
  }
  printer << ", " << stringifyScaleGranularity(getGranularity());
  if (getGranularity() == ScaleGranularity::Group)
    printer << " = " << getGroupSize();
  if (!getScaleType().isF32())
    printer << ", scale_type = " << getScaleType();
  printer << '>';
}

LogicalResult LayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 PackedFormat format,
                                 ScaleGranularity granularity,
                                 int64_t groupSize, Type scaleType) {
  if (format == PackedFormat::Stq1_0) {
    if (granularity != ScaleGranularity::Group || groupSize != 256 ||
        !scaleType.isF16())
      return emitError() << "the stq1_0 layout keeps one f16 scale per "
                            "256-element block inside its bytes; it takes no "
                            "scale granularity or scale type";
    return success();
  }
  if (!scaleType.isF32() && !scaleType.isF16())
    return emitError() << "scale_type must be f32 or f16, got " << scaleType;
  if (granularity == ScaleGranularity::Group) {
    if (groupSize <= 0 || groupSize % 4 != 0)
      return emitError() << "scale group size must be a positive multiple of "
                            "4 (whole weight groups), got "
                         << groupSize;
  } else if (groupSize != 0) {
    return emitError() << "a group size is only meaningful with 'group' "
                          "granularity";
  }
  return success();
}

int64_t LayoutAttr::getRequiredKMultiple() const {
  return getFormat() == PackedFormat::Stq1_0 ? 256 : 32;
}

int64_t LayoutAttr::getRowBytes(int64_t k) const {
  if (getFormat() == PackedFormat::Stq1_0)
    return k / 256 * 42;
  return k / 8 + k / 32;
}

SmallVector<int64_t> LayoutAttr::getScalesShape(int64_t m, int64_t k) const {
  switch (getGranularity()) {
  case ScaleGranularity::Tensor:
    return {1};
  case ScaleGranularity::Row:
    return {m};
  case ScaleGranularity::Group:
    return {m, ShapedType::isDynamic(k) ? ShapedType::kDynamic
                                        : k / getGroupSize()};
  }
  llvm_unreachable("unknown granularity");
}

LogicalResult
LayoutAttr::verifyReductionSize(function_ref<InFlightDiagnostic()> emitError,
                                int64_t k) const {
  int64_t multiple = getRequiredKMultiple();
  if (k <= 0 || k % multiple != 0)
    return emitError() << "K = " << k << " is not a positive multiple of "
                       << multiple << ", which the "
                       << stringifyPackedFormat(getFormat())
                       << " layout requires";
  if (getGranularity() == ScaleGranularity::Group && k % getGroupSize() != 0)
    return emitError() << "K = " << k
                       << " is not a multiple of the scale group size "
                       << getGroupSize();
  return success();
}
