#!/usr/bin/env python3
"""Writes a self-checking MLIR program for the decoding lowering.

@main packs seeded weights at compile time (sherry.ternarize + sherry.pack
fold through the format library), then decodes them twice: once through
sherry.dequantize / sherry.unpack on constants, which fold through the format
library, and once by calling @decode, whose ops take arguments, so they are
lowered by convert-sherry-to-linalg and run. It prints how many elements
differ between the two: 0 means the lowering is bit-exact.

Usage: decode_case.py OUT.mlir --layout L [--rows M] [--cols K]
                      [--scale-type f32|f16] [--result f32|f16]
"""
import argparse

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--layout", default="<sherry, row>")
p.add_argument("--rows", type=int, default=7)
p.add_argument("--cols", type=int, default=256)
p.add_argument("--result", default="f32")
p.add_argument("--seed", type=int, default=3)
a = p.parse_args()

m, k = a.rows, a.cols
stq = "stq1_0" in a.layout
row_bytes = k // 256 * 42 if stq else k // 8 + k // 32
if stq:
    scales_shape, stype = [m, k // 256], "f16"
else:
    stype = "f16" if "scale_type = f16" in a.layout else "f32"
    if "tensor" in a.layout:
        scales_shape = [1]
    elif "group" in a.layout:
        g = int(a.layout.split("group =")[1].split(",")[0].split(">")[0])
        scales_shape = [m, k // g]
    else:
        scales_shape = [m]
S = f"tensor<{'x'.join(map(str, scales_shape))}x{stype}>"
P = f"tensor<{m}x{row_bytes}xi8>"
T = f"tensor<{m}x{k}xi8>"
R = f"tensor<{m}x{k}x{a.result}>"
L = f"layout{a.layout}"
scales_in = f" scales(%s : {S})" if stq else ""
deq_scales = "" if stq else f" scales(%s : {S})"

w = np.random.default_rng(a.seed).normal(0, 1, size=(m, k)).astype(np.float32)
blob = "0x04000000" + w.astype("<f4").tobytes().hex()
program = f"""
func.func @decode(%p: {P}, %s: {S}) -> ({R}, {T}) {{
  %w = sherry.dequantize %p{deq_scales} {L} : {P} -> {R}
  %t = sherry.unpack %p {L} : {P} -> {T}
  return %w, %t : {R}, {T}
}}

func.func @count_ne_f(%a: {R}, %b: {R}) -> i32 {{
  %zero = arith.constant dense<0> : tensor<i32>
  %n = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> ()>],
                       iterator_types = ["reduction", "reduction"]}}
      ins(%a, %b : {R}, {R}) outs(%zero : tensor<i32>) {{
    ^bb0(%x: {a.result}, %y: {a.result}, %acc: i32):
      %ne = arith.cmpf une, %x, %y : {a.result}
      %one = arith.extui %ne : i1 to i32
      %sum = arith.addi %acc, %one : i32
      linalg.yield %sum : i32
  }} -> tensor<i32>
  %r = tensor.extract %n[] : tensor<i32>
  return %r : i32
}}

func.func @count_ne_i(%a: {T}, %b: {T}) -> i32 {{
  %zero = arith.constant dense<0> : tensor<i32>
  %n = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> ()>],
                       iterator_types = ["reduction", "reduction"]}}
      ins(%a, %b : {T}, {T}) outs(%zero : tensor<i32>) {{
    ^bb0(%x: i8, %y: i8, %acc: i32):
      %ne = arith.cmpi ne, %x, %y : i8
      %one = arith.extui %ne : i1 to i32
      %sum = arith.addi %acc, %one : i32
      linalg.yield %sum : i32
  }} -> tensor<i32>
  %r = tensor.extract %n[] : tensor<i32>
  return %r : i32
}}

func.func @main() {{
  %w = arith.constant dense_resource<weights> : tensor<{m}x{k}xf32>
  %t, %s = sherry.ternarize %w {L} : tensor<{m}x{k}xf32> -> {T}, {S}
  %p = sherry.pack %t{scales_in} {L} : {T} -> {P}
  %folded_w = sherry.dequantize %p{deq_scales} {L} : {P} -> {R}
  %folded_t = sherry.unpack %p {L} : {P} -> {T}
  %run_w, %run_t = func.call @decode(%p, %s) : ({P}, {S}) -> ({R}, {T})
  %bad_w = func.call @count_ne_f(%folded_w, %run_w) : ({R}, {R}) -> i32
  %bad_t = func.call @count_ne_i(%folded_t, %run_t) : ({T}, {T}) -> i32
  %nz = func.call @count_ne_i(%run_t, %zeros) : ({T}, {T}) -> i32
  vector.print str "dequantize mismatches: "
  vector.print %bad_w : i32
  vector.print str "unpack mismatches: "
  vector.print %bad_t : i32
  vector.print str "nonzero values: "
  vector.print %nz : i32
  return
}}
"""
program = program.replace(
    "  %nz = func.call",
    f"  %zeros = arith.constant dense<0> : {T}\n  %nz = func.call")
with open(a.out, "w") as f:
    f.write(program)
    f.write("\n{-#\n  dialect_resources: {\n    builtin: {\n")
    f.write(f'      weights: "{blob}"\n    }}\n  }}\n#-}}\n')
