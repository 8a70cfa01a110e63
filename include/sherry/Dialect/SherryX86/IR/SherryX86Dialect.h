//===- SherryX86Dialect.h - x86 instructions the kernels use ----*- C++ -*-===//

#ifndef SHERRY_DIALECT_SHERRYX86_IR_SHERRYX86DIALECT_H
#define SHERRY_DIALECT_SHERRYX86_IR_SHERRYX86DIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/LLVMIR/LLVMInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.h.inc"

#define GET_OP_CLASSES
#include "sherry/Dialect/SherryX86/IR/SherryX86.h.inc"

#endif // SHERRY_DIALECT_SHERRYX86_IR_SHERRYX86DIALECT_H
