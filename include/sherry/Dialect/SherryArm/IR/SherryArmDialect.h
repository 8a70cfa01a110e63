//===- SherryArmDialect.h - AArch64 instructions of the kernels -*- C++ -*-===//

#ifndef SHERRY_DIALECT_SHERRYARM_IR_SHERRYARMDIALECT_H
#define SHERRY_DIALECT_SHERRYARM_IR_SHERRYARMDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/LLVMIR/LLVMInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "sherry/Dialect/SherryArm/IR/SherryArmDialect.h.inc"

#define GET_OP_CLASSES
#include "sherry/Dialect/SherryArm/IR/SherryArm.h.inc"

#endif // SHERRY_DIALECT_SHERRYARM_IR_SHERRYARMDIALECT_H
