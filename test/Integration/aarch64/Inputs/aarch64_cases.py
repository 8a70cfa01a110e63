#!/usr/bin/env python3
"""Writes the sherry.matmul cases of the cross-compiled AArch64 tests.

Two files for a list of cases: OUT.mlir, a module with one function
@case<i>(x, packed weights, [scales], [bias], acc) -> y per case (operands
are arguments, so the kernel runs on run-time data; sherry-compile makes an
object of it), and OUT.inc, for checker.cpp: per case a call through the
C interface of the generated header (docs/aot.md) and a row of the case
table (layout, scales, mode, shape, bias, activation scale), from which the
checker makes seeded weights and activations and computes the format
library's reference.

Usage: aarch64_cases.py OUT [--set all|small] [--flip-mode I]
  all:   every case below (the portable and NEON kernels);
  small: the cases of at most 2^22 multiply-adds (slow variants).
  --flip-mode I: case I's function computes in the other mode than its
  table row says (int8 for exact and back): the checker must catch it.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, os.pardir, "Inputs"))
from cases import cpp_case_runner, geometry, scale_spec  # noqa: E402

# (layout, mode, N, M, K, bias, x scale): every granularity and both
# layouts, both modes, N in {1, 3, 10, 128}, M in {1, 7, 64, 2048}, K in
# {32, 96, 256, 2048} where the layout takes it (stq1_0: K % 256 == 0),
# large activations (an int8 scale far from 1, f32 sums near 1e9); N = 10
# takes the NEON sdot kernel's panel with a block of activation rows left.
CASES = [
    ("<sherry, row>", "int8", 1, 1, 32, False, 1.0),
    ("<sherry, row>", "int8", 3, 7, 96, True, 1.0),
    ("<sherry, row>", "exact", 3, 7, 96, True, 1.0),
    ("<sherry, row>", "exact", 1, 1, 32, False, 1.0),
    ("<sherry, tensor>", "int8", 3, 64, 256, False, 1.0),
    ("<sherry, tensor>", "exact", 3, 7, 32, True, 1.0),
    ("<sherry, group = 32>", "int8", 3, 7, 256, True, 1.0),
    ("<sherry, group = 64>", "exact", 3, 7, 256, True, 1.0),
    ("<sherry, group = 64>", "int8", 3, 7, 256, True, 1.0),
    ("<sherry, group = 64>", "int8", 10, 7, 256, True, 1.0),
    ("<sherry, group = 128>", "exact", 1, 64, 256, False, 1.0),
    ("<sherry, group = 12>", "int8", 3, 7, 96, True, 1.0),
    ("<sherry, row>", "int8", 1, 64, 2048, False, 1.0),
    ("<sherry, row>", "exact", 3, 7, 2048, False, 1.0),
    ("<sherry, group = 256>", "int8", 1, 2048, 2048, True, 1.0),
    ("<sherry, row>", "int8", 128, 2048, 256, True, 1.0),
    ("<sherry, tensor>", "int8", 128, 64, 2048, True, 1.0),
    ("<sherry, row, scale_type = f16>", "int8", 3, 7, 96, True, 1.0),
    ("<sherry, group = 32, scale_type = f16>", "exact", 3, 64, 96, False,
     1.0),
    ("<sherry, row>", "exact", 128, 7, 96, False, 1e6),
    ("<sherry, row>", "int8", 3, 2048, 96, True, 1e30),
    ("<stq1_0>", "int8", 3, 7, 256, True, 1.0),
    ("<stq1_0>", "exact", 1, 64, 256, False, 1.0),
    ("<stq1_0>", "int8", 128, 64, 2048, False, 1.0),
    ("<stq1_0>", "exact", 3, 7, 2048, True, 1.0),
    ("<stq1_0>", "int8", 1, 2048, 2048, True, 1e6),
    ("<stq1_0>", "exact", 128, 1, 256, True, 1.0),
]

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--set", choices=["all", "small"], default="all")
p.add_argument("--flip-mode", type=int, default=-1)
a = p.parse_args()

cases = [c for c in CASES
         if a.set == "all" or c[2] * c[3] * c[4] <= 1 << 22]


mlir, calls, rows = [], [], []
for i, (layout, mode, n, m, k, bias, xs) in enumerate(cases):
    row_bytes, sshape, stype = geometry(layout, m, k)
    spec = scale_spec(layout)
    if "stq1_0" in layout:
        sshape = None  # the block scales are in the packed bytes
    X, P = f"tensor<{n}x{k}xf32>", f"tensor<{m}x{row_bytes}xi8>"
    Y, B = f"tensor<{n}x{m}xf32>", f"tensor<{m}xf32>"
    args = [f"%x: {X}", f"%w: {P}"]
    scales = ""
    if sshape:
        S = f"tensor<{'x'.join(map(str, sshape))}x{stype}>"
        args.append(f"%s: {S}")
        scales = f" scales(%s : {S})"
    if bias:
        args.append(f"%b: {B}")
    args.append(f"%acc: {Y}")
    bias_text = f" bias(%b : {B})" if bias else ""
    kernel_mode = mode
    if i == a.flip_mode:
        kernel_mode = "exact" if mode == "int8" else "int8"
    mlir.append(f"""
// {layout} {mode}, N = {n}, M = {m}, K = {k}{', bias' if bias else ''}
func.func @case{i}({', '.join(args)}) -> {Y} {{
  %y = sherry.matmul ins(%x, %w : {X}, {P}){scales}{bias_text}
         outs(%acc : {Y}) layout{layout} mode<{kernel_mode}> -> {Y}
  return %y : {Y}
}}
""")
    calls.append(cpp_case_runner(
        i, n, m, k,
        f"auto w = view<sherry_memref_i8_2d>(d.w, {{{m}, {row_bytes}}});",
        sshape, stype, bias))
    fmt_layout = ("fmt::Layout::Stq1_0" if "stq1_0" in layout
                  else "fmt::Layout::Sherry")
    rows.append(f'  {{"case{i}", "{layout} {mode}", {fmt_layout}, {spec}, '
                f'{str(mode == "int8").lower()}, {str(stype == "f16").lower()}, '
                f'{n}, {m}, {k}, {str(bias).lower()}, {xs!r}f, runCase{i}}},')

with open(a.out + ".mlir", "w") as f:
    f.write("// Generated by aarch64_cases.py: the sherry.matmul cases.\n")
    f.write("".join(mlir))
with open(a.out + ".inc", "w") as f:
    f.write("// Generated by aarch64_cases.py: calls and the case table.\n")
    f.write("".join(calls))
    f.write("\nstatic const Case kCases[] = {\n" + "\n".join(rows) + "\n};\n")
