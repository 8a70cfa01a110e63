//===- LayoutAttrTest.cpp - #sherry.layout from C++ builders --------------===//
//
// The parser never builds some invalid layouts (its syntax has no group
// size without `group`), but C++ callers can: their diagnostics are pinned
// here.
//
//===----------------------------------------------------------------------===//

#include "sherry/Dialect/Sherry/IR/SherryAttrs.h"
#include "sherry/Dialect/Sherry/IR/SherryDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::sherry;

namespace {

class LayoutAttrTest : public ::testing::Test {
protected:
  LayoutAttrTest() { context.loadDialect<SherryDialect>(); }

  /// The diagnostic getChecked reports for these parameters ("" if valid).
  std::string check(PackedFormat format, ScaleGranularity granularity,
                    int64_t groupSize, Type scaleType) {
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      message = diag.str();
      return success();
    });
    Location loc = UnknownLoc::get(&context);
    LayoutAttr attr =
        LayoutAttr::getChecked([&] { return emitError(loc); }, &context, format,
                               granularity, groupSize, scaleType);
    EXPECT_EQ(bool(attr), message.empty());
    return message;
  }

  MLIRContext context;
  Builder b{&context};
};

TEST_F(LayoutAttrTest, GroupSizeNeedsGroupGranularity) {
  EXPECT_EQ(
      check(PackedFormat::Sherry, ScaleGranularity::Row, 64, b.getF32Type()),
      "a group size is only meaningful with 'group' granularity");
  EXPECT_EQ(check(PackedFormat::Sherry, ScaleGranularity::Tensor, 128,
                  b.getF32Type()),
            "a group size is only meaningful with 'group' granularity");
}

TEST_F(LayoutAttrTest, OtherCombinations) {
  EXPECT_EQ(
      check(PackedFormat::Sherry, ScaleGranularity::Group, 6, b.getF32Type()),
      "scale group size must be a positive multiple of 4 (whole weight "
      "groups), got 6");
  EXPECT_EQ(
      check(PackedFormat::Sherry, ScaleGranularity::Row, 0, b.getBF16Type()),
      "scale_type must be f32 or f16, got 'bf16'");
  EXPECT_EQ(
      check(PackedFormat::Stq1_0, ScaleGranularity::Row, 0, b.getF16Type()),
      "the stq1_0 layout keeps one f16 scale per 256-element block "
      "inside its bytes; it takes no scale granularity or scale type");
  EXPECT_EQ(
      check(PackedFormat::Sherry, ScaleGranularity::Group, 128, b.getF16Type()),
      "");
  // The convenience builder fills in what stq1_0 implies.
  LayoutAttr stq =
      LayoutAttr::get(&context, PackedFormat::Stq1_0, ScaleGranularity::Row);
  EXPECT_EQ(stq.getGranularity(), ScaleGranularity::Group);
  EXPECT_EQ(stq.getGroupSize(), 256);
  EXPECT_TRUE(stq.getScaleType().isF16());
}

} // namespace
