//===- OutlineKernelLoops.cpp - One function per distinct kernel loop -----===//
//
// A kernel's hot loop nest, inlined into every matmul, is a copy of the same
// machine code per matmul; when the weights stream through the caches, each
// copy is evicted before its next call. Outlined with the shapes that M and
// N decide made dynamic, the loops of matmuls that differ only in their
// operands have equal bodies, and a name hashed from the body gives them
// one function: one copy that the calls keep warm.
//
//===----------------------------------------------------------------------===//

#include "sherry/Transforms/Passes.h"

#include "sherry/Dialect/Sherry/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMAttrs.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/xxhash.h"

namespace mlir::sherry {
#define GEN_PASS_DEF_SHERRYOUTLINEKERNELLOOPS
#include "sherry/Transforms/Passes.h.inc"
} // namespace mlir::sherry

using namespace mlir;
using namespace mlir::sherry;

namespace {

/// `type` with dynamic sizes and offset, and a dynamic outermost stride
/// where there are inner ones, which stay as they are: loops that differ in
/// their shapes (M, N) take the same type, while address arithmetic along
/// the inner dimensions, which only K decides, stays static, and a unit
/// innermost stride keeps vector accesses plain loads.
MemRefType generalize(MemRefType type) {
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  auto [strides, offset] = type.getStridesAndOffset();
  if (rank > 1)
    strides.front() = ShapedType::kDynamic;
  auto layout =
      StridedLayoutAttr::get(type.getContext(), ShapedType::kDynamic, strides);
  return MemRefType::get(shape, type.getElementType(), layout,
                         type.getMemorySpace());
}

bool hasTensors(Operation *root) {
  WalkResult result = root->walk([](Operation *op) {
    auto isTensor = [](Type type) { return isa<TensorType>(type); };
    if (llvm::any_of(op->getOperandTypes(), isTensor) ||
        llvm::any_of(op->getResultTypes(), isTensor))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return result.wasInterrupted();
}

bool isClonableConstant(Value value) {
  Operation *def = value.getDefiningOp();
  return def && def->getNumOperands() == 0 && def->getNumRegions() == 0 &&
         def->hasTrait<OpTrait::ConstantLike>();
}

/// How outlined functions are named and linked.
struct OutlineOptions {
  /// Folded into every name's hash.
  StringRef key;
  /// linkonce_odr instead of internal linkage.
  bool linkOnce;
};

/// `function`'s name from a hash of its body, its type and `key`: equal
/// loops get equal names, in this module and in any other.
std::string contentName(func::FuncOp function, StringRef key) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << key << '\n';
  function.print(os, OpPrintingFlags().printGenericOpForm().assumeVerified());
  std::string name;
  llvm::raw_string_ostream(name)
      << "__sherry_kernel_loop_"
      << llvm::format_hex_no_prefix(llvm::xxh3_64bits(text), 16);
  return name;
}

/// Replaces `loop` by a call of a private function that runs it on its
/// captured values (memrefs generalized), created unless the module has it
/// already, or fails, changing nothing.
LogicalResult outlineLoop(scf::ForOp loop, SymbolTable &symbols,
                          func::FuncOp parent, const OutlineOptions &options) {
  // Buffers only, and every iter_arg passed through unchanged: the loop's
  // results are then its inits, and the function returns nothing.
  if (hasTensors(loop))
    return failure();
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  for (auto [arg, yielded] :
       llvm::zip_equal(loop.getRegionIterArgs(), yield.getOperands()))
    if (yielded != arg || !isa<MemRefType>(arg.getType()))
      return failure();

  // The loop's upper bound comes first and is an argument even where it is
  // a constant, so that loops over one activation row and over N share a
  // function; other constants are cloned in, everything else captured is an
  // argument.
  Value upperBound = loop.getUpperBound();
  llvm::SetVector<Value> captures;
  for (Value operand : loop->getOperands())
    captures.insert(operand);
  getUsedValuesDefinedAbove(loop.getRegion(), captures);
  SmallVector<Value> arguments{upperBound};
  for (Value value : captures)
    if (value != upperBound && !isClonableConstant(value))
      arguments.push_back(value);
  SmallVector<Type> argumentTypes;
  for (Value value : arguments) {
    Type type = value.getType();
    if (auto memref = dyn_cast<MemRefType>(type)) {
      // memref.cast takes a strided layout to a more dynamic one only.
      if (!memref.isStrided())
        return failure();
      type = generalize(memref);
    }
    argumentTypes.push_back(type);
  }

  Location loc = loop.getLoc();
  MLIRContext *ctx = loop.getContext();
  auto function = func::FuncOp::create(
      loc, "__sherry_kernel_loop", FunctionType::get(ctx, argumentTypes, {}));
  function.setPrivate();
  Block *entry = function.addEntryBlock();
  OpBuilder builder = OpBuilder::atBlockEnd(entry);
  IRMapping mapping;
  for (Value value : captures)
    if (isClonableConstant(value))
      mapping.map(value,
                  builder.clone(*value.getDefiningOp())
                      ->getResult(cast<OpResult>(value).getResultNumber()));
  for (auto [value, argument] :
       llvm::zip_equal(arguments, entry->getArguments()))
    if (!isClonableConstant(value))
      mapping.map(value, argument);
  auto clone = cast<scf::ForOp>(builder.clone(*loop, mapping));
  clone.getUpperBoundMutable().assign(entry->getArgument(0));
  clone->removeAttr(kOutlineAttrName);
  for (auto [init, arg, result] :
       llvm::zip_equal(clone.getInitArgs(), clone.getRegionIterArgs(),
                       clone.getResults())) {
    arg.setType(init.getType());
    result.setType(init.getType());
  }
  func::ReturnOp::create(builder, loc);

  // The body on generalized types may not verify (an op whose result type
  // follows a static operand shape): keep such a loop inline.
  {
    ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
    if (failed(verify(function))) {
      function.erase();
      return failure();
    }
  }
  // Hashed before it gets its linkage, so that the name does not depend on
  // it.
  std::string name = contentName(function, options.key);
  if (auto existing = symbols.lookup<func::FuncOp>(name)) {
    function.erase();
    function = existing;
  } else {
    function.setName(name);
    // The attribute func-to-llvm gives llvm.func's linkage from.
    function->setAttr("llvm.linkage",
                      LLVM::LinkageAttr::get(
                          ctx, options.linkOnce ? LLVM::Linkage::LinkonceODR
                                                : LLVM::Linkage::Internal));
    symbols.insert(function, std::next(Block::iterator(parent)));
  }

  OpBuilder callBuilder(loop);
  SmallVector<Value> operands;
  for (auto [value, type] : llvm::zip_equal(arguments, argumentTypes))
    operands.push_back(
        value.getType() == type
            ? value
            : memref::CastOp::create(callBuilder, loc, type, value)
                  .getResult());
  func::CallOp::create(callBuilder, loc, function, operands);
  loop.replaceAllUsesWith(loop.getInitArgs());
  loop.erase();
  return success();
}

struct SherryOutlineKernelLoopsPass
    : public mlir::sherry::impl::SherryOutlineKernelLoopsBase<
          SherryOutlineKernelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<std::pair<scf::ForOp, func::FuncOp>> marked;
    // The outermost marked loops: one inside another goes with it.
    for (auto function : module.getOps<func::FuncOp>())
      function.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
        if (!loop->hasAttr(kOutlineAttrName))
          return WalkResult::advance();
        marked.push_back({loop, function});
        return WalkResult::skip();
      });
    for (auto [loop, parent] : marked) {
      loop->removeAttr(kOutlineAttrName);
      (void)outlineLoop(loop, symbols, parent, {key, linkOnce});
    }
  }
};

} // namespace
