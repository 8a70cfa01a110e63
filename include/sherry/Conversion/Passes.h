//===- Passes.h - sherry conversion passes ----------------------*- C++ -*-===//

#ifndef SHERRY_CONVERSION_PASSES_H
#define SHERRY_CONVERSION_PASSES_H

#include "sherry/Conversion/IntrinsicsToLLVM/IntrinsicsToLLVM.h"
#include "sherry/Conversion/KernelOptions.h"
#include "sherry/Conversion/SherryToLinalg/SherryToLinalg.h"
#include "sherry/Conversion/SherryToNeon/SherryToNeon.h"
#include "sherry/Conversion/SherryToVector/SherryToVector.h"
#include "sherry/Conversion/SherryToX86/SherryToX86.h"
#include "sherry/Dialect/SherryArm/IR/SherryArmDialect.h"
#include "sherry/Dialect/SherryX86/IR/SherryX86Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::sherry {

#define GEN_PASS_DECL
#include "sherry/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sherry/Conversion/Passes.h.inc"

} // namespace mlir::sherry

#endif // SHERRY_CONVERSION_PASSES_H
