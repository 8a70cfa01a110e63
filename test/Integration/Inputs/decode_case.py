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

from cases import count_fn, geometry, resources

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
row_bytes, scales_shape, stype = geometry(a.layout, m, k)
S = f"tensor<{'x'.join(map(str, scales_shape))}x{stype}>"
P = f"tensor<{m}x{row_bytes}xi8>"
T = f"tensor<{m}x{k}xi8>"
R = f"tensor<{m}x{k}x{a.result}>"
L = f"layout{a.layout}"
scales_in = f" scales(%s : {S})" if stq else ""
deq_scales = "" if stq else f" scales(%s : {S})"

w = np.random.default_rng(a.seed).normal(0, 1, size=(m, k)).astype(np.float32)
program = f"""
func.func @decode(%p: {P}, %s: {S}) -> ({R}, {T}) {{
  %w = sherry.dequantize %p{deq_scales} {L} : {P} -> {R}
  %t = sherry.unpack %p {L} : {P} -> {T}
  return %w, %t : {R}, {T}
}}

""" + count_fn("count_ne_f", R, a.result,
               f"%bad = arith.cmpf une, %x, %y : {a.result}") + count_fn(
    "count_ne_i", T, "i8", "%bad = arith.cmpi ne, %x, %y : i8") + f"""
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
    f.write(program + resources({"weights": w}))
