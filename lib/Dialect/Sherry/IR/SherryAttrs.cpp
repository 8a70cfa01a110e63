//===- SherryAttrs.cpp - sherry dialect attributes ------------------------===//

#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"
#include "sherry/Dialect/Sherry/IR/SherryConstants.h"
#include "sherry/Dialect/Sherry/IR/SherryDialect.h"

#include "sherry/Format/Format.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringSet.h"
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

// Syntax: `<` format (`,` param)* `>` where a param is a granularity
// (`tensor` | `row` | `group` `=` G) or `scale_type` `=` type, and for the
// tables layout `grouping` `=` (`sherry` | `stq1_0`), `order` `=` (`lanes` |
// `pairs` | `words`) or `tile_block` `=` N.
Attribute LayoutAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  SMLoc loc = parser.getCurrentLocation();
  StringRef formatName;
  if (parser.parseLess() || parser.parseKeyword(&formatName))
    return {};
  std::optional<PackedFormat> format = symbolizePackedFormat(formatName);
  if (!format) {
    parser.emitError(loc, "unknown packed layout '")
        << formatName << "'; expected 'sherry', 'stq1_0' or 'tables'";
    return {};
  }

  bool isStq = *format == PackedFormat::Stq1_0;
  bool isTables = *format == PackedFormat::Tables;
  ScaleGranularity granularity =
      isStq ? ScaleGranularity::Group : ScaleGranularity::Row;
  int64_t groupSize = isStq ? 256 : 0;
  Type scaleType =
      isStq ? Type(Float16Type::get(ctx)) : Type(Float32Type::get(ctx));
  PackedFormat grouping = defaultGrouping(*format);
  TableOrder order = TableOrder::Lanes;
  int64_t tileBlock = defaultTileBlock(*format);
  llvm::StringSet<> seen;

  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return {};
    std::optional<ScaleGranularity> g = symbolizeScaleGranularity(key);
    if (!seen.insert(g ? StringRef("granularity") : key).second) {
      if (g)
        parser.emitError(keyLoc, "scale granularity given twice");
      else
        parser.emitError(keyLoc, "'") << key << "' given twice";
      return {};
    }
    if (g) {
      granularity = *g;
      groupSize = 0;
      if (granularity == ScaleGranularity::Group &&
          (parser.parseEqual() || parser.parseInteger(groupSize)))
        return {};
      continue;
    }
    if (key == "scale_type") {
      if (parser.parseEqual() || parser.parseType(scaleType))
        return {};
      continue;
    }
    bool tableParam =
        key == "grouping" || key == "order" || key == "tile_block";
    if (tableParam && !isTables) {
      parser.emitError(keyLoc, "'")
          << key << "' is a parameter of the tables layout, not of "
          << formatName;
      return {};
    }
    if (key == "tile_block") {
      if (parser.parseEqual() || parser.parseInteger(tileBlock))
        return {};
      continue;
    }
    if (key == "grouping" || key == "order") {
      StringRef value;
      SMLoc valueLoc;
      if (parser.parseEqual() ||
          (valueLoc = parser.getCurrentLocation(),
           parser.parseKeyword(&value)))
        return {};
      if (key == "grouping") {
        std::optional<PackedFormat> parsed = symbolizePackedFormat(value);
        if (!parsed || *parsed == PackedFormat::Tables) {
          parser.emitError(valueLoc, "unknown grouping '")
              << value << "'; expected 'sherry' or 'stq1_0'";
          return {};
        }
        grouping = *parsed;
      } else {
        std::optional<TableOrder> parsed = symbolizeTableOrder(value);
        if (!parsed) {
          parser.emitError(valueLoc, "unknown table order '")
              << value << "'; expected 'lanes', 'pairs' or 'words'";
          return {};
        }
        order = *parsed;
      }
      continue;
    }
    parser.emitError(keyLoc, "unknown layout parameter '")
        << key << "'; expected 'tensor', 'row', 'group = G' or "
        << "'scale_type = T'"
        << (isTables ? ", 'grouping = G', 'order = O' or 'tile_block = N'"
                     : "");
    return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<LayoutAttr>(loc, ctx, *format, granularity,
                                       groupSize, scaleType, grouping, order,
                                       tileBlock);
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
  if (isTables()) {
    if (getGrouping() != PackedFormat::Sherry)
      printer << ", grouping = " << stringifyPackedFormat(getGrouping());
    if (getTableOrder() != TableOrder::Lanes)
      printer << ", order = " << stringifyTableOrder(getTableOrder());
    if (getTileBlock() != defaultTileBlock(PackedFormat::Tables))
      printer << ", tile_block = " << getTileBlock();
  }
  printer << '>';
}

LogicalResult LayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 PackedFormat format,
                                 ScaleGranularity granularity,
                                 int64_t groupSize, Type scaleType,
                                 PackedFormat grouping, TableOrder tableOrder,
                                 int64_t tileBlock) {
  if (format != PackedFormat::Tables &&
      (grouping != defaultGrouping(format) ||
       tableOrder != TableOrder::Lanes || tileBlock != 0))
    return emitError() << "grouping, order and tile_block are parameters of "
                          "the tables layout, not of "
                       << stringifyPackedFormat(format);
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
  if (format != PackedFormat::Tables)
    return success();
  if (grouping == PackedFormat::Tables)
    return emitError() << "the grouping of the tables layout is sherry or "
                          "stq1_0";
  if (tileBlock < 1 || tileBlock > ::sherry::format::kMaxTableTileBlock)
    return emitError() << "the tables layout's tile_block must be in 1.."
                       << ::sherry::format::kMaxTableTileBlock << ", got "
                       << tileBlock;
  int64_t multiple = tableOrder == TableOrder::Words ? 64 : 16;
  if (granularity == ScaleGranularity::Group && groupSize % multiple != 0)
    return emitError() << "the tables layout (" << stringifyTableOrder(tableOrder)
                       << " order) reads " << multiple
                       << " K elements at a time: scale groups must be a "
                          "multiple of "
                       << multiple << ", got " << groupSize;
  if (grouping == PackedFormat::Stq1_0 &&
      !(granularity == ScaleGranularity::Group && groupSize % 256 == 0) &&
      granularity != ScaleGranularity::Tensor &&
      granularity != ScaleGranularity::Row)
    return emitError() << "scales of the stq1_0 grouping change at most "
                          "every 256 elements";
  return success();
}

int64_t LayoutAttr::getRequiredKMultiple() const {
  int64_t multiple = getGrouping() == PackedFormat::Stq1_0 ? 256 : 32;
  if (isTables() && getTableOrder() == TableOrder::Words)
    multiple = std::max<int64_t>(multiple, 64);
  return multiple;
}

int64_t LayoutAttr::getRowBytes(int64_t k) const {
  assert(!isTables() && "the tables layout has no rows of bytes");
  if (getFormat() == PackedFormat::Stq1_0)
    return k / 256 * 42;
  return k / 8 + k / 32;
}

int64_t LayoutAttr::getWeightBytes(int64_t m, int64_t k) const {
  if (!isTables())
    return m * getRowBytes(k);
  return ::sherry::format::tableDataBytes(m, k, toScaleSpec(*this),
                                          *toFormatTableLayout(*this));
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
                       << (isTables() && getTableOrder() == TableOrder::Words
                               ? " layout (words order)"
                               : isTables() && hasStq1_0Grouping()
                                     ? " layout (stq1_0 grouping)"
                                     : " layout")
                       << " requires";
  if (getGranularity() == ScaleGranularity::Group && k % getGroupSize() != 0)
    return emitError() << "K = " << k
                       << " is not a multiple of the scale group size "
                       << getGroupSize();
  return success();
}
