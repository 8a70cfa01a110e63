#!/usr/bin/env python3
"""Writes a self-checking program for sherry.ternarize and sherry.pack on
weights that are not constants.

@tp ternarizes and packs its argument at run time (convert-sherry-to-linalg);
@main does the same on a constant, which folds through the format library,
calls @tp on it and prints how many ternary values, scales and packed bytes
differ: none, to the bit.

Usage: pack_case.py OUT.mlir --layout L [--m M] [--k K] [--type f32|f16|bf16]
"""
import argparse

import numpy as np

from cases import count_fn, geometry, resources

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--layout", default="<sherry, row>")
p.add_argument("--m", type=int, default=7)
p.add_argument("--k", type=int, default=256)
p.add_argument("--type", default="f32", choices=["f32", "f16", "bf16"])
p.add_argument("--seed", type=int, default=3)
a = p.parse_args()

m, k = a.m, a.k
stq = "stq1_0" in a.layout
row_bytes, scales_shape, stype = geometry(a.layout, m, k)
S = f"tensor<{'x'.join(map(str, scales_shape))}x{stype}>"
S2 = scales_shape if len(scales_shape) == 2 else [scales_shape[0], 1]
S2T = f"tensor<{S2[0]}x{S2[1]}x{stype}>"
W = f"tensor<{m}x{k}x{a.type}>"
T, P = f"tensor<{m}x{k}xi8>", f"tensor<{m}x{row_bytes}xi8>"
L = f"layout{a.layout}"
pack_scales = f" scales(%s : {S})" if stq else ""

rng = np.random.default_rng(a.seed)
w = rng.normal(0, 1, size=(m, k)).astype(np.float32)
w[0, :8] = [0.0, -0.0, 0.5, -0.5, 1.0, 1.0, 1.0, 1.0]  # ties, signed zeros
w[1 % m, 4:8] = 0.0  # a group of zeros: lane 0 is the zero, +1 elsewhere

expand = ("" if len(scales_shape) == 2 else
          f"tensor.expand_shape %{{v}} [[0, 1]] output_shape [{S2[0]}, 1] "
          f": {S} into {S2T}")


def to2d(name):
    if not expand:
        return f"%{name}"
    return expand.replace("{v}", name)


cmp_int = "%bad = arith.cmpi ne, %x, %y : i8"
cmp_float = f"%bad = arith.cmpf une, %x, %y : {stype}"
if a.type == "f32":
    weights = "dense_resource<weights>"
else:
    # Narrow types as raw little-endian bits (round to nearest even).
    if a.type == "f16":
        bits = w.astype(np.float16).view(np.uint16)
    else:
        u = w.view(np.uint32).astype(np.uint64)
        bits = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    weights = f'dense<"0x{bits.astype("<u2").tobytes().hex().upper()}">'
wname = "%wf"
program = f"""
func.func @tp(%w: {W}) -> ({T}, {S}, {P}) {{
  %t, %s = sherry.ternarize %w {L} : {W} -> {T}, {S}
  %p = sherry.pack %t{pack_scales} {L} : {T} -> {P}
  return %t, %s, %p : {T}, {S}, {P}
}}
""" + count_fn("count_int", T, "i8", cmp_int) + count_fn(
    "count_bytes", P, "i8", cmp_int) + count_fn(
    "count_scales", S2T, stype, cmp_float) + f"""
func.func @main() {{
  %wf = arith.constant {weights} : {W}
  %t, %s = sherry.ternarize {wname} {L} : {W} -> {T}, {S}
  %p = sherry.pack %t{pack_scales} {L} : {T} -> {P}
  %rt:3 = func.call @tp({wname}) : ({W}) -> ({T}, {S}, {P})
  %bt = func.call @count_int(%t, %rt#0) : ({T}, {T}) -> i32
  %s2 = {to2d("s") if expand else "%s"}
  %rs2 = {to2d("rt#1") if expand else "%rt#1"}
  %bs = func.call @count_scales(%s2, %rs2) : ({S2T}, {S2T}) -> i32
  %bp = func.call @count_bytes(%p, %rt#2) : ({P}, {P}) -> i32
  vector.print str "ternary mismatches: "
  vector.print %bt : i32
  vector.print str "scale mismatches: "
  vector.print %bs : i32
  vector.print str "byte mismatches: "
  vector.print %bp : i32
  return
}}
"""
if not expand:
    program = program.replace("  %s2 = %s\n", "").replace(
        "  %rs2 = %rt#1\n", "").replace("@count_scales(%s2, %rs2)",
                                        "@count_scales(%s, %rt#1)")
with open(a.out, "w") as f:
    f.write(program + (resources({"weights": w}) if a.type == "f32" else ""))
