//===- FuzzMlir.cpp - libFuzzer target for sherry IR ---------------------===//
//
// Parses the input as an MLIR module, verifies it, and runs the
// --sherry-to-llvm pipeline on it. Errors (a parse error, a verifier error,
// a pass that fails) are caught by a diagnostic handler and are fine; a
// crash, an assert or a sanitizer report is a bug.
//
// The pipeline options are picked from a hash of the input, so that one
// input always runs the same configuration (reproducible), while the corpus
// covers the kernels, targets and strategies of SherryToLLVMOptions.
//
//===----------------------------------------------------------------------===//

#include "sherry/InitAllSherry.h"
#include "sherry/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace mlir;

namespace {

/// The configurations the corpus is spread over (all must pass
/// parseSherryToLLVMOptions).
const char *const kConfigs[] = {
    "",
    "kernel=linalg",
    "target=avx512-vnni strategy=tables",
    "target=avx512-vnni strategy=decode",
    "target=neon-dotprod",
    "target=avx512-bw threads=2",
    "target=avx2 row-block=3 batch-block=5",
    "target=neon",
    "target=avx512-vnni strategy=tables threads=3 tile-block=3",
    "fold-constants=false",
    "row-tile=32 batch-tile=2 threads=2",
    "kernel=vector row-block=1 batch-block=1",
};
constexpr size_t kNumConfigs = sizeof(kConfigs) / sizeof(kConfigs[0]);

struct State {
  DialectRegistry registry;
  std::unique_ptr<MLIRContext> context;
  std::vector<std::unique_ptr<sherry::SherryToLLVMOptions>> options;

  State() {
    registerAllDialects(registry);
    registerAllExtensions(registry);
    sherry::registerAllSherryDialects(registry);
    context = std::make_unique<MLIRContext>(
        registry, MLIRContext::Threading::DISABLED);
    context->loadAllAvailableDialects();
    // Swallow every diagnostic: failing is fine, crashing is not.
    context->getDiagEngine().registerHandler(
        [](Diagnostic &) { return success(); });
    for (const char *config : kConfigs) {
      std::string message;
      auto parsed = sherry::parseSherryToLLVMOptions(config, message);
      if (!parsed) {
        llvm::errs() << "fuzz-mlir: bad built-in options '" << config
                     << "': " << message << "\n";
        std::abort();
      }
      options.push_back(std::move(parsed));
    }
  }
};

State &state() {
  static State *s = new State();
  return *s;
}

/// Whether `text` holds `name = <value>` where value is not a well-formed
/// `[i, j, ...]` of integers.
bool hasMalformedIntegerList(llvm::StringRef text, llvm::StringRef name) {
  for (size_t at = text.find(name); at != llvm::StringRef::npos;
       at = text.find(name, at + 1)) {
    llvm::StringRef rest = text.drop_front(at + name.size()).ltrim();
    if (!rest.consume_front("="))
      continue;
    rest = rest.ltrim();
    if (!rest.consume_front("["))
      return true;
    rest = rest.ltrim();
    if (rest.consume_front("]"))
      continue;
    while (true) {
      rest.consume_front("-");
      size_t digits = rest.find_first_not_of("0123456789");
      if (digits == 0 || digits == llvm::StringRef::npos)
        return true;
      rest = rest.drop_front(digits).ltrim();
      if (rest.consume_front("]"))
        break;
      if (!rest.consume_front(","))
        return true;
      rest = rest.ltrim();
    }
  }
  return false;
}

/// Inputs that crash upstream MLIR (LLVM 22), not our code: skipped, so
/// that the fuzzer goes on to find ours. The tools and the C API survive
/// them (docs/reliability.md); a new upstream crash found here is added
/// once it is understood.
bool isKnownUpstreamCrash(llvm::StringRef text) {
  // linalg.transpose, linalg.broadcast and linalg.reduce parse their
  // `permutation` / `dimensions` as a dense i64 array and, when that fails
  // (after reporting it), store the null attribute: SIGSEGV in
  // NamedAttrList::set.
  return hasMalformedIntegerList(text, "permutation") ||
         hasMalformedIntegerList(text, "dimensions");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  State &s = state();
  // The MLIR lexer relies on a NUL after the buffer (MemoryBuffer gives one;
  // a bare StringRef over the fuzzer's bytes does not, and reading "A" then
  // overflows: docs/design/2026-11-24-reliability-campaigns.md, finding
  // H1). Copy into a std::string.
  std::string text(reinterpret_cast<const char *>(data), size);
  if (isKnownUpstreamCrash(text))
    return -1; // not added to the corpus
  ParserConfig config(s.context.get(), /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, config, "fuzz-input");
  if (!module || failed(verify(*module)))
    return 0;

  uint32_t hash = 2166136261u; // FNV-1a
  for (size_t i = 0; i < size; ++i)
    hash = (hash ^ data[i]) * 16777619u;
  PassManager pm(s.context.get(), ModuleOp::getOperationName());
  sherry::buildSherryToLLVMPipeline(pm, *s.options[hash % kNumConfigs]);
  (void)pm.run(*module);
  return 0;
}
