//===- Passes.td - sherry conversion passes ----------------*- tablegen -*-===//

#ifndef SHERRY_CONVERSION_PASSES_TD
#define SHERRY_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSherryToLinalg : Pass<"convert-sherry-to-linalg"> {
  let summary = "Lower sherry weight decoding to linalg on tensors";
  let description = [{
    Rewrites `sherry.unpack` and `sherry.dequantize` into `linalg.generic`
    ops that decode the packed bytes with upstream arith and tensor ops
    only: each output element finds its group's slot nibble and sign bit
    (per the layout), looks the 5-bit code up in the codebook, extracts its
    2-bit lane and, for `dequantize`, multiplies by its scale. The result is
    portable to every LLVM target and bufferizes with upstream one-shot
    bufferization. Bit-for-bit it equals what the ops fold to through the
    format library.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // SHERRY_CONVERSION_PASSES_TD
