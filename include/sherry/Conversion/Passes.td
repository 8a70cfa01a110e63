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

def ConvertSherryToVector : Pass<"convert-sherry-to-vector"> {
  let summary = "Lower sherry.matmul on tensors to a vector micro-kernel";
  let description = [{
    The portable fast path: `sherry.matmul` (tensor form) becomes a loop
    over output rows whose body decodes 32 or 64 packed weights at a time
    straight into a vector of ternary lanes and multiply-accumulates it with
    activation vectors, with no decoded weights in memory. Upstream vector,
    arith, scf and tensor ops only, so it is correct on every LLVM target.

    - Scale segments (the whole row, a scale group, or an `stq1_0` block)
      are summed one after another; chunks never cross a segment.
    - int8 mode quantizes the activations with `sherry.quantize_activations`
      (per row), multiplies in i8 (exact: |x| <= 127, w in {-1, 0, 1}),
      accumulates lanes in i16 while a segment cannot overflow it (i32
      otherwise), and combines segments in f32 exactly as the format
      library's `matmulInt8` does: the result is bit-exact.
    - exact mode accumulates `x * t` in f32 lanes and scales each segment
      sum once.
    - `stq1_0` activations are reordered once per call (inside each 64
      elements, `16p + l` to `4l + p`) so that decoded groups meet them lane
      by lane.
    - `batch-block` activation rows share each decoded chunk.

    Scale groups that are not a multiple of 32 elements are left to
    `convert-sherry-to-linalg`.
  }];
  let options = [
    Option<"batchBlock", "batch-block", "int64_t", "4",
           "Activation rows that share each decoded weight chunk">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // SHERRY_CONVERSION_PASSES_TD
