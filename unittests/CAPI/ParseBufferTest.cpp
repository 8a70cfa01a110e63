//===- ParseBufferTest.cpp - sherry C API sources without a NUL -----------===//
//
// sherryCompile / sherryLowerToLLVM / sherryRunPasses take the module as an MlirStringRef
// (pointer + length), which need not be NUL-terminated. The MLIR lexer reads
// up to a NUL, so parsing the caller's bytes in place read past them
// (fuzz-mlir, docs/design/2026-11-24-reliability-campaigns.md, H1). Here
// the source ends exactly at a page followed by an inaccessible page: any
// read past it faults, with or without AddressSanitizer.
//
//===----------------------------------------------------------------------===//

#include "sherry-c/Compiler.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace {

/// `text` copied to the very end of a readable page that is followed by a
/// PROT_NONE page.
class GuardedText {
public:
  explicit GuardedText(const std::string &text) {
    page = size_t(sysconf(_SC_PAGESIZE));
    mapping = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED)
      return;
    char *base = static_cast<char *>(mapping);
    if (mprotect(base + page, page, PROT_NONE) != 0)
      return;
    data = base + page - text.size();
    std::memcpy(data, text.data(), text.size());
    size = text.size();
  }
  ~GuardedText() {
    if (mapping != MAP_FAILED)
      munmap(mapping, 2 * page);
  }
  MlirStringRef ref() const { return mlirStringRefCreate(data, size); }
  bool ok() const { return data != nullptr; }

private:
  size_t page = 0;
  void *mapping = MAP_FAILED;
  char *data = nullptr;
  size_t size = 0;
};

void append(MlirStringRef text, void *userData) {
  static_cast<std::string *>(userData)->append(text.data, text.length);
}

TEST(ParseBufferTest, InvalidSourceEndingAtAPage) {
  GuardedText source("A");
  ASSERT_TRUE(source.ok());
  std::string ir, errors;
  MlirLogicalResult result =
      sherryLowerToLLVM(source.ref(), mlirStringRefCreate("", 0), append, &ir,
                        append, &errors);
  EXPECT_TRUE(mlirLogicalResultIsFailure(result));
  EXPECT_NE(errors.find("custom op 'A' is unknown"), std::string::npos)
      << errors;
}

TEST(ParseBufferTest, ValidSourceEndingAtAPage) {
  GuardedText source("func.func @f(%x: i32) -> i32 { return %x : i32 }");
  ASSERT_TRUE(source.ok());
  std::string ir, errors;
  MlirLogicalResult result =
      sherryLowerToLLVM(source.ref(), mlirStringRefCreate("", 0), append, &ir,
                        append, &errors);
  ASSERT_TRUE(mlirLogicalResultIsSuccess(result)) << errors;
  EXPECT_NE(ir.find("llvm.func @f"), std::string::npos) << ir;
}

TEST(ParseBufferTest, RunPassesOnSourceEndingAtAPage) {
  GuardedText source("func.func @f(%x: i32) -> i32 {\n"
                     "  %c = arith.constant 0 : i32\n"
                     "  %y = arith.addi %x, %c : i32\n"
                     "  return %y : i32\n}");
  ASSERT_TRUE(source.ok());
  std::string ir, errors;
  const char *pipeline = "builtin.module(canonicalize)";
  MlirLogicalResult result = sherryRunPasses(
      source.ref(), mlirStringRefCreate(pipeline, std::strlen(pipeline)),
      append, &ir, append, &errors);
  ASSERT_TRUE(mlirLogicalResultIsSuccess(result)) << errors;
  EXPECT_EQ(ir.find("arith.addi"), std::string::npos) << ir;
  EXPECT_NE(ir.find("return %arg0"), std::string::npos) << ir;
}

} // namespace
