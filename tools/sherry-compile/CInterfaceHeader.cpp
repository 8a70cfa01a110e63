//===- CInterfaceHeader.cpp - C headers for _mlir_ciface_ wrappers --------===//
//
// The wrappers follow MLIR's C calling convention for functions marked
// `llvm.emit_c_interface` (FuncToLLVM's convertFunctionTypeCWrapper):
// every memref argument is a pointer to its descriptor, scalars go by
// value, a single scalar result is returned, and any other result (a memref,
// or several results packed in one struct) is written through a pointer
// passed as the first parameter.
//
//===----------------------------------------------------------------------===//

#include "CInterfaceHeader.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <optional>

using namespace mlir;
using namespace mlir::sherry::compile;

namespace {

/// How a scalar or a memref element type is spelled in C.
struct CScalar {
  /// The C type ("float", "int8_t", ...).
  std::string type;
  /// The short MLIR spelling used in struct names ("f32", "i8", ...).
  std::string suffix;
  /// False for types whose C spelling is only their storage (f16, bf16 as
  /// uint16_t): right inside memory, wrong in a register.
  bool byValueOk = true;
};

std::optional<CScalar> getCScalar(Type type) {
  if (type.isF32())
    return CScalar{"float", "f32"};
  if (type.isF64())
    return CScalar{"double", "f64"};
  if (type.isF16())
    return CScalar{"uint16_t", "f16", /*byValueOk=*/false};
  if (type.isBF16())
    return CScalar{"uint16_t", "bf16", /*byValueOk=*/false};
  // The lowering gives index 64 bits unless a data layout says otherwise.
  if (type.isIndex())
    return CScalar{"int64_t", "index"};
  if (auto intType = dyn_cast<IntegerType>(type)) {
    unsigned width = intType.getWidth();
    if (width == 1)
      return CScalar{"bool", "i1"};
    if (width == 8 || width == 16 || width == 32 || width == 64)
      return CScalar{llvm::formatv("int{0}_t", width).str(),
                     llvm::formatv("i{0}", width).str()};
  }
  return std::nullopt;
}

bool isCIdentifier(StringRef name) {
  if (name.empty() || llvm::isDigit(name.front()))
    return false;
  return llvm::all_of(name,
                      [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

std::string printToString(function_ref<void(raw_ostream &)> print) {
  std::string text;
  llvm::raw_string_ostream os(text);
  print(os);
  // Keep a printed type or attribute from closing the C comment.
  size_t pos = 0;
  while ((pos = text.find("*/", pos)) != std::string::npos)
    text.replace(pos, 2, "* /");
  return text;
}

/// Collects the descriptor structs a header needs and spells C types.
class HeaderBuilder {
public:
  /// The C spelling of a value of `type` held in memory (a struct field or
  /// the pointee of a result pointer), registering the descriptor struct it
  /// needs.
  FailureOr<std::string> getStorageType(Type type) {
    if (auto memref = dyn_cast<MemRefType>(type)) {
      std::optional<CScalar> element = getCScalar(memref.getElementType());
      if (!element)
        return failure();
      std::string name = llvm::formatv("sherry_memref_{0}_{1}d",
                                       element->suffix, memref.getRank())
                             .str();
      if (seenStructs.insert(name).second)
        structs.push_back(
            makeRankedStruct(name, element->type, memref.getRank()));
      return name;
    }
    if (isa<UnrankedMemRefType>(type)) {
      needUnranked = true;
      return std::string("sherry_unranked_memref");
    }
    if (std::optional<CScalar> scalar = getCScalar(type))
      return scalar->type;
    return failure();
  }

  /// The C spelling of an argument of `type`.
  FailureOr<std::string> getArgumentType(Type type) {
    if (isa<BaseMemRefType>(type)) {
      FailureOr<std::string> storage = getStorageType(type);
      if (failed(storage))
        return failure();
      return *storage + " *";
    }
    std::optional<CScalar> scalar = getCScalar(type);
    if (!scalar || !scalar->byValueOk)
      return failure();
    return scalar->type + " ";
  }

  void writeStructs(raw_ostream &os) const {
    if (needUnranked) {
      os << "#ifndef SHERRY_UNRANKED_MEMREF_DEFINED\n"
            "#define SHERRY_UNRANKED_MEMREF_DEFINED\n"
            "/* An unranked memref: its rank and a pointer to a ranked\n"
            "   descriptor of that rank. */\n"
            "typedef struct sherry_unranked_memref {\n"
            "  int64_t rank;\n"
            "  void *descriptor;\n"
            "} sherry_unranked_memref;\n"
            "#endif\n\n";
    }
    for (const std::string &text : structs)
      os << text;
  }

private:
  static std::string makeRankedStruct(StringRef name, StringRef element,
                                      int64_t rank) {
    std::string macro = name.upper() + "_DEFINED";
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "#ifndef " << macro << "\n#define " << macro << "\n";
    os << "/* A rank-" << rank << " memref of " << element << ": element ";
    if (rank == 0) {
      os << "aligned[offset]. */\n";
    } else {
      os << "(";
      for (int64_t i = 0; i < rank; ++i)
        os << (i ? ", " : "") << "i" << i;
      os << ") is\n   aligned[offset";
      for (int64_t i = 0; i < rank; ++i)
        os << " + i" << i << " * strides[" << i << "]";
      os << "]. */\n";
    }
    // Field declarations with their comments in one column.
    SmallVector<std::pair<std::string, StringRef>> fields = {
        {(element + " *allocated;").str(), "what free() takes"},
        {(element + " *aligned;").str(), "the data"},
        {"int64_t offset;", "in elements, from aligned"}};
    if (rank > 0) {
      fields.push_back(
          {llvm::formatv("int64_t sizes[{0}];", rank).str(), "the shape"});
      fields.push_back(
          {llvm::formatv("int64_t strides[{0}];", rank).str(), "in elements"});
    }
    size_t width = 0;
    for (const auto &field : fields)
      width = std::max(width, field.first.size());
    os << "typedef struct " << name << " {\n";
    for (const auto &field : fields)
      os << "  " << field.first
         << std::string(width - field.first.size() + 1, ' ') << "/* "
         << field.second << " */\n";
    os << "} " << name << ";\n#endif\n\n";
    return text;
  }

  llvm::StringSet<> seenStructs;
  std::vector<std::string> structs;
  bool needUnranked = false;
};

/// The comment that says where parameter `i` comes from.
std::string describeArgument(const ExportedFunction &function, unsigned i) {
  Type abi = function.abiType.getInput(i);
  std::string text = printToString([&](raw_ostream &os) { os << abi; });
  if (!function.sourceType || i >= function.sourceType.getNumInputs())
    return text;
  Type source = function.sourceType.getInput(i);
  DictionaryAttr attrs;
  if (function.sourceArgAttrs && i < function.sourceArgAttrs.size())
    attrs = dyn_cast<DictionaryAttr>(function.sourceArgAttrs[i]);
  if (source == abi && (!attrs || attrs.empty()))
    return text;
  text += printToString([&](raw_ostream &os) {
    os << " (from " << source;
    if (attrs && !attrs.empty())
      os << " " << attrs;
    os << ")";
  });
  return text;
}

std::string describeResult(const ExportedFunction &function, unsigned i) {
  Type abi = function.abiType.getResult(i);
  return printToString([&](raw_ostream &os) {
    os << abi;
    if (function.sourceType && i < function.sourceType.getNumResults() &&
        function.sourceType.getResult(i) != abi)
      os << " (from " << function.sourceType.getResult(i) << ")";
  });
}

llvm::Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string typeString(Type type) {
  return printToString([&](raw_ostream &os) { os << type; });
}

} // namespace

CWrapperShape mlir::sherry::compile::getCWrapperShape(FunctionType abiType) {
  CWrapperShape shape;
  shape.numParams = abiType.getNumInputs();
  if (abiType.getNumResults() == 0)
    return shape;
  if (abiType.getNumResults() == 1 &&
      !isa<BaseMemRefType>(abiType.getResult(0))) {
    shape.returnsVoid = false;
    return shape;
  }
  ++shape.numParams;
  return shape;
}

std::string mlir::sherry::compile::makeIncludeGuard(StringRef fileName) {
  std::string guard = "SHERRY_COMPILE_";
  StringRef base = llvm::sys::path::filename(fileName);
  if (base.empty() || base == "-")
    base = "header.h";
  for (char c : base)
    guard += llvm::isAlnum(c) ? llvm::toUpper(c) : '_';
  return guard;
}

std::string mlir::sherry::compile::makeHeaderPrefix(StringRef fileName) {
  StringRef base = llvm::sys::path::stem(fileName);
  if (base.empty() || base == "-")
    base = "header";
  std::string prefix;
  for (char c : base)
    prefix += llvm::isAlnum(c) ? llvm::toLower(c) : '_';
  if (llvm::isDigit(prefix.front()))
    prefix = "_" + prefix;
  return prefix;
}

/// `<prefix>_cpu_supported()`: whether the CPU running the program has
/// what the kernels need, asked of the compiler's CPU model (x86) or of
/// Linux's hardware capabilities (AArch64).
static void writeCpuCheck(raw_ostream &os, StringRef prefix,
                          const CpuRequirements &cpu) {
  os << "/* 1 where the CPU running this program has what the object's\n"
        " * kernels need (target="
     << cpu.target << ": "
     << (cpu.features.empty() ? std::string("nothing beyond ") +
                                    (cpu.x86 ? "x86-64" : "AArch64 NEON")
                              : llvm::join(cpu.features, ", "))
     << "), 0 where it lacks\n"
        " * them (calling in would end the program with SIGILL), -1 where "
        "this\n"
        " * header cannot tell (another architecture or OS). Call it once "
        "before\n"
        " * the first call. */\n"
     << "static inline int " << prefix << "_cpu_supported(void) {\n";
  if (cpu.x86) {
    os << "#if defined(__x86_64__) && (defined(__GNUC__) || "
          "defined(__clang__))\n";
    if (cpu.features.empty()) {
      os << "  return 1;\n";
    } else {
      os << "  __builtin_cpu_init();\n  return ";
      for (auto [i, feature] : llvm::enumerate(cpu.features))
        os << (i ? " &&\n         " : "") << "__builtin_cpu_supports(\""
           << feature << "\")";
      os << ";\n";
    }
  } else {
    os << "#if defined(__aarch64__) && defined(__linux__)\n";
    // Linux's AArch64 HWCAP bits: ASIMD (NEON) and ASIMDDP (dotprod).
    std::string mask = "(1ul << 1)";
    if (llvm::is_contained(cpu.features, "dotprod"))
      mask += " | (1ul << 20)";
    os << "  unsigned long need = " << mask << ";\n"
       << "  return (getauxval(AT_HWCAP) & need) == need;\n";
  }
  os << "#else\n  return -1;\n#endif\n}\n\n";
}

llvm::Error mlir::sherry::compile::writeCInterfaceHeader(
    raw_ostream &os, ArrayRef<ExportedFunction> functions, StringRef guard,
    StringRef source, StringRef prefix, const CpuRequirements &cpu) {
  HeaderBuilder builder;
  std::string decls;
  llvm::raw_string_ostream declOs(decls);

  for (const ExportedFunction &function : functions) {
    const std::string &name = function.name;
    if (!isCIdentifier(name))
      return makeError("function '@" + name +
                       "' is not a C identifier, so its C interface cannot "
                       "be declared; rename it");
    FunctionType type = function.abiType;
    unsigned numResults = type.getNumResults();
    auto typeError = [&](StringRef what, Type bad) {
      return makeError(what + " of '@" + name + "' has type " +
                       typeString(bad) +
                       ", which has no C equivalent in the header");
    };

    // The results: returned, or written through the first parameter.
    std::string returnType = "void ";
    std::string resultParam;
    std::string resultStruct;
    if (numResults == 1) {
      Type result = type.getResult(0);
      if (isa<BaseMemRefType>(result)) {
        FailureOr<std::string> storage = builder.getStorageType(result);
        if (failed(storage))
          return typeError("the result", result);
        resultParam = *storage + " *result";
      } else {
        FailureOr<std::string> scalar = builder.getArgumentType(result);
        if (failed(scalar))
          return typeError("the result", result);
        returnType = *scalar;
      }
    } else if (numResults > 1) {
      std::string structName = name + "_results";
      llvm::raw_string_ostream s(resultStruct);
      s << "/* The " << numResults << " results of @" << name << ". */\n";
      s << "typedef struct " << structName << " {\n";
      for (unsigned i = 0; i < numResults; ++i) {
        FailureOr<std::string> storage =
            builder.getStorageType(type.getResult(i));
        if (failed(storage))
          return typeError(llvm::formatv("result {0}", i).str(),
                           type.getResult(i));
        s << "  " << *storage << " r" << i << "; /* "
          << describeResult(function, i) << " */\n";
      }
      s << "} " << structName << ";\n\n";
      resultParam = structName + " *results";
    }

    SmallVector<std::string> params;
    if (!resultParam.empty())
      params.push_back(resultParam);
    for (unsigned i = 0, e = type.getNumInputs(); i < e; ++i) {
      FailureOr<std::string> arg = builder.getArgumentType(type.getInput(i));
      if (failed(arg))
        return typeError(llvm::formatv("argument {0}", i).str(),
                         type.getInput(i));
      params.push_back(*arg + "arg" + std::to_string(i));
    }

    // The comment: every parameter with the type it had in the input.
    declOs << resultStruct;
    declOs << "/* @" << name << "\n";
    if (numResults == 1 && !resultParam.empty())
      declOs << " *   result: " << describeResult(function, 0)
             << ", written by the call;\n"
                " *           free(result->allocated) when done with it\n";
    else if (numResults == 1)
      declOs << " *   returns " << describeResult(function, 0) << "\n";
    else if (numResults > 1)
      declOs << " *   results: written by the call; free the 'allocated' "
                "pointer of each memref in it\n";
    for (unsigned i = 0, e = type.getNumInputs(); i < e; ++i)
      declOs << " *   arg" << i << ": " << describeArgument(function, i)
             << "\n";
    declOs << " */\n";
    std::string head = returnType + "_mlir_ciface_" + name + "(";
    declOs << head;
    if (params.empty())
      declOs << "void";
    std::string indent(head.size(), ' ');
    for (auto [i, param] : llvm::enumerate(params))
      declOs << (i == 0 ? "" : ",\n" + indent) << param;
    declOs << ");\n\n";
  }

  os << "/* Generated by sherry-compile from " << source
     << ": do not edit.\n"
        " *\n"
        " * The C interface of the module's exported functions: each public\n"
        " * function @f is callable as _mlir_ciface_f, declared below (see\n"
        " * docs/aot.md).\n"
        " *  - A memref or tensor argument is passed as a pointer to a memref\n"
        " *    descriptor. A contiguous row-major buffer of shape\n"
        " *    (d0, ..., dn) is {buf, buf, 0, {d0, ..., dn},\n"
        " *    {d1*...*dn, ..., dn, 1}}. Sizes must match the static shape.\n"
        " *  - A tensor argument may be overwritten by the call (the\n"
        " *    accumulator of sherry.matmul is updated in place): pass a copy\n"
        " *    of data that must survive.\n"
        " *  - Scalars are passed and returned by value. A memref result, or\n"
        " *    several results, are written through the first parameter; the\n"
        " *    function allocated each returned buffer with malloc and the\n"
        " *    caller owns it: free(descriptor.allocated).\n"
        " *  - f16/bf16 elements appear as their uint16_t bit patterns and\n"
        " *    index as int64_t.\n"
        " *  - Link the object with -lm, and with the OpenMP runtime (libomp)\n"
        " *    when it was compiled with threads.\n"
        " *  - Before the first call, "
     << prefix
     << "_cpu_supported() says whether this CPU\n"
        " *    runs the kernels.\n"
        " *  - Dynamic sizes that must agree (the rows of x and of a\n"
        " *    sherry.matmul's accumulator, ...) are checked at run time; a\n"
        " *    failed check calls sherry_runtime_error, declared below.\n"
        " */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stdint.h>\n"
        "#ifndef __cplusplus\n#include <stdbool.h>\n#endif\n";
  if (!cpu.x86)
    os << "#if defined(__aarch64__) && defined(__linux__)\n"
          "#include <sys/auxv.h>\n#endif\n";
  os << "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  writeCpuCheck(os, prefix, cpu);
  os << "/* Called by the compiled code when a run-time check of dynamic "
        "sizes\n"
        " * fails: `format` is a printf format with two %lld, for `a` and "
        "`b`\n"
        " * (\"@mm: sherry.matmul at model.mlir:3:8: x (argument 0) has %lld "
        "rows\n"
        " * but the accumulator (argument 3) has %lld; ...\"). The op then "
        "computes\n"
        " * nothing (its accumulator comes back as it went in) and the call "
        "goes\n"
        " * on. The object defines it weakly, printing the message to "
        "stderr;\n"
        " * define it in your program to handle the error your way. */\n"
        "void sherry_runtime_error(const char *format, int64_t a, int64_t "
        "b);\n\n";
  builder.writeStructs(os);
  if (functions.empty())
    os << "/* The module exports no function with a C interface. */\n\n";
  os << decls;
  os << "#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n"
     << "#endif /* " << guard << " */\n";
  return llvm::Error::success();
}
