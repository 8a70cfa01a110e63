//===- RuntimeErrors.cpp - Reporting failed run-time checks ---------------===//

#include "sherry/Dialect/Sherry/Utils/RuntimeErrors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::sherry;

static FunctionType runtimeErrorType(MLIRContext *ctx) {
  auto i64 = IntegerType::get(ctx, 64);
  return FunctionType::get(ctx, {LLVM::LLVMPointerType::get(ctx), i64, i64},
                           {});
}

FailureOr<func::FuncOp>
mlir::sherry::getOrDeclareRuntimeErrorFunction(ModuleOp module) {
  FunctionType type = runtimeErrorType(module.getContext());
  if (Operation *existing =
          SymbolTable::lookupSymbolIn(module, kRuntimeErrorFunctionName)) {
    auto func = dyn_cast<func::FuncOp>(existing);
    if (!func || func.getFunctionType() != type) {
      existing->emitError()
          << "'" << kRuntimeErrorFunctionName
          << "' is what compiled code calls when a run-time check fails; "
             "it must be a func.func of type "
          << type;
      return failure();
    }
    return func;
  }
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto func = func::FuncOp::create(b, module.getLoc(),
                                   kRuntimeErrorFunctionName, type);
  func.setPrivate();
  return func;
}

/// A NUL-terminated constant holding `text`, under a name of its own.
static Value globalString(OpBuilder &b, Location loc, StringRef text) {
  auto module = b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
  if (!module)
    module = cast<ModuleOp>(b.getInsertionBlock()->getParentOp());
  std::string name;
  for (int64_t i = 0;; ++i) {
    name = "__sherry_runtime_error_" + std::to_string(i);
    if (!SymbolTable::lookupSymbolIn(module, name))
      break;
  }
  return LLVM::createGlobalString(loc, b, name, (text + Twine('\0')).str(),
                                  LLVM::Linkage::Internal);
}

void mlir::sherry::defineWeakRuntimeErrorFunction(func::FuncOp handler) {
  if (!handler.isExternal())
    return;
  MLIRContext *ctx = handler.getContext();
  Location loc = handler.getLoc();
  handler.setPublic();
  handler->setAttr("llvm.linkage",
                   LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Weak));
  auto module = handler->getParentOfType<ModuleOp>();
  auto i32 = IntegerType::get(ctx, 32);
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto dprintfType = LLVM::LLVMFunctionType::get(i32, {i32, ptr},
                                                 /*isVarArg=*/true);
  if (!SymbolTable::lookupSymbolIn(module, "dprintf")) {
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    LLVM::LLVMFuncOp::create(b, loc, "dprintf", dprintfType);
  }
  Block *body = handler.addEntryBlock();
  OpBuilder b = OpBuilder::atBlockBegin(body);
  Value stderrFd = arith::ConstantIntOp::create(b, loc, i32, 2);
  auto print = [&](ValueRange args) {
    LLVM::CallOp::create(b, loc, dprintfType, "dprintf", args);
  };
  print({stderrFd, globalString(b, loc, "sherry: run-time check failed: ")});
  print({stderrFd, body->getArgument(0), body->getArgument(1),
         body->getArgument(2)});
  print({stderrFd, globalString(b, loc, "\n")});
  func::ReturnOp::create(b, loc);
}

void mlir::sherry::emitRuntimeErrorIf(OpBuilder &b, Location loc,
                                      func::FuncOp handler, Value failed,
                                      StringRef format, Value first,
                                      Value second) {
  auto ifOp = scf::IfOp::create(b, loc, failed, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  auto toI64 = [&](Value v) -> Value {
    auto i64 = b.getI64Type();
    if (v.getType().isIndex())
      return arith::IndexCastOp::create(b, loc, i64, v);
    if (v.getType().getIntOrFloatBitWidth() < 64)
      return arith::ExtSIOp::create(b, loc, i64, v);
    return v;
  };
  func::CallOp::create(
      b, loc, handler,
      ValueRange{globalString(b, loc, format), toI64(first), toI64(second)});
}

std::string mlir::sherry::describeForRuntimeError(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (auto func = op->getParentOfType<FunctionOpInterface>())
    os << "@" << func.getName() << ": ";
  os << op->getName() << " at ";
  if (auto fileLoc = dyn_cast<FileLineColLoc>(op->getLoc()))
    os << fileLoc.getFilename().getValue() << ":" << fileLoc.getLine() << ":"
       << fileLoc.getColumn();
  else
    os << op->getLoc();
  os << ": ";
  std::string escaped;
  for (char ch : text) {
    escaped += ch;
    if (ch == '%')
      escaped += '%';
  }
  return escaped;
}
