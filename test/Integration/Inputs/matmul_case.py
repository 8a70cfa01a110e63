#!/usr/bin/env python3
"""Writes a self-checking MLIR program for the portable sherry.matmul.

@main packs seeded weights at compile time, computes sherry.matmul once on
constants (folded through the format library's reference matmul) and once by
calling @mm, whose operands are arguments, so the op is lowered by
convert-sherry-to-linalg and run. It prints how many results differ: in int8
mode any difference at all, in exact mode more than 1e-4 * (1 + |y|) (the
reference sums in double, the kernel in f32). Row 0 of the activations is
constant, so every int8 activation of that row is 127: sums far past int16.

Usage: matmul_case.py OUT.mlir --layout L --mode exact|int8 [--n N]
                      [--m M] [--k K] [--bias] [--x-scale S]
                      [--const-weights]
"""
import argparse

import numpy as np

from cases import count_fn, geometry, resources

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--layout", default="<sherry, row>")
p.add_argument("--mode", default="int8")
p.add_argument("--n", type=int, default=3)
p.add_argument("--m", type=int, default=7)
p.add_argument("--k", type=int, default=256)
p.add_argument("--bias", action="store_true")
p.add_argument("--seed", type=int, default=5)
p.add_argument("--x-scale", type=float, default=1.0,
               help="multiplies the activations (large floats)")
p.add_argument("--const-weights", action="store_true",
               help="@mm packs the weights itself: a constant to the kernel")
a = p.parse_args()

n, m, k = a.n, a.m, a.k
stq = "stq1_0" in a.layout
row_bytes, scales_shape, stype = geometry(a.layout, m, k)
S = f"tensor<{'x'.join(map(str, scales_shape))}x{stype}>"
P, T = f"tensor<{m}x{row_bytes}xi8>", f"tensor<{m}x{k}xi8>"
X, Y, B = f"tensor<{n}x{k}xf32>", f"tensor<{n}x{m}xf32>", f"tensor<{m}xf32>"
L = f"layout{a.layout}"
mode = f" mode<{a.mode}>"
mm_scales = "" if stq else f" scales(%s : {S})"
pack_scales = f" scales(%s : {S})" if stq else ""
bias = f" bias(%b : {B})" if a.bias else ""

rng = np.random.default_rng(a.seed)
w = rng.normal(0, 1, size=(m, k)).astype(np.float32)
x = rng.normal(0, 1, size=(n, k)).astype(np.float32)
x[0, :] = 3.0  # all +127 after quantization
if n > 2:
    x[2, 5] = 40.0  # an outlier squeezes the rest of the row
x *= np.float32(a.x_scale)
init = rng.normal(0, 1, size=(n, m)).astype(np.float32)
bvals = rng.normal(0, 1, size=(m,)).astype(np.float32)


if a.mode == "int8":
    cmp = "%bad = arith.cmpf une, %x, %y : f32"
else:
    cmp = """%d = arith.subf %x, %y : f32
      %ad = math.absf %d : f32
      %au = math.absf %x : f32
      %one_f = arith.constant 1.0 : f32
      %tol_s = arith.constant 1.0e-4 : f32
      %mag = arith.addf %one_f, %au : f32
      %tol = arith.mulf %tol_s, %mag : f32
      %bad = arith.cmpf ugt, %ad, %tol : f32"""

if a.const_weights:
    # The packed weights (and scales) are constants inside @mm; %p and %s
    # stay as arguments, unused, so that @main reads the same either way.
    mm_body = f"""
  %w = arith.constant dense_resource<weights> : tensor<{m}x{k}xf32>
  %t, %s2 = sherry.ternarize %w {L} : tensor<{m}x{k}xf32> -> {T}, {S}
  %p2 = sherry.pack %t{pack_scales.replace("%s", "%s2")} {L} : {T} -> {P}
  %y = sherry.matmul ins(%x, %p2 : {X}, {P}){mm_scales.replace("%s", "%s2")}{bias}
         outs(%i : {Y}) {L}{mode} -> {Y}"""
else:
    mm_body = f"""
  %y = sherry.matmul ins(%x, %p : {X}, {P}){mm_scales}{bias}
         outs(%i : {Y}) {L}{mode} -> {Y}"""

program = f"""
func.func @mm(%x: {X}, %p: {P}, %s: {S}, %b: {B}, %i: {Y}) -> {Y} {{{mm_body}
  return %y : {Y}
}}

""" + count_fn("count_bad", Y, "f32", cmp) + f"""
func.func @main() {{
  %w = arith.constant dense_resource<weights> : tensor<{m}x{k}xf32>
  %x = arith.constant dense_resource<acts> : {X}
  %b = arith.constant dense_resource<bias> : {B}
  %i = arith.constant dense_resource<init> : {Y}
  %t, %s = sherry.ternarize %w {L} : tensor<{m}x{k}xf32> -> {T}, {S}
  %p = sherry.pack %t{pack_scales} {L} : {T} -> {P}
  %folded = sherry.matmul ins(%x, %p : {X}, {P}){mm_scales}{bias}
              outs(%i : {Y}) {L}{mode} -> {Y}
  %run = func.call @mm(%x, %p, %s, %b, %i) : ({X}, {P}, {S}, {B}, {Y}) -> {Y}
  %bad = func.call @count_bad(%folded, %run) : ({Y}, {Y}) -> i32
  vector.print str "matmul mismatches: "
  vector.print %bad : i32
  return
}}

"""
with open(a.out, "w") as f:
    f.write(program + resources(
        {"weights": w, "acts": x, "bias": bvals, "init": init}))
