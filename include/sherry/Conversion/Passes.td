//===- Passes.td - sherry conversion passes ----------------*- tablegen -*-===//

#ifndef SHERRY_CONVERSION_PASSES_TD
#define SHERRY_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSherryToLinalg : Pass<"convert-sherry-to-linalg"> {
  let summary = "Lower sherry ops on tensors to portable linalg";
  let description = [{
    The portable reference lowering: upstream linalg, arith, math and tensor
    ops only, so it runs on every LLVM target and bufferizes with upstream
    one-shot bufferization. It is what the target-specific kernels are
    tested against, and it is slow (it materializes decoded weights).

    - `sherry.unpack` / `sherry.dequantize`: a `linalg.generic` that decodes
      each element: its group's slot nibble and sign bit (per the layout),
      the codebook entry of the 5-bit code, its 2-bit lane and, for
      `dequantize`, its scale.
    - `sherry.quantize_activations`: absmax reduction per row or block, then
      `q = clamp(roundeven(x * (127 / absmax)))`.
    - `sherry.matmul` (tensor form): exact mode contracts dequantized f32
      weights; int8 mode sums int8 products per scale segment in i32 and
      combines the segments in f32 in increasing K order, bit-exact with the
      format library's `matmulInt8`. Then `(init + y) + bias` in f32,
      rounded once into the accumulator's type.

    The memref form of `sherry.matmul` and `ternarize`/`pack` on
    non-constant operands are not lowered here.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // SHERRY_CONVERSION_PASSES_TD
