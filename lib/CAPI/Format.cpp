//===- Format.cpp - C API: the Sherry weight format -----------------------===//
//
// Buffers in, buffers out: every computation is a call into the format
// library, in the same order as `sherry-pack pack`, so that the bytes agree.
//
//===----------------------------------------------------------------------===//

#include "sherry-c/Format.h"

#include "Common.h"

#include "sherry/Format/FileIO.h"
#include "sherry/Format/Format.h"
#include "sherry/Format/Gguf.h"
#include "sherry/Format/Half.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace fmt = sherry::format;
using ::sherry::capi::fail;

namespace {
/// What a SherryPackedWeights points to.
struct Packed {
  fmt::PackedWeights weights;
  SherryScaleType scaleType = SherryScaleTypeF32;
  /// stq1_0: the block scales decoded from the bytes ([M, K/256]); empty
  /// for sherry, whose scales are `weights.scales`.
  std::vector<float> blockScales;
  double projectionError = std::numeric_limits<double>::quiet_NaN();
};
} // namespace

static Packed *unwrap(SherryPackedWeights p) {
  return static_cast<Packed *>(p.ptr);
}

static SherryPackedWeights wrap(std::unique_ptr<Packed> p) {
  return SherryPackedWeights{p.release()};
}

static fmt::Result<fmt::Layout> toLayout(SherryLayout layout) {
  switch (layout) {
  case SherryLayoutSherry:
    return fmt::Layout::Sherry;
  case SherryLayoutStq1_0:
    return fmt::Layout::Stq1_0;
  }
  return fmt::Result<fmt::Layout>::error(
      "unknown layout " + std::to_string(static_cast<int>(layout)) +
      "; expected 0 (sherry) or 1 (stq1_0)");
}

static fmt::Result<fmt::TableOrder> toTableOrder(SherryTableOrder order) {
  switch (order) {
  case SherryTableOrderPairs:
    return fmt::TableOrder::GroupPairs;
  case SherryTableOrderLanes:
    return fmt::TableOrder::Lanes;
  case SherryTableOrderWords:
    return fmt::TableOrder::WordFields;
  }
  return fmt::Result<fmt::TableOrder>::error(
      "unknown table order " + std::to_string(static_cast<int>(order)) +
      "; expected 0 (pairs), 1 (lanes) or 2 (words)");
}

/// Whether the scales are inside the bytes (stq1_0 blocks), not apart.
static bool scalesInBlocks(const fmt::PackedWeights &w) {
  return w.layout == fmt::Layout::Stq1_0 && !w.tables;
}

static fmt::Result<fmt::ScaleSpec> toScaleSpec(SherryGranularity granularity,
                                               int64_t groupSize) {
  switch (granularity) {
  case SherryGranularityTensor:
    return fmt::ScaleSpec::tensor();
  case SherryGranularityRow:
    return fmt::ScaleSpec::row();
  case SherryGranularityGroup:
    return fmt::ScaleSpec::group(groupSize);
  }
  return fmt::Result<fmt::ScaleSpec>::error(
      "unknown granularity " + std::to_string(static_cast<int>(granularity)) +
      "; expected 0 (tensor), 1 (row) or 2 (group)");
}

/// Decodes every group (as `sherry-pack info` does) and keeps what the
/// accessors need: the block scales of stq1_0.
static fmt::Status finish(Packed &p) {
  auto t = fmt::unpack(p.weights);
  if (!t.ok())
    return t.getStatus();
  if (fmt::Status s = t->verify(); !s.ok())
    return s;
  if (scalesInBlocks(p.weights))
    p.blockScales = std::move(t->scales);
  return fmt::Status::success();
}

MlirLogicalResult sherryQuantize(const float *weights, int64_t rows,
                                 int64_t cols, SherryLayout layout,
                                 SherryGranularity granularity,
                                 int64_t groupSize, SherryScaleType scaleType,
                                 SherryPackedWeights *result,
                                 MlirStringCallback errorCallback,
                                 void *userData) {
  if (layout == SherryLayoutTables)
    return fail(errorCallback, userData,
                "sherryQuantize packs sherry or stq1_0 bytes; "
                "sherryPackedWeightsToTables takes them to the tables layout");
  auto fmtLayout = toLayout(layout);
  if (!fmtLayout.ok())
    return fail(errorCallback, userData, fmtLayout.message());
  auto spec = toScaleSpec(granularity, groupSize);
  if (!spec.ok())
    return fail(errorCallback, userData, spec.message());
  if (scaleType != SherryScaleTypeF32 && scaleType != SherryScaleTypeF16)
    return fail(errorCallback, userData,
                "unknown scale type " + std::to_string(scaleType) +
                    "; expected 0 (f32) or 1 (f16)");
  if (fmt::Status s = fmt::checkShape(*fmtLayout, rows, cols); !s.ok())
    return fail(errorCallback, userData, s.message());
  if (fmt::Status s = fmt::checkScaleSpec(*spec, cols); !s.ok())
    return fail(errorCallback, userData, s.message());
  if (!weights)
    return fail(errorCallback, userData, "no weights given (null pointer)");

  auto ternary = fmt::ternarize(weights, rows, cols, *fmtLayout, *spec);
  if (!ternary.ok())
    return fail(errorCallback, userData, ternary.message());
  // f16 scales of the sherry layout: what `scale_type = f16` stores.
  bool roundScales =
      scaleType == SherryScaleTypeF16 && *fmtLayout == fmt::Layout::Sherry;
  if (roundScales) {
    for (float &s : ternary->scales) {
      float rounded = fmt::halfToFloat(fmt::floatToHalf(s));
      if (std::isinf(rounded))
        return fail(errorCallback, userData,
                    "scale " + std::to_string(s) +
                        " is beyond the f16 range; use scale_type f32");
      s = rounded;
    }
  }
  auto packed = fmt::pack(*ternary, *fmtLayout);
  if (!packed.ok())
    return fail(errorCallback, userData, packed.message());

  auto p = std::make_unique<Packed>();
  p->weights = std::move(*packed);
  p->scaleType =
      *fmtLayout == fmt::Layout::Stq1_0 ? SherryScaleTypeF16 : scaleType;
  // The error of what is stored (stq1_0 rounds its scales to f16).
  auto stored = fmt::unpack(p->weights);
  if (!stored.ok())
    return fail(errorCallback, userData, stored.message());
  double norm2 = 0.0;
  for (int64_t i = 0, e = rows * cols; i < e; ++i)
    norm2 += double(weights[i]) * double(weights[i]);
  double err2 = fmt::projectionError2(weights, *stored);
  p->projectionError = norm2 > 0.0 ? std::sqrt(err2 / norm2) : 0.0;
  if (p->weights.layout == fmt::Layout::Stq1_0)
    p->blockScales = std::move(stored->scales);
  *result = wrap(std::move(p));
  return mlirLogicalResultSuccess();
}

/// Packed weights from raw sections of the layout `w` describes (shape,
/// scale spec and layout set): the sizes compared before anything is
/// copied, then every byte checked.
static MlirLogicalResult createFromSections(
    std::unique_ptr<Packed> p, const uint8_t *data, int64_t dataSize,
    const float *scales, int64_t numScales, SherryPackedWeights *result,
    MlirStringCallback errorCallback, void *userData) {
  fmt::PackedWeights &w = p->weights;
  if (dataSize < 0 || numScales < 0)
    return fail(errorCallback, userData, "negative data or scale count");
  if ((dataSize > 0 && !data) || (numScales > 0 && !scales))
    return fail(errorCallback, userData, "no data given (null pointer)");
  if (fmt::Status s = fmt::checkShape(w.layout, w.rows, w.cols); !s.ok())
    return fail(errorCallback, userData, s.message());
  if (fmt::Status s = fmt::checkScaleSpec(w.scaleSpec, w.cols); !s.ok())
    return fail(errorCallback, userData, s.message());
  if (w.tables)
    if (fmt::Status s = fmt::checkTableLayout(*w.tables, w.cols, w.scaleSpec);
        !s.ok())
      return fail(errorCallback, userData, s.message());
  // Compare before copying: a wrong count must not allocate a huge buffer.
  if (dataSize != w.dataBytes())
    return fail(errorCallback, userData,
                "expected " + std::to_string(w.dataBytes()) +
                    " data bytes for " + std::to_string(w.rows) + " x " +
                    std::to_string(w.cols) + " in layout " +
                    w.layoutDescription() + ", got " +
                    std::to_string(dataSize));
  w.data.assign(data, data + dataSize);
  w.scales.assign(scales, scales + numScales);
  if (fmt::Status s = w.verify(); !s.ok())
    return fail(errorCallback, userData, s.message());
  if (fmt::Status s = finish(*p); !s.ok())
    return fail(errorCallback, userData, s.message());
  p->scaleType = scalesInBlocks(w) ? SherryScaleTypeF16 : SherryScaleTypeF32;
  *result = wrap(std::move(p));
  return mlirLogicalResultSuccess();
}

MlirLogicalResult sherryPackedWeightsCreate(
    SherryLayout layout, SherryGranularity granularity, int64_t groupSize,
    int64_t rows, int64_t cols, const uint8_t *data, int64_t dataSize,
    const float *scales, int64_t numScales, SherryPackedWeights *result,
    MlirStringCallback errorCallback, void *userData) {
  if (layout == SherryLayoutTables)
    return fail(errorCallback, userData,
                "the tables layout has parameters of its own: use "
                "sherryPackedWeightsCreateTables");
  auto fmtLayout = toLayout(layout);
  if (!fmtLayout.ok())
    return fail(errorCallback, userData, fmtLayout.message());
  auto spec = toScaleSpec(granularity, groupSize);
  if (!spec.ok())
    return fail(errorCallback, userData, spec.message());
  auto p = std::make_unique<Packed>();
  p->weights.layout = *fmtLayout;
  p->weights.rows = rows;
  p->weights.cols = cols;
  p->weights.scaleSpec = *spec;
  return createFromSections(std::move(p), data, dataSize, scales, numScales,
                            result, errorCallback, userData);
}

MlirLogicalResult sherryPackedWeightsCreateTables(
    SherryLayout grouping, SherryTableOrder order, int64_t tileBlock,
    SherryGranularity granularity, int64_t groupSize, int64_t rows,
    int64_t cols, const uint8_t *data, int64_t dataSize, const float *scales,
    int64_t numScales, SherryPackedWeights *result,
    MlirStringCallback errorCallback, void *userData) {
  if (grouping == SherryLayoutTables)
    return fail(errorCallback, userData,
                "the grouping of the tables layout is sherry or stq1_0");
  auto fmtGrouping = toLayout(grouping);
  if (!fmtGrouping.ok())
    return fail(errorCallback, userData, fmtGrouping.message());
  auto fmtOrder = toTableOrder(order);
  if (!fmtOrder.ok())
    return fail(errorCallback, userData, fmtOrder.message());
  auto spec = toScaleSpec(granularity, groupSize);
  if (!spec.ok())
    return fail(errorCallback, userData, spec.message());
  auto p = std::make_unique<Packed>();
  p->weights.layout = *fmtGrouping;
  p->weights.tables = fmt::TableLayout{*fmtOrder, tileBlock};
  p->weights.rows = rows;
  p->weights.cols = cols;
  p->weights.scaleSpec = *spec;
  return createFromSections(std::move(p), data, dataSize, scales, numScales,
                            result, errorCallback, userData);
}

MlirLogicalResult sherryPackedWeightsLoad(MlirStringRef path,
                                          SherryPackedWeights *result,
                                          MlirStringCallback errorCallback,
                                          void *userData) {
  std::string file(path.data, path.length);
  auto read = fmt::readPackedFile(file);
  if (!read.ok())
    return fail(errorCallback, userData, read.message());
  auto p = std::make_unique<Packed>();
  p->weights = std::move(*read);
  if (fmt::Status s = finish(*p); !s.ok())
    return fail(errorCallback, userData, "'" + file + "': " + s.message());
  p->scaleType =
      scalesInBlocks(p->weights) ? SherryScaleTypeF16 : SherryScaleTypeF32;
  *result = wrap(std::move(p));
  return mlirLogicalResultSuccess();
}

MlirLogicalResult sherryPackedWeightsSave(SherryPackedWeights packed,
                                          MlirStringRef path,
                                          MlirStringCallback errorCallback,
                                          void *userData) {
  std::string file(path.data, path.length);
  if (fmt::Status s = fmt::writePackedFile(file, unwrap(packed)->weights);
      !s.ok())
    return fail(errorCallback, userData, s.message());
  return mlirLogicalResultSuccess();
}

MlirLogicalResult sherryPackedWeightsConvert(SherryPackedWeights packed,
                                             SherryLayout layout,
                                             SherryPackedWeights *result,
                                             MlirStringCallback errorCallback,
                                             void *userData) {
  if (layout == SherryLayoutTables)
    return fail(errorCallback, userData,
                "sherryPackedWeightsToTables converts to the tables layout");
  auto fmtLayout = toLayout(layout);
  if (!fmtLayout.ok())
    return fail(errorCallback, userData, fmtLayout.message());
  const Packed &from = *unwrap(packed);
  auto converted = fmt::convert(from.weights, *fmtLayout);
  if (!converted.ok())
    return fail(errorCallback, userData, converted.message());
  auto p = std::make_unique<Packed>();
  p->weights = std::move(*converted);
  if (fmt::Status s = finish(*p); !s.ok())
    return fail(errorCallback, userData, s.message());
  // Scales that were f16 stay f16 values; stq1_0 rounds them to f16.
  p->scaleType = p->weights.layout == fmt::Layout::Stq1_0 ? SherryScaleTypeF16
                                                          : from.scaleType;
  *result = wrap(std::move(p));
  return mlirLogicalResultSuccess();
}

MlirLogicalResult sherryPackedWeightsToTables(SherryPackedWeights packed,
                                              SherryTableOrder order,
                                              int64_t tileBlock,
                                              SherryPackedWeights *result,
                                              MlirStringCallback errorCallback,
                                              void *userData) {
  auto fmtOrder = toTableOrder(order);
  if (!fmtOrder.ok())
    return fail(errorCallback, userData, fmtOrder.message());
  const Packed &from = *unwrap(packed);
  auto tables =
      fmt::toTables(from.weights, fmt::TableLayout{*fmtOrder, tileBlock});
  if (!tables.ok())
    return fail(errorCallback, userData, tables.message());
  auto p = std::make_unique<Packed>();
  p->weights = std::move(*tables);
  if (fmt::Status s = finish(*p); !s.ok())
    return fail(errorCallback, userData, s.message());
  // stq1_0's scales stay f16 values.
  p->scaleType = from.scaleType;
  *result = wrap(std::move(p));
  return mlirLogicalResultSuccess();
}

void sherryPackedWeightsDestroy(SherryPackedWeights packed) {
  delete unwrap(packed);
}

SherryLayout sherryPackedWeightsGetLayout(SherryPackedWeights packed) {
  if (unwrap(packed)->weights.tables)
    return SherryLayoutTables;
  return sherryPackedWeightsGetGrouping(packed);
}

SherryLayout sherryPackedWeightsGetGrouping(SherryPackedWeights packed) {
  return unwrap(packed)->weights.layout == fmt::Layout::Stq1_0
             ? SherryLayoutStq1_0
             : SherryLayoutSherry;
}

SherryTableOrder sherryPackedWeightsGetTableOrder(SherryPackedWeights packed) {
  const auto &tables = unwrap(packed)->weights.tables;
  if (!tables)
    return SherryTableOrderLanes;
  switch (tables->order) {
  case fmt::TableOrder::GroupPairs:
    return SherryTableOrderPairs;
  case fmt::TableOrder::Lanes:
    return SherryTableOrderLanes;
  case fmt::TableOrder::WordFields:
    break;
  }
  return SherryTableOrderWords;
}

int64_t sherryPackedWeightsGetTileBlock(SherryPackedWeights packed) {
  const auto &tables = unwrap(packed)->weights.tables;
  return tables ? tables->tileBlock : 0;
}

SherryGranularity
sherryPackedWeightsGetGranularity(SherryPackedWeights packed) {
  switch (unwrap(packed)->weights.scaleSpec.granularity) {
  case fmt::Granularity::Tensor:
    return SherryGranularityTensor;
  case fmt::Granularity::Row:
    return SherryGranularityRow;
  case fmt::Granularity::Group:
    break;
  }
  return SherryGranularityGroup;
}

int64_t sherryPackedWeightsGetGroupSize(SherryPackedWeights packed) {
  const fmt::ScaleSpec &spec = unwrap(packed)->weights.scaleSpec;
  return spec.granularity == fmt::Granularity::Group ? spec.groupSize : 0;
}

SherryScaleType sherryPackedWeightsGetScaleType(SherryPackedWeights packed) {
  return unwrap(packed)->scaleType;
}

int64_t sherryPackedWeightsGetRows(SherryPackedWeights p) {
  return unwrap(p)->weights.rows;
}

int64_t sherryPackedWeightsGetCols(SherryPackedWeights p) {
  return unwrap(p)->weights.cols;
}

const uint8_t *sherryPackedWeightsGetData(SherryPackedWeights packed) {
  return unwrap(packed)->weights.data.data();
}

int64_t sherryPackedWeightsGetDataSize(SherryPackedWeights packed) {
  return static_cast<int64_t>(unwrap(packed)->weights.data.size());
}

int64_t sherryPackedWeightsGetRowBytes(SherryPackedWeights packed) {
  const fmt::PackedWeights &w = unwrap(packed)->weights;
  return w.tables ? 0 : w.rowBytes();
}

const float *sherryPackedWeightsGetScales(SherryPackedWeights packed) {
  const Packed &p = *unwrap(packed);
  return scalesInBlocks(p.weights) ? p.blockScales.data()
                                   : p.weights.scales.data();
}

int64_t sherryPackedWeightsGetNumScales(SherryPackedWeights packed) {
  const Packed &p = *unwrap(packed);
  return static_cast<int64_t>(scalesInBlocks(p.weights)
                                  ? p.blockScales.size()
                                  : p.weights.scales.size());
}

double sherryPackedWeightsGetBitsPerWeight(SherryPackedWeights packed) {
  const Packed &p = *unwrap(packed);
  double bits = p.weights.bitsPerWeight();
  if (!scalesInBlocks(p.weights) && p.scaleType == SherryScaleTypeF16) {
    // bitsPerWeight() counts the separate scales as f32.
    double weights = double(p.weights.rows) * double(p.weights.cols);
    bits -= 16.0 * double(p.weights.scales.size()) / weights;
  }
  return bits;
}

double sherryPackedWeightsGetProjectionError(SherryPackedWeights packed) {
  return unwrap(packed)->projectionError;
}

MlirLogicalResult sherryPackedWeightsUnpack(SherryPackedWeights packed,
                                            int8_t *values,
                                            MlirStringCallback errorCallback,
                                            void *userData) {
  auto t = fmt::unpack(unwrap(packed)->weights);
  if (!t.ok())
    return fail(errorCallback, userData, t.message());
  std::copy(t->values.begin(), t->values.end(), values);
  return mlirLogicalResultSuccess();
}

MlirLogicalResult
sherryPackedWeightsDequantize(SherryPackedWeights packed, float *weights,
                              MlirStringCallback errorCallback,
                              void *userData) {
  auto t = fmt::unpack(unwrap(packed)->weights);
  if (!t.ok())
    return fail(errorCallback, userData, t.message());
  std::vector<float> w = fmt::dequantize(*t);
  std::copy(w.begin(), w.end(), weights);
  return mlirLogicalResultSuccess();
}

//===----------------------------------------------------------------------===//
// Mapped .sherry files
//===----------------------------------------------------------------------===//

namespace {
/// What a SherryMappedWeights points to: the file, mapped, its header and
/// scales as the format library reads them, and the data where it lies.
struct Mapped {
  std::unique_ptr<llvm::MemoryBuffer> file;
  std::string path;
  /// The header's fields and the scales (f32, aligned); `data` left empty.
  fmt::PackedWeights meta;
  const uint8_t *data = nullptr;
  int64_t dataBytes = 0;
};

Mapped *unwrap(SherryMappedWeights w) { return static_cast<Mapped *>(w.ptr); }

/// The offset of the data in a .sherry file (docs/format.md, section 6.1).
constexpr size_t kPackedFileHeaderBytes = 64;

/// Writes a ranked memref descriptor (allocated and aligned pointers, an
/// int64 offset, `rank` sizes, `rank` strides) of a row-major view.
void fillDescriptor(void *descriptor, const void *data,
                    llvm::ArrayRef<int64_t> sizes) {
  auto *ptrs = static_cast<const void **>(descriptor);
  ptrs[0] = data;
  ptrs[1] = data;
  auto *fields = reinterpret_cast<int64_t *>(ptrs + 2);
  fields[0] = 0;
  int64_t rank = sizes.size(), stride = 1;
  for (int64_t d = rank - 1; d >= 0; --d) {
    fields[1 + d] = sizes[d];
    fields[1 + rank + d] = stride;
    stride *= sizes[d];
  }
}

/// fillDescriptor, where the descriptor is there and of the rank of
/// `sizes`; `what` of `path` names the data in the message otherwise.
MlirLogicalResult fillChecked(void *descriptor, intptr_t rank, const void *data,
                              llvm::ArrayRef<int64_t> sizes, const char *what,
                              const std::string &path,
                              MlirStringCallback errorCallback,
                              void *userData) {
  if (rank != intptr_t(sizes.size())) {
    std::string shape;
    for (int64_t size : sizes)
      shape += (shape.empty() ? "" : " x ") + std::to_string(size);
    return fail(errorCallback, userData,
                "'" + path + "': its " + what + " are rank " +
                    std::to_string(sizes.size()) + " (" + shape +
                    "), the descriptor is rank " + std::to_string(rank));
  }
  if (!descriptor)
    return fail(errorCallback, userData, "no descriptor given (null)");
  fillDescriptor(descriptor, data, sizes);
  return mlirLogicalResultSuccess();
}

/// The file's weights as the format library names them, with their shape.
std::string describe(const fmt::PackedWeights &w) {
  return std::to_string(w.rows) + " x " + std::to_string(w.cols) + " in the " +
         w.layoutDescription() + " layout with " +
         fmt::scaleSpecName(w.scaleSpec) + " scales";
}
} // namespace

MlirLogicalResult sherryMappedWeightsOpen(MlirStringRef path,
                                          SherryMappedWeights *result,
                                          MlirStringCallback errorCallback,
                                          void *userData) {
  auto m = std::make_unique<Mapped>();
  m->path.assign(path.data, path.length);
  auto file = llvm::MemoryBuffer::getFile(m->path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file)
    return fail(errorCallback, userData,
                "cannot open '" + m->path + "': " + file.getError().message());
  m->file = std::move(*file);
  auto *bytes = reinterpret_cast<const uint8_t *>(m->file->getBufferStart());
  size_t size = m->file->getBufferSize();
  // The whole check of sherryPackedWeightsLoad, on a copy that goes away:
  // only the header's fields and the scales stay.
  auto read = fmt::parsePackedFile(bytes, size);
  if (!read.ok())
    return fail(errorCallback, userData, "'" + m->path + "': " + read.message());
  Packed checked;
  checked.weights = std::move(*read);
  if (fmt::Status s = finish(checked); !s.ok())
    return fail(errorCallback, userData, "'" + m->path + "': " + s.message());
  m->meta = std::move(checked.weights);
  m->dataBytes = int64_t(m->meta.data.size());
  m->meta.data = {};
  m->data = bytes + kPackedFileHeaderBytes;
  *result = SherryMappedWeights{m.release()};
  return mlirLogicalResultSuccess();
}

void sherryMappedWeightsClose(SherryMappedWeights weights) {
  delete unwrap(weights);
}

int64_t sherryMappedWeightsGetRows(SherryMappedWeights weights) {
  return unwrap(weights)->meta.rows;
}

int64_t sherryMappedWeightsGetCols(SherryMappedWeights weights) {
  return unwrap(weights)->meta.cols;
}

SherryLayout sherryMappedWeightsGetLayout(SherryMappedWeights weights) {
  const fmt::PackedWeights &w = unwrap(weights)->meta;
  if (w.tables)
    return SherryLayoutTables;
  return w.layout == fmt::Layout::Stq1_0 ? SherryLayoutStq1_0
                                         : SherryLayoutSherry;
}

MlirLogicalResult sherryMappedWeightsExpect(SherryMappedWeights weights,
                                            const SherryWeightsSpec *spec,
                                            MlirStringCallback errorCallback,
                                            void *userData) {
  Mapped *m = unwrap(weights);
  if (!spec)
    return fail(errorCallback, userData, "no weights spec given (null)");
  // What the spec describes, as the format library would hold it.
  fmt::PackedWeights want;
  want.rows = spec->rows;
  want.cols = spec->cols;
  bool tables = spec->layout == SherryLayoutTables;
  auto grouping = toLayout(tables ? spec->grouping : spec->layout);
  if (!grouping.ok())
    return fail(errorCallback, userData,
                (tables ? "grouping: " : "layout: ") + grouping.message());
  want.layout = *grouping;
  if (tables) {
    auto order = toTableOrder(spec->order);
    if (!order.ok())
      return fail(errorCallback, userData, order.message());
    want.tables = fmt::TableLayout{*order, spec->tileBlock};
  }
  auto scales = toScaleSpec(spec->granularity, spec->groupSize);
  if (!scales.ok())
    return fail(errorCallback, userData, scales.message());
  want.scaleSpec = *scales;
  const fmt::PackedWeights &have = m->meta;
  if (have.rows == want.rows && have.cols == want.cols &&
      have.layout == want.layout && have.tables == want.tables &&
      have.scaleSpec == want.scaleSpec)
    return mlirLogicalResultSuccess();
  return fail(errorCallback, userData,
              "'" + m->path + "' holds " + describe(have) +
                  "; the function takes " + describe(want));
}

MlirLogicalResult sherryMappedWeightsGetData(SherryMappedWeights weights,
                                             intptr_t rank, void *descriptor,
                                             MlirStringCallback errorCallback,
                                             void *userData) {
  Mapped *m = unwrap(weights);
  const fmt::PackedWeights &w = m->meta;
  llvm::SmallVector<int64_t, 2> sizes;
  if (w.tables)
    sizes = {m->dataBytes};
  else
    sizes = {w.rows, w.rowBytes()};
  return fillChecked(descriptor, rank, m->data, sizes, "packed bytes", m->path,
                     errorCallback, userData);
}

MlirLogicalResult sherryMappedWeightsGetScales(SherryMappedWeights weights,
                                               intptr_t rank, void *descriptor,
                                               MlirStringCallback errorCallback,
                                               void *userData) {
  Mapped *m = unwrap(weights);
  const fmt::PackedWeights &w = m->meta;
  if (scalesInBlocks(w))
    return fail(errorCallback, userData,
                "'" + m->path +
                    "' is in the stq1_0 layout, whose f16 scales are inside "
                    "its blocks: a function on <stq1_0> weights takes no "
                    "scales");
  llvm::SmallVector<int64_t, 2> sizes;
  switch (w.scaleSpec.granularity) {
  case fmt::Granularity::Tensor:
    sizes = {1};
    break;
  case fmt::Granularity::Row:
    sizes = {w.rows};
    break;
  case fmt::Granularity::Group:
    sizes = {w.rows, w.cols / w.scaleSpec.groupSize};
    break;
  }
  return fillChecked(descriptor, rank, w.scales.data(), sizes, "scales",
                     m->path, errorCallback, userData);
}

//===----------------------------------------------------------------------===//
// GGUF
//===----------------------------------------------------------------------===//

namespace {
/// What a SherryGguf points to.
struct Gguf {
  fmt::GgufFile file;
  fmt::GgufOptions options;
};
} // namespace

static Gguf *unwrap(SherryGguf g) { return static_cast<Gguf *>(g.ptr); }

static MlirStringRef ref(const std::string &s) {
  return mlirStringRefCreate(s.data(), s.size());
}

static std::string str(MlirStringRef r) {
  return std::string(r.data, r.length);
}

/// The tensor at `index`, or null when it is out of range.
static fmt::GgufTensor *tensorAt(SherryGguf g, intptr_t index) {
  auto &tensors = unwrap(g)->file.tensors;
  if (index < 0 || size_t(index) >= tensors.size())
    return nullptr;
  return &tensors[index];
}

static std::string badIndex(intptr_t index, SherryGguf g) {
  return "tensor index " + std::to_string(index) + " is out of range (" +
         std::to_string(unwrap(g)->file.tensors.size()) + " tensors)";
}

uint32_t sherryGgufDefaultStq1Type(void) { return fmt::kGgmlTypeStq1_0; }

bool sherryGgufDescribeStq1TypeCollision(uint32_t stq1Type,
                                         MlirStringCallback callback,
                                         void *userData) {
  std::string collision = fmt::stq1TypeCollision(stq1Type);
  if (collision.empty())
    return false;
  if (callback)
    callback(mlirStringRefCreate(collision.data(), collision.size()),
             userData);
  return true;
}

MlirLogicalResult sherryGgufCreate(uint32_t stq1Type, SherryGguf *result,
                                   MlirStringCallback errorCallback,
                                   void *userData) {
  auto g = std::make_unique<Gguf>();
  g->options.stq1Type = stq1Type;
  if (auto info = fmt::ggmlTypeInfo(stq1Type, g->options); !info.ok())
    return fail(errorCallback, userData, info.message());
  *result = SherryGguf{g.release()};
  return mlirLogicalResultSuccess();
}

MlirLogicalResult sherryGgufLoad(MlirStringRef path, uint32_t stq1Type,
                                 SherryGguf *result,
                                 MlirStringCallback errorCallback,
                                 void *userData) {
  auto g = std::make_unique<Gguf>();
  g->options.stq1Type = stq1Type;
  auto file = fmt::readGguf(str(path), g->options);
  if (!file.ok())
    return fail(errorCallback, userData, file.message());
  g->file = std::move(*file);
  *result = SherryGguf{g.release()};
  return mlirLogicalResultSuccess();
}

MlirLogicalResult sherryGgufSave(SherryGguf gguf, MlirStringRef path,
                                 MlirStringCallback errorCallback,
                                 void *userData) {
  const Gguf &g = *unwrap(gguf);
  if (fmt::Status s = fmt::writeGguf(str(path), g.file, g.options); !s.ok())
    return fail(errorCallback, userData, s.message());
  return mlirLogicalResultSuccess();
}

void sherryGgufDestroy(SherryGguf gguf) { delete unwrap(gguf); }

uint32_t sherryGgufGetVersion(SherryGguf gguf) {
  return unwrap(gguf)->file.version;
}

uint32_t sherryGgufGetStq1Type(SherryGguf gguf) {
  return unwrap(gguf)->options.stq1Type;
}

uint64_t sherryGgufGetAlignment(SherryGguf gguf) {
  auto a = unwrap(gguf)->file.alignment();
  return a.ok() ? *a : 0;
}

intptr_t sherryGgufGetNumMetadata(SherryGguf gguf) {
  return intptr_t(unwrap(gguf)->file.metadata.size());
}

MlirStringRef sherryGgufGetMetadataKey(SherryGguf gguf, intptr_t index) {
  const auto &md = unwrap(gguf)->file.metadata;
  if (index < 0 || size_t(index) >= md.size())
    return mlirStringRefCreate(nullptr, 0);
  return ref(md[index].first);
}

intptr_t sherryGgufFindMetadata(SherryGguf gguf, MlirStringRef key) {
  const auto &md = unwrap(gguf)->file.metadata;
  for (size_t i = 0; i < md.size(); ++i)
    if (md[i].first == std::string_view(key.data, key.length))
      return intptr_t(i);
  return -1;
}

void sherryGgufGetMetadataValue(SherryGguf gguf, intptr_t index,
                                MlirStringCallback callback, void *userData) {
  const auto &md = unwrap(gguf)->file.metadata;
  if (index < 0 || size_t(index) >= md.size() || !callback)
    return;
  std::vector<uint8_t> bytes = fmt::serializeGgufValue(md[index].second);
  callback(mlirStringRefCreate(reinterpret_cast<const char *>(bytes.data()),
                               bytes.size()),
           userData);
}

MlirLogicalResult sherryGgufSetMetadataValue(SherryGguf gguf, MlirStringRef key,
                                             const uint8_t *value, int64_t size,
                                             MlirStringCallback errorCallback,
                                             void *userData) {
  if (size < 0)
    return fail(errorCallback, userData, "negative value size");
  auto parsed = fmt::parseGgufValue(value, size_t(size));
  if (!parsed.ok())
    return fail(errorCallback, userData,
                "metadata '" + str(key) + "': " + parsed.message());
  unwrap(gguf)->file.setMetadata(str(key), std::move(*parsed));
  return mlirLogicalResultSuccess();
}

bool sherryGgufRemoveMetadata(SherryGguf gguf, MlirStringRef key) {
  return unwrap(gguf)->file.eraseMetadata(
      std::string_view(key.data, key.length));
}

intptr_t sherryGgufGetNumTensors(SherryGguf gguf) {
  return intptr_t(unwrap(gguf)->file.tensors.size());
}

intptr_t sherryGgufFindTensor(SherryGguf gguf, MlirStringRef name) {
  const auto &tensors = unwrap(gguf)->file.tensors;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == std::string_view(name.data, name.length))
      return intptr_t(i);
  return -1;
}

MlirStringRef sherryGgufGetTensorName(SherryGguf gguf, intptr_t index) {
  const fmt::GgufTensor *t = tensorAt(gguf, index);
  return t ? ref(t->name) : mlirStringRefCreate(nullptr, 0);
}

uint32_t sherryGgufGetTensorType(SherryGguf gguf, intptr_t index) {
  const fmt::GgufTensor *t = tensorAt(gguf, index);
  return t ? t->type : 0;
}

MlirStringRef sherryGgufGetTensorTypeName(SherryGguf gguf, intptr_t index) {
  const fmt::GgufTensor *t = tensorAt(gguf, index);
  if (!t)
    return mlirStringRefCreate(nullptr, 0);
  auto info = fmt::ggmlTypeInfo(t->type, unwrap(gguf)->options);
  if (!info.ok())
    return mlirStringRefCreate(nullptr, 0);
  // The names are string literals of the format library.
  return mlirStringRefCreate(info->name.data(), info->name.size());
}

intptr_t sherryGgufGetTensorRank(SherryGguf gguf, intptr_t index) {
  const fmt::GgufTensor *t = tensorAt(gguf, index);
  return t ? intptr_t(t->dims.size()) : 0;
}

uint64_t sherryGgufGetTensorDim(SherryGguf gguf, intptr_t index, intptr_t d) {
  const fmt::GgufTensor *t = tensorAt(gguf, index);
  if (!t || d < 0 || size_t(d) >= t->dims.size())
    return 0;
  return t->dims[d];
}

const uint8_t *sherryGgufGetTensorData(SherryGguf gguf, intptr_t index) {
  const fmt::GgufTensor *t = tensorAt(gguf, index);
  return t ? t->data.data() : nullptr;
}

int64_t sherryGgufGetTensorDataSize(SherryGguf gguf, intptr_t index) {
  const fmt::GgufTensor *t = tensorAt(gguf, index);
  return t ? int64_t(t->data.size()) : 0;
}

MlirLogicalResult sherryGgufTakeTensorData(SherryGguf gguf, intptr_t index,
                                           SherryBytes *result,
                                           const uint8_t **data, int64_t *size,
                                           MlirStringCallback errorCallback,
                                           void *userData) {
  fmt::GgufTensor *t = tensorAt(gguf, index);
  if (!t)
    return fail(errorCallback, userData, badIndex(index, gguf));
  auto *bytes = new std::vector<uint8_t>(std::move(t->data));
  t->data = {};
  result->ptr = bytes;
  *data = bytes->data();
  *size = int64_t(bytes->size());
  return mlirLogicalResultSuccess();
}

void sherryBytesDestroy(SherryBytes bytes) {
  delete static_cast<std::vector<uint8_t> *>(bytes.ptr);
}

MlirLogicalResult sherryGgufGetTensorPacked(SherryGguf gguf, intptr_t index,
                                            SherryPackedWeights *result,
                                            MlirStringCallback errorCallback,
                                            void *userData) {
  const fmt::GgufTensor *t = tensorAt(gguf, index);
  if (!t)
    return fail(errorCallback, userData, badIndex(index, gguf));
  auto packed = fmt::tensorToPacked(*t, unwrap(gguf)->options);
  if (!packed.ok())
    return fail(errorCallback, userData, packed.message());
  auto p = std::make_unique<Packed>();
  p->weights = std::move(*packed);
  if (fmt::Status s = finish(*p); !s.ok())
    return fail(errorCallback, userData, s.message());
  p->scaleType = SherryScaleTypeF16;
  *result = wrap(std::move(p));
  return mlirLogicalResultSuccess();
}

MlirLogicalResult sherryGgufGetTensorFloats(SherryGguf gguf, intptr_t index,
                                            float *values,
                                            MlirStringCallback errorCallback,
                                            void *userData) {
  const fmt::GgufTensor *t = tensorAt(gguf, index);
  if (!t)
    return fail(errorCallback, userData, badIndex(index, gguf));
  auto floats = fmt::tensorToFloats(*t);
  if (!floats.ok())
    return fail(errorCallback, userData, floats.message());
  std::copy(floats->begin(), floats->end(), values);
  return mlirLogicalResultSuccess();
}

MlirLogicalResult sherryGgufSetTensorPacked(SherryGguf gguf, MlirStringRef name,
                                            SherryPackedWeights packed,
                                            MlirStringCallback errorCallback,
                                            void *userData) {
  Gguf &g = *unwrap(gguf);
  auto t = fmt::packedToTensor(str(name), unwrap(packed)->weights, g.options);
  if (!t.ok())
    return fail(errorCallback, userData, t.message());
  g.file.setTensor(std::move(*t));
  return mlirLogicalResultSuccess();
}

MlirLogicalResult sherryGgufSetTensorData(SherryGguf gguf, MlirStringRef name,
                                          intptr_t rank, const uint64_t *dims,
                                          uint32_t type, const uint8_t *data,
                                          int64_t size,
                                          MlirStringCallback errorCallback,
                                          void *userData) {
  Gguf &g = *unwrap(gguf);
  if (rank < 0 || rank > 4)
    return fail(errorCallback, userData,
                "tensor '" + str(name) + "' has rank " + std::to_string(rank) +
                    "; ggml tensors have at most 4 dims");
  if (size < 0 || (size > 0 && !data) || (rank > 0 && !dims))
    return fail(errorCallback, userData, "no data given (null pointer)");
  fmt::GgufTensor t;
  t.name = str(name);
  t.dims.assign(dims, dims + rank);
  t.type = type;
  // Compare before copying: a wrong size must not allocate a huge buffer.
  auto want = fmt::tensorDataSize(t, g.options);
  if (!want.ok())
    return fail(errorCallback, userData, want.message());
  if (uint64_t(size) != *want)
    return fail(errorCallback, userData,
                "tensor '" + t.name + "' has " + std::to_string(size) +
                    " data bytes; its dims and type need " +
                    std::to_string(*want));
  t.data.assign(data, data + size);
  g.file.setTensor(std::move(t));
  return mlirLogicalResultSuccess();
}

bool sherryGgufRemoveTensor(SherryGguf gguf, MlirStringRef name) {
  auto &tensors = unwrap(gguf)->file.tensors;
  for (auto it = tensors.begin(); it != tensors.end(); ++it)
    if (it->name == std::string_view(name.data, name.length)) {
      tensors.erase(it);
      return true;
    }
  return false;
}
