#!/usr/bin/env python3
"""Differential test of the sherry.matmul kernels against the format library.

Draws seeded random sherry.matmul cases and compiler configurations,
compiles and runs each batch of cases, and compares every result with the
format library's reference: bit for bit in int8 mode, within
1e-4 * (1 + |y|) in exact mode (the rule of docs/targets.md).

What is drawn (docs/reliability.md, "Differential testing"):
  cases    layout (<sherry, tensor|row|group = G> with f32 or f16 scales,
           <stq1_0>), mode (int8, exact), N, M, K (K any multiple of 32,
           of 256 for stq1_0; G any multiple of 4 dividing K), bias,
           activations with rows at the int8 extremes, zero rows, outliers,
           scaled by 1e-30 .. 1e30, weights with all-positive, all-negative
           and zero rows, and weights as run-time arguments or as
           compile-time constants, or as run-time arguments in the tables
           layout (order lanes, pairs or words, tile block 1..6: what the
           table kernels read at run time; an order a target has no lookup
           for takes the portable path).
  configs  kernel (vector, linalg), target (portable, avx512-vnni, avx2,
           avx512-bw, host where this CPU runs them; portable, neon-dotprod,
           neon on AArch64 under qemu), strategy (auto, tables, decode),
           threads (1, 2; AArch64 1), row-tile, batch-tile, row-block,
           batch-block, tile-block, table-bytes; AArch64: --mattr/--mcpu
           and -O level.
           --strategies, --const-share and --tables-share narrow the draw
           (the table kernels' own tests: strategy tables, constant or
           tables-layout weights).
           Targets and target/strategy pairs are found by asking sherry-opt,
           so targets added later are drawn as soon as it accepts them.

x86 batches: one module per batch, @main folds the reference through the
format library (sherry.matmul on constants) and calls the compiled kernel
(@mm<i>, see test/Integration/Inputs/matmul_case.py), run by mlir-runner.
AArch64 batches: one object per batch from sherry-compile, linked with
utils/difftest_checker.cpp and the format library cross-compiled, run under
qemu-aarch64 on `-cpu max` and, for code without dot product instructions,
`-cpu cortex-a53`.

Batch b of seed S is drawn from its own generator (S, b), so any batch is
reproduced by `difftest.py --seed S --batch b` on the same build and
machine (the targets drawn depend on what the CPU and sherry-opt support;
--targets fixes them).

Usage:
  utils/difftest.py                 # CI mode: seed 1, 240 cases
  utils/difftest.py --long          # 2000 cases, a random seed (printed)
  utils/difftest.py --cases 500 --seed 7 --jobs 2
  utils/difftest.py --seed 7 --batch 12 --keep /tmp/b12 -v  # reproduce
Exit status 0 when every case matches, 1 on any mismatch or tool failure.
"""
import argparse
import atexit
import concurrent.futures
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from x86_cpu import TARGET_FLAGS, cpu_flags, missing_flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The integration tests' case builders: layout geometry, the count
# function of the x86 programs, the AArch64 checkers' case runners.
sys.path.insert(0, os.path.join(REPO, "test", "Integration", "Inputs"))
from cases import (  # noqa: E402
    count_fn, cpp_case_runner, geometry, scale_spec)
CHECKER = os.path.join(REPO, "utils", "difftest_checker.cpp")
# checker_support.h, which difftest_checker.cpp shares with the AArch64
# tests' checker.cpp.
CHECKER_SUPPORT = os.path.join(REPO, "test", "Integration", "aarch64",
                               "Inputs")
FORMAT_SOURCES = ["Codebook.cpp", "Half.cpp", "Layout.cpp", "TableLayout.cpp",
                  "Ternarize.cpp",
                  "Pack.cpp", "Reference.cpp"]
SYSROOT = "/usr/aarch64-linux-gnu"

# Targets tried on this machine (x86_cpu.py: the flags each needs to run).
X86_TARGETS = list(TARGET_FLAGS)
AARCH64_TARGETS = ["portable", "neon-dotprod", "neon"]
STRATEGIES = ["auto", "tables", "decode"]
# x86 targets drawn more often than `portable` and `host`.
TARGET_WEIGHT = {"portable": 2, "host": 1}


# ----------------------------------------------------------------------------
# Drawing cases and configurations
# ----------------------------------------------------------------------------

# 1e-39 and 1e-41: rows so small that 127 / absmax overflows (format.md,
# section 7: they count as zero).
X_SCALES = [1.0, 1.0, 1.0, 1e-30, 1e-3, 1e6, 1e30, 1e-39, 1e-41]


def draw_case(rng, platform, long_mode, const_share, tables_share=0.0,
              x_scales=None):
    """One sherry.matmul: layout, mode, shape, data options."""
    stq = rng.random() < 0.25
    kmax = 2048 if long_mode else 1024
    if platform == "aarch64":
        kmax = 1024
    if stq:
        k = 256 * int(rng.integers(1, kmax // 256 + 1))
        layout = "<stq1_0>"
    else:
        # Small K often (one chunk of 32, a chunk of 64 and a tail, ...).
        k = 32 * int(rng.choice([1, 2, 3, 4, 5, 8, 11, 16, 24, 32, kmax // 32]))
        gran = rng.choice(["tensor", "row", "group"], p=[0.25, 0.35, 0.4])
        parts = ["sherry", str(gran)]
        if gran == "group":
            divisors = [g for g in range(4, k + 1, 4) if k % g == 0]
            common = [g for g in (32, 64, 128, 256) if k % g == 0]
            g = int(rng.choice(common if common and rng.random() < 0.6
                               else divisors))
            parts[1] = f"group = {g}"
        if rng.random() < 0.3:
            parts.append("scale_type = f16")
        layout = "<" + ", ".join(parts) + ">"
    mode = "int8" if rng.random() < 0.75 else "exact"
    n = int(rng.choice([1, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64]))
    if rng.random() < 0.5:
        m = int(rng.integers(1, 41))
    else:
        m = int(rng.integers(41, 321))
    if long_mode and rng.random() < 0.05:
        m, n = int(rng.choice([1024, 2048])), int(rng.choice([1, 3, 128]))
    # Keep runs short: under qemu every multiply-add is emulated.
    limit = (1 << 20) if platform == "aarch64" else (
        (1 << 24) if long_mode else (1 << 22))
    while n * m * k > limit and n > 1:
        n = max(1, n // 2)
    while n * m * k > limit and m > 1:
        m = max(1, m // 2)
    xscale = float(rng.choice(x_scales or X_SCALES))
    case = {
        "layout": layout, "mode": mode, "n": n, "m": m, "k": k,
        "bias": bool(rng.random() < 0.5), "xscale": xscale,
        "const": bool(rng.random() < const_share),
        "extremes": bool(rng.random() < 0.7),
        "zero_rows": bool(rng.random() < 0.2),
        "seed": int(rng.integers(0, 2**31)),
        "tables": None,
    }
    # Run-time weights in the tables layout: an order whose steps divide K
    # and the scale segments, any tile block.
    if not case["const"] and rng.random() < tables_share:
        segment = (256 if stq else
                   int(re.search(r"group = (\d+)", layout).group(1))
                   if "group" in layout else k)
        orders = [o for o, step in (("lanes", 16), ("pairs", 16),
                                    ("words", 64))
                  if k % step == 0 and segment % step == 0]
        if orders:
            case["tables"] = (str(rng.choice(orders)),
                              int(rng.integers(1, 7)))
    return case


# The format library's name of each table order.
TABLE_ORDERS = {"lanes": "Lanes", "pairs": "GroupPairs",
                "words": "WordFields"}


def tables_geometry(c):
    """The tables layout of a case's weights (`c["tables"]`): its
    `#sherry.layout` parameters, byte count, scales shape and scale type
    (stq1_0's block scales as f16 [M, K/256], as sherry.repack makes
    them)."""
    order, block = c["tables"]
    m, k, layout = c["m"], c["k"], c["layout"]
    tiles = (m + 31) // 32
    nbytes = tiles * (k // 16) * 80
    if "stq1_0" in layout:
        params, segment = "group = 256, scale_type = f16, grouping = stq1_0", 256
        sshape, stype = [m, k // 256], "f16"
    else:
        params = layout[1:-1].split(", ", 1)[1]
        _, sshape, stype = geometry(layout, m, k)
        segment = (int(re.search(r"group = (\d+)", layout).group(1))
                   if "group" in layout else k)
    if order == "lanes":
        nbytes += tiles * (k // segment) * 32 * (
            1 if segment // 4 <= 255 else 2)
    tl = f"<tables, {params}, order = {order}, tile_block = {block}>"
    return tl, nbytes, sshape, stype


def describe(c):
    s = (f"{c['layout']} {c['mode']} N={c['n']} M={c['m']} K={c['k']}"
         f"{' bias' if c['bias'] else ''}"
         f"{' const-weights' if c['const'] else ''}"
         f"{' tables=%s,%d' % c['tables'] if c.get('tables') else ''}"
         f" x-scale={c['xscale']:g}")
    if c["extremes"]:
        s += " extremes"
    if c["zero_rows"]:
        s += " zero-rows"
    return s + f" data-seed={c['seed']}"


def draw_tiles(rng, cfg):
    if rng.random() < 0.4:
        cfg["row-tile"] = int(rng.choice([1, 3, 5, 8, 16, 17, 32, 64]))
    if rng.random() < 0.3:
        cfg["batch-tile"] = int(rng.choice([1, 2, 3, 4, 8]))
    if rng.random() < 0.5:
        cfg["row-block"] = int(rng.integers(1, 7))
    if rng.random() < 0.5:
        cfg["batch-block"] = int(rng.integers(1, 9))


def draw_batch(seed, index, env, long_mode):
    """Batch `index` of `seed`: a platform, a configuration and its cases."""
    rng = np.random.default_rng([seed, index])
    platform = "x86"
    if env.aarch64_targets and rng.random() < env.aarch64_share:
        platform = "aarch64"
    cfg = {}
    if platform == "x86":
        if rng.random() < 0.12:
            cfg["kernel"] = "linalg"
        else:
            targets = env.x86_targets
            w = np.array([TARGET_WEIGHT.get(t, 3) for t in targets], float)
            cfg["target"] = str(rng.choice(targets, p=w / w.sum()))
            strategies = env.strategies[cfg["target"]]
            cfg["strategy"] = str(rng.choice(strategies))
            if rng.random() < 0.3:
                cfg["tile-block"] = int(rng.integers(1, 7))
            if rng.random() < 0.3:
                # Tables in blocks of activation rows: one row at a time,
                # a few rows, or every row at once.
                cfg["table-bytes"] = int(rng.choice([1, 4096, 65536, 0]))
        cfg["threads"] = int(rng.choice([1, 1, 2, 2, 0]))
        draw_tiles(rng, cfg)
        count = env.x86_batch
    else:
        if rng.random() < 0.1:
            cfg["kernel"] = "linalg"
        else:
            cfg["target"] = str(rng.choice(env.aarch64_targets))
            cfg["strategy"] = str(rng.choice(env.strategies[cfg["target"]]))
            if rng.random() < 0.3:
                cfg["tile-block"] = int(rng.integers(1, 7))
            if rng.random() < 0.3:
                # Tables in blocks of activation rows: one row at a time,
                # a few rows, or every row at once.
                cfg["table-bytes"] = int(rng.choice([1, 4096, 65536, 0]))
        draw_tiles(rng, cfg)
        count = env.aarch64_batch
    cases = [draw_case(rng, platform, long_mode, env.const_share,
                       env.tables_share, env.x_scales)
             for _ in range(count)]
    if platform == "aarch64":
        target = cfg.get("target", "portable")
        dot = target == "neon-dotprod" or (target == "portable"
                                           and rng.random() < 0.3)
        cfg["mattr"] = "+neon,+dotprod" if dot else "+neon"
        if dot and rng.random() < 0.5:
            cfg["mcpu"] = "neoverse-n1"
        elif not dot and rng.random() < 0.3:
            cfg["mcpu"] = "cortex-a53"
        # -O0 hits a known LLVM 22 instruction selection failure on stq1_0
        # vector kernels (docs/targets.md); the linalg kernel is slow with
        # less than -O1 on big cases, so -O0 only there and without stq1_0.
        levels = [1, 2, 3]
        if (cfg.get("kernel") == "linalg"
                and not any("stq1_0" in c["layout"] for c in cases)):
            levels.append(0)
        cfg["opt"] = int(rng.choice(levels))
        cfg["cpus"] = ["max"] if dot else ["max", "cortex-a53"]
    return {"index": index, "platform": platform, "config": cfg,
            "cases": cases}


def pipeline_options(cfg):
    keys = ["kernel", "target", "strategy", "threads", "row-tile",
            "batch-tile", "row-block", "batch-block", "tile-block",
            "table-bytes"]
    return " ".join(f"{k}={cfg[k]}" for k in keys if k in cfg)


# ----------------------------------------------------------------------------
# Data and programs
# ----------------------------------------------------------------------------

def case_data(c):
    """Activations, float weights, accumulator and bias of a case (f32)."""
    n, m, k = c["n"], c["m"], c["k"]
    rng = np.random.default_rng(c["seed"])
    w = rng.normal(0, 1, size=(m, k)).astype(np.float32)
    x = rng.normal(0, 1, size=(n, k)).astype(np.float32)
    if c["extremes"]:
        # Rows at the int8 extremes: +127 (or -127) everywhere after
        # quantization, and weight rows of one sign: the largest sums the
        # shape allows, far past int16. An outlier squeezes the rest of its
        # row. Each in a random row, if at all.
        if rng.random() < 0.8:
            x[int(rng.integers(0, n)), :] = 3.0
            w[int(rng.integers(0, m)), :] = np.abs(w[0, :]) + 1e-3
        if rng.random() < 0.6:
            x[int(rng.integers(0, n)), :] = -3.0
            w[int(rng.integers(0, m)), :] = -np.abs(w[1 % m, :]) - 1e-3
        if rng.random() < 0.6:
            x[int(rng.integers(0, n)), int(rng.integers(0, k))] = 40.0
    if c["zero_rows"]:
        x[int(rng.integers(0, n)), :] = 0.0  # int8 scale 0
        w[int(rng.integers(0, m)), :] = 0.0  # weight scale 0
    # The accumulator and bias scale with the activations, so that they do
    # not drown the matmul's part of the result (at 1e-30) or vanish (1e30).
    s = np.float32(c["xscale"])
    x *= s
    acc = rng.normal(0, 1, size=(n, m)).astype(np.float32) * s
    bias = rng.normal(0, 1, size=(m,)).astype(np.float32) * s
    return x, w, acc, bias


INT8_CMP = "%bad = arith.cmpf une, %x, %y : f32"
def exact_floor(c):
    """The absolute part of the exact-mode tolerance 1e-4 * (F + |y|): the
    scale of the data (activations, accumulator, bias), so F = 1 as in
    docs/targets.md for unscaled data. f32 sums of terms of size 1e6 can
    cancel to a result far smaller than its terms, where an error relative
    to 1 + |y| says nothing about the kernel. At least 1e-30: results of
    subnormal size carry fewer bits than 1e-4 asks for."""
    return max(abs(c["xscale"]), 1e-30)


EXACT_CMP = """%d = arith.subf %x, %y : f32
      %ad = math.absf %d : f32
      %au = math.absf %x : f32
      %one_f = arith.constant FLOOR : f32
      %tol_s = arith.constant 1.0e-4 : f32
      %mag = arith.addf %one_f, %au : f32
      %tol = arith.mulf %tol_s, %mag : f32
      %bad = arith.cmpf ugt, %ad, %tol : f32"""


def blob(array):
    return "0x04000000" + array.astype("<f4").tobytes().hex()


def kernel_mode(c, i, flip):
    """The mode the compiled function computes in: the case's, or for case
    0 with --flip-mode the other one (a wrong kernel the check must catch)."""
    if flip and i == 0:
        return "exact" if c["mode"] == "int8" else "int8"
    return c["mode"]


def x86_program(cases, dump=False, flip=False):
    """A module whose @main checks every case: the reference folded on
    constants against the kernel run through @mm<i>."""
    funcs, mains, blobs = [], [], []
    for i, c in enumerate(cases):
        n, m, k = c["n"], c["m"], c["k"]
        layout = c["layout"]
        stq = "stq1_0" in layout
        row_bytes, sshape, stype = geometry(layout, m, k)
        S = f"tensor<{'x'.join(map(str, sshape))}x{stype}>"
        P, T = f"tensor<{m}x{row_bytes}xi8>", f"tensor<{m}x{k}xi8>"
        W = f"tensor<{m}x{k}xf32>"
        X, Y, B = (f"tensor<{n}x{k}xf32>", f"tensor<{n}x{m}xf32>",
                   f"tensor<{m}xf32>")
        L = f"layout{layout}"
        mode = f" mode<{c['mode']}>"
        mm_mode = f" mode<{kernel_mode(c, i, flip)}>"
        mm_scales = "" if stq else f" scales(%s : {S})"
        pack_scales = f" scales(%s : {S})" if stq else ""
        bias = f" bias(%b : {B})" if c["bias"] else ""
        if c["const"]:
            body = f"""
  %w = arith.constant dense_resource<w{i}> : {W}
  %t, %s2 = sherry.ternarize %w {L} : {W} -> {T}, {S}
  %p2 = sherry.pack %t{pack_scales.replace("%s", "%s2")} {L} : {T} -> {P}
  %y = sherry.matmul ins(%x, %p2 : {X}, {P}){mm_scales.replace("%s", "%s2")}{bias}
         outs(%i : {Y}) {L}{mm_mode} -> {Y}"""
        elif c.get("tables"):
            tl, nbytes, tshape, tstype = tables_geometry(c)
            TP = f"tensor<{nbytes}xi8>"
            TS = f"tensor<{'x'.join(map(str, tshape))}x{tstype}>"
            body = f"""
  %y = sherry.matmul ins(%x, %p : {X}, {TP}) scales(%s : {TS}){bias}
         outs(%i : {Y}) layout{tl}{mm_mode} -> {Y}"""
        else:
            body = f"""
  %y = sherry.matmul ins(%x, %p : {X}, {P}){mm_scales}{bias}
         outs(%i : {Y}) {L}{mm_mode} -> {Y}"""
        # What @mm takes: the packed bytes and scales, or their tables
        # layout (sherry.repack in @main, folded at compile time).
        MP, MS, repack, args = P, S, "", f"%p{i}, %s{i}"
        if c.get("tables"):
            MP, MS = TP, TS
            args = f"%q{i}, %qs{i}"
            if stq:
                repack = (f"\n  %q{i}, %qs{i} = sherry.repack %p{i} from "
                          f"{layout} to {tl} : {P} -> {TP}, {TS}")
            else:
                repack = (f"\n  %q{i} = sherry.repack %p{i} from {layout} to "
                          f"{tl} : {P} -> {TP}\n  %qs{i} = tensor.cast "
                          f"%s{i} : {S} to {S}")
        funcs.append(f"""
// case {i}: {describe(c)}
func.func @mm{i}(%x: {X}, %p: {MP}, %s: {MS}, %b: {B}, %i: {Y}) -> {Y} {{{body}
  return %y : {Y}
}}
""" + count_fn(f"count{i}", Y, "f32",
               INT8_CMP if c["mode"] == "int8" else
               EXACT_CMP.replace("FLOOR", f"{exact_floor(c):e}")))
        dump_text = ""
        if dump:
            I32 = Y.replace("xf32>", "xi32>")
            M32 = I32.replace("tensor<", "memref<")
            for name in ("folded", "run"):
                dump_text += f"""
  %{name}_e{i} = tensor.empty() : {I32}
  %{name}_bits{i} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}}
      ins(%{name}{i} : {Y}) outs(%{name}_e{i} : {I32}) {{
    ^bb0(%v: f32, %o: i32):
      %c = arith.bitcast %v : f32 to i32
      linalg.yield %c : i32
  }} -> {I32}
  %{name}_m{i} = bufferization.to_buffer %{name}_bits{i} : {I32} to {M32}
  %{name}_u{i} = memref.cast %{name}_m{i} : {M32} to memref<*xi32>
  func.call @printMemrefI32(%{name}_u{i}) : (memref<*xi32>) -> ()"""
        mains.append(f"""
  %w{i} = arith.constant dense_resource<w{i}> : {W}
  %x{i} = arith.constant dense_resource<x{i}> : {X}
  %b{i} = arith.constant dense_resource<b{i}> : {B}
  %i{i} = arith.constant dense_resource<i{i}> : {Y}
  %t{i}, %s{i} = sherry.ternarize %w{i} {L} : {W} -> {T}, {S}
  %p{i} = sherry.pack %t{i}{pack_scales.replace("%s", f"%s{i}")} {L} : {T} -> {P}
  %folded{i} = sherry.matmul ins(%x{i}, %p{i} : {X}, {P}){mm_scales.replace("%s", f"%s{i}")}{bias.replace("%b", f"%b{i}")}
              outs(%i{i} : {Y}) {L}{mode} -> {Y}{repack}
  %run{i} = func.call @mm{i}(%x{i}, {args}, %b{i}, %i{i}) : ({X}, {MP}, {MS}, {B}, {Y}) -> {Y}
  %bad{i} = func.call @count{i}(%folded{i}, %run{i}) : ({Y}, {Y}) -> i32
  vector.print str "case {i} mismatches: "
  vector.print %bad{i} : i32{dump_text}""")
        x, w, acc, b = case_data(c)
        blobs += [(f"w{i}", w), (f"x{i}", x), (f"b{i}", b), (f"i{i}", acc)]
    decl = ("func.func private @printMemrefI32(memref<*xi32>)\n"
            if dump else "")
    text = ("// Generated by utils/difftest.py.\n" + decl + "".join(funcs) +
            "\nfunc.func @main() {" + "".join(mains) + "\n  return\n}\n")
    entries = ",\n".join(f'      {name}: "{blob(a)}"' for name, a in blobs)
    return (text + "\n{-#\n  dialect_resources: {\n    builtin: {\n" +
            entries + "\n    }\n  }\n#-}\n")


def aarch64_program(cases, directory, flip=False):
    """batch.mlir (@case<i> on run-time operands), batch.inc (calls and the
    case table for difftest_checker.cpp) and batch.bin (the data)."""
    mlir, calls, rows, blobs = [], [], [], []
    offset = 0
    with open(os.path.join(directory, "batch.bin"), "wb") as data:
        for i, c in enumerate(cases):
            n, m, k, layout = c["n"], c["m"], c["k"], c["layout"]
            row_bytes, sshape, stype = geometry(layout, m, k)
            spec = scale_spec(layout)
            S_all = f"tensor<{'x'.join(map(str, sshape))}x{stype}>"
            if "stq1_0" in layout:
                sshape = None
            X, P = f"tensor<{n}x{k}xf32>", f"tensor<{m}x{row_bytes}xi8>"
            Y, B = f"tensor<{n}x{m}xf32>", f"tensor<{m}xf32>"
            matmul_layout, tables, half = layout, "{}", (
                stype == "f16" and "stq1_0" not in layout)
            if c.get("tables"):
                # The tables layout of the packed weights, as the checker
                # makes it (format::toTables); stq1_0's block scales apart.
                tl, nbytes, sshape, stype = tables_geometry(c)
                P, matmul_layout, half = f"tensor<{nbytes}xi8>", tl, (
                    stype == "f16")
                order, block = c["tables"]
                tables = (f"{{fmt::TableLayout{{fmt::TableOrder::"
                          f"{TABLE_ORDERS[order]}, {block}}}}}")
            args, scales = [f"%x: {X}", f"%w: {P}"], ""
            if sshape:
                S = f"tensor<{'x'.join(map(str, sshape))}x{stype}>"
                args.append(f"%s: {S}")
                scales = f" scales(%s : {S})"
            if c["bias"]:
                args.append(f"%b: {B}")
            args.append(f"%acc: {Y}")
            bias = f" bias(%b : {B})" if c["bias"] else ""
            weights = "%w"
            prologue = ""
            if c["const"]:
                # The weights as a compile-time constant (the table kernel
                # needs one), ternarized and packed as the checker does;
                # the packed-weight and scale arguments go unused.
                W, T = f"tensor<{m}x{k}xf32>", f"tensor<{m}x{k}xi8>"
                L = f"layout{layout}"
                pack_scales = "" if sshape else f" scales(%sc : {S_all})"
                prologue = f"""
  %wc = arith.constant dense_resource<w{i}> : {W}
  %t, %sc = sherry.ternarize %wc {L} : {W} -> {T}, {S_all}
  %pc = sherry.pack %t{pack_scales} {L} : {T} -> {P}"""
                weights = "%pc"
                if sshape:
                    scales = f" scales(%sc : {S_all})"
                blobs.append((f"w{i}", case_data(c)[1]))
            mlir.append(f"""
// case {i}: {describe(c)}
func.func @case{i}({', '.join(args)}) -> {Y} {{{prologue}
  %y = sherry.matmul ins(%x, {weights} : {X}, {P}){scales}{bias}
         outs(%acc : {Y}) layout{matmul_layout} mode<{kernel_mode(c, i, flip)}> -> {Y}
  return %y : {Y}
}}
""")
            calls.append(cpp_case_runner(
                i, n, m, k,
                (f"auto w = view<sherry_memref_i8_1d>(d.w, {{{nbytes}}});"
                 if c.get("tables") else
                 f"auto w = view<sherry_memref_i8_2d>(d.w, {{{m}, "
                 f"{row_bytes}}});"),
                sshape, stype, c["bias"]))
            fmt_layout = ("fmt::Layout::Stq1_0" if "stq1_0" in layout
                          else "fmt::Layout::Sherry")
            rows.append(
                f'  {{{i}, "{describe(c)}", {fmt_layout}, {spec}, '
                f'{str(c["mode"] == "int8").lower()}, '
                f'{str(half).lower()}, {tables}, '
                f'{n}, {m}, {k}, {str(c["bias"]).lower()}, '
                f'{exact_floor(c)!r}, {offset}, '
                f'runCase{i}}},')
            for a in case_data(c):
                data.write(a.astype("<f4").tobytes())
                offset += a.size
    with open(os.path.join(directory, "batch.mlir"), "w") as f:
        f.write("// Generated by utils/difftest.py.\n" + "".join(mlir))
        if blobs:
            entries = ",\n".join(f'      {name}: "{blob(a)}"'
                                  for name, a in blobs)
            f.write("\n{-#\n  dialect_resources: {\n    builtin: {\n" +
                    entries + "\n    }\n  }\n#-}\n")
    with open(os.path.join(directory, "batch.inc"), "w") as f:
        f.write("// Generated by utils/difftest.py.\n" + "".join(calls))
        f.write(f"\nstatic const int64_t kFloats = {offset};\n")
        f.write("static const Case kCases[] = {\n" + "\n".join(rows) +
                "\n};\n")


# ----------------------------------------------------------------------------
# Tools and the machine
# ----------------------------------------------------------------------------

class Env:
    pass


def run(cmd, cwd=None, timeout=600):
    """Runs `cmd` (a list); returns (status, output) where status is the
    exit code, negative for a signal, or 'timeout'."""
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if e.stdout else ""
        return "timeout", out


def probe(env, only_targets):
    """Which targets and target/strategy pairs sherry-opt accepts, which
    of the x86 ones this CPU runs, and whether AArch64 code can run."""
    trivial = os.path.join(env.work, "trivial.mlir")
    with open(trivial, "w") as f:
        f.write("func.func @f() {\n  return\n}\n")
    names = sorted(set(X86_TARGETS) | set(AARCH64_TARGETS))
    pairs = [(t, s) for t in names for s in STRATEGIES]

    def accepted(pair):
        t, s = pair
        cmd = [env.sherry_opt, trivial,
               f"--sherry-to-llvm=target={t} strategy={s}"]
        status, out = run(cmd)
        if status != 0 and status != 1:  # a rejection is exit status 1
            sys.exit(f"difftest: {quote(cmd)} failed ({status}):\n{out}")
        return status == 0

    with concurrent.futures.ThreadPoolExecutor(env.jobs) as pool:
        ok = dict(zip(pairs, pool.map(accepted, pairs)))
    env.strategies = {t: [s for s in STRATEGIES if ok[(t, s)]
                          and (not env.only_strategies
                               or s in env.only_strategies)]
                      for t in names}
    flags = cpu_flags()
    env.x86_targets = [t for t in X86_TARGETS
                       if env.strategies[t] and not missing_flags(t, flags)
                       and (not only_targets or t in only_targets)]
    env.aarch64_targets = []
    if env.aarch64:
        env.aarch64_targets = [t for t in AARCH64_TARGETS
                               if env.strategies[t]
                               and (not only_targets or t in only_targets)]
    if not env.x86_targets and not env.aarch64_targets:
        sys.exit("difftest: no target left to test")
    if not env.x86_targets:
        env.aarch64_share = 1.0


def find_aarch64(path):
    """clang++ that links static AArch64 C++ programs, and qemu-aarch64."""
    qemu = shutil.which("qemu-aarch64", path=path)
    clangxx = shutil.which("clang++", path=path)
    lld = shutil.which("ld.lld", path=path)
    if not (qemu and clangxx and lld):
        return None
    for lib in ["libc.a", "libstdc++.a", "libm.a"]:
        status, out = run([clangxx, "--target=aarch64-linux-gnu",
                           f"-print-file-name={lib}"], timeout=60)
        found = out.strip()
        if status != 0 or not os.path.isabs(found) or not os.path.exists(found):
            return None
    return clangxx, qemu


# ----------------------------------------------------------------------------
# Running batches
# ----------------------------------------------------------------------------

def quote(cmd):
    return " ".join(shlex.quote(str(a)) for a in cmd)


_format_lock = threading.Lock()
_format_objects = None


def format_objects(env):
    """The format library cross-compiled for AArch64 (once per run)."""
    global _format_objects
    with _format_lock:
        if _format_objects is None:
            d = os.path.join(env.work, "format-aarch64")
            os.makedirs(d, exist_ok=True)
            cmd = env.aarch64_cxx + [
                "-c", *[os.path.join(REPO, "lib", "Format", s)
                        for s in FORMAT_SOURCES]]
            status, out = run(cmd, cwd=d)
            if status != 0:
                raise RuntimeError("cannot cross-compile the format library:"
                                   f"\n{quote(cmd)}\n{out}")
            _format_objects = [os.path.join(d, s.replace(".cpp", ".o"))
                               for s in FORMAT_SOURCES]
        return _format_objects


def run_steps(steps, cwd):
    """Runs (cmd, output file or None) steps in order; returns (ok, log,
    output of the last step)."""
    log, out = [], ""
    for cmd, to_file in steps:
        log.append(quote(cmd) + (f" > {to_file}" if to_file else ""))
        if to_file:
            with open(os.path.join(cwd, to_file), "wb") as f:
                p = subprocess.run(cmd, cwd=cwd, stdout=f,
                                   stderr=subprocess.PIPE, timeout=600)
            status, out = p.returncode, p.stderr.decode(errors="replace")
        else:
            status, out = run(cmd, cwd=cwd)
        if status != 0:
            if status == "timeout":
                what = "timed out"
            elif status < 0:
                what = f"crashed (signal {-status})"
            else:
                what = f"exited with {status}"
            return False, log, f"{os.path.basename(cmd[0])} {what}:\n{out}"
    return True, log, out


def check_lines(out, count, pattern):
    """The mismatch count of each case printed in `out`."""
    found = {}
    for line in out.splitlines():
        mm = re.match(pattern, line.strip())
        if mm:
            found[int(mm.group(1))] = int(mm.group(2))
    return [found.get(i) for i in range(count)]


def run_x86(env, batch, d):
    cfg = batch["config"]
    with open(os.path.join(d, "batch.mlir"), "w") as f:
        f.write(x86_program(batch["cases"], flip=env.flip))
    opts = pipeline_options(cfg)
    steps = [([env.sherry_opt, "batch.mlir", f"--sherry-to-llvm={opts}",
               "-o", "batch.llvm.mlir"], None),
             ([env.mlir_runner, "batch.llvm.mlir", "-e", "main",
               "-entry-point-result=void", env.runner_libs], None)]
    ok, log, out = run_steps(steps, d)
    return ok, log, out, [out] if ok else []


def run_aarch64(env, batch, d):
    cfg = batch["config"]
    aarch64_program(batch["cases"], d, flip=env.flip)
    compile_cmd = [env.sherry_compile, "batch.mlir",
                   "--mtriple=aarch64-linux-gnu", f"--mattr={cfg['mattr']}",
                   f"-O{cfg['opt']}"]
    if "mcpu" in cfg:
        compile_cmd.append(f"--mcpu={cfg['mcpu']}")
    opts = pipeline_options(cfg)
    if opts:
        compile_cmd.append(f"--pipeline-options={opts}")
    compile_cmd += ["-o", "batch.o", "--emit-header=batch.h"]
    steps = [(compile_cmd, None),
             (env.aarch64_cxx + ["-I.", "-I" + CHECKER_SUPPORT, "-c", CHECKER,
                                 "-o", "checker.o"],
              None),
             (env.aarch64_cxx[:2] + ["-fuse-ld=lld", "-static", "checker.o",
                                     "batch.o", *format_objects(env),
                                     "-o", "batch.exe"], None)]
    ok, log, out = run_steps(steps, d)
    outs = []
    if not ok:
        return ok, log, out, outs
    for cpu in cfg["cpus"]:
        cmd = [env.qemu, "-L", SYSROOT, "-cpu", cpu, "./batch.exe",
               "batch.bin"]
        log.append(quote(cmd))
        status, out = run(cmd, cwd=d)
        # 0: every case matched; 1: a mismatch, with the per-case lines.
        if status not in (0, 1):
            what = (f"crashed (signal {-status})" if isinstance(status, int)
                    and status < 0 else f"exited with {status}")
            return False, log, f"qemu-aarch64 -cpu {cpu}: {what}:\n{out}", outs
        outs.append(out)
    return True, log, "", outs


def run_batch(env, batch):
    d = os.path.join(env.work, f"batch{batch['index']:05d}")
    os.makedirs(d, exist_ok=True)
    start = time.time()
    try:
        if batch["platform"] == "x86":
            ok, log, err, outs = run_x86(env, batch, d)
            pattern = r"^case (\d+) mismatches: (\d+)$"
        else:
            ok, log, err, outs = run_aarch64(env, batch, d)
            pattern = r"^case (\d+): (-?\d+) mismatches"
    except Exception as e:  # a tool missing, a full disk, ...
        ok, log, err, outs, pattern = False, [], repr(e), [], ""
    result = {"batch": batch, "dir": d, "log": log, "seconds": 0.0,
              "error": None if ok else err, "bad": []}
    n = len(batch["cases"])
    for run_index, out in enumerate(outs):
        counts = check_lines(out, n, pattern)
        for i, count in enumerate(counts):
            if count != 0:
                cpu = (batch["config"]["cpus"][run_index]
                       if batch["platform"] == "aarch64" else None)
                result["bad"].append((i, count, cpu, out))
    result["seconds"] = time.time() - start
    if not result["error"] and not result["bad"] and not env.keep:
        shutil.rmtree(d, ignore_errors=True)
    return result


def x86_dump(env, result, index):
    """The first differing elements of x86 case `index`, from a rerun that
    prints the reference and the kernel's result bit for bit."""
    d = result["dir"]
    batch = result["batch"]
    case = batch["cases"][index]
    with open(os.path.join(d, f"dump{index}.mlir"), "w") as f:
        f.write(x86_program([case], dump=True,
                            flip=env.flip and index == 0))
    opts = pipeline_options(batch["config"])
    steps = [([env.sherry_opt, f"dump{index}.mlir",
               f"--sherry-to-llvm={opts}", "-o", f"dump{index}.llvm.mlir"],
              None),
             ([env.mlir_runner, f"dump{index}.llvm.mlir", "-e", "main",
               "-entry-point-result=void", env.runner_libs], None)]
    ok, _, out = run_steps(steps, d)
    if not ok:
        return "  (the dump run failed: " + out.strip()[:300] + ")"
    arrays = []
    for block in out.split("Unranked Memref")[1:]:
        data = block.split("data =", 1)[1]
        nums = [int(v) for v in re.findall(r"-?\d+", data)]
        arrays.append(np.array(nums, dtype=np.int64).astype(np.uint32)
                      .view(np.float32))
    if len(arrays) != 2:
        return "  (cannot read the dump)"
    ref, got = arrays
    lines = []
    m = case["m"]
    if case["mode"] == "int8":
        bad = ref.view(np.uint32) != got.view(np.uint32)
    else:  # as the program compares, in f32
        with np.errstate(all="ignore"):
            tol = np.float32(1e-4) * (np.float32(exact_floor(case)) +
                                      np.abs(ref))
            bad = ~(np.abs(ref - got) <= tol)
    for flat in np.nonzero(bad)[0][:5]:
        lines.append(f"  y[{flat // m}][{flat % m}] = {got[flat]!r} "
                     f"(0x{got.view(np.uint32)[flat]:08x}), reference "
                     f"{ref[flat]!r} (0x{ref.view(np.uint32)[flat]:08x})")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=None,
                   help="master seed (CI mode: 1; --long: random)")
    p.add_argument("--cases", type=int, default=None,
                   help="cases to run (CI mode: 240; --long: 2000)")
    p.add_argument("--long", action="store_true",
                   help="many cases, bigger shapes, a random seed")
    p.add_argument("--batch", type=int, action="append", default=[],
                   help="run only batch B (repeatable): a reproduction")
    p.add_argument("--jobs", "-j", type=int, default=2)
    p.add_argument("--targets", default="",
                   help="comma-separated targets to draw from (default: all "
                        "that sherry-opt accepts and this machine runs)")
    p.add_argument("--strategies", default="",
                   help="comma-separated strategies to draw from (default: "
                        "all that sherry-opt accepts for the target)")
    p.add_argument("--const-share", type=float, default=0.5,
                   help="fraction of cases whose weights are compile-time "
                        "constants")
    p.add_argument("--tables-share", type=float, default=0.25,
                   help="fraction of the cases with run-time weights that "
                        "pass them in the tables layout")
    p.add_argument("--no-aarch64", action="store_true",
                   help="x86 batches only")
    p.add_argument("--aarch64-share", type=float, default=0.25,
                   help="fraction of batches for AArch64 (under qemu)")
    p.add_argument("--x86-batch", type=int, default=4,
                   help="cases per x86 module")
    p.add_argument("--aarch64-batch", type=int, default=6,
                   help="cases per AArch64 executable")
    p.add_argument("--path", default=os.pathsep.join(
        [os.path.join(REPO, "build", "bin"), "/usr/lib/llvm-22/bin",
         os.environ.get("PATH", "")]),
        help="where to find sherry-opt, sherry-compile, mlir-runner, "
             "clang++, ld.lld and qemu-aarch64 (a PATH)")
    p.add_argument("--x-scales", default="",
                   help="comma-separated activation scales to draw from "
                        "(default: 1, 1e-30, 1e-3, 1e6, 1e30, 1e-39, 1e-41)")
    p.add_argument("--flip-mode", action="store_true",
                   help="self-test: case 0 of every batch is compiled in "
                        "the other mode, so the check must report it")
    p.add_argument("--keep", metavar="DIR",
                   help="work in DIR and keep every batch's files")
    p.add_argument("--work", metavar="DIR",
                   help="work in DIR, keeping only the failed batches' "
                        "files (default: a new temporary directory)")
    p.add_argument("--list", action="store_true",
                   help="print the batches and exit")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="a line per batch")
    a = p.parse_args()

    seed = a.seed
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little") if a.long else 1
    total = a.cases if a.cases is not None else (2000 if a.long else 240)

    env = Env()
    env.jobs = max(1, a.jobs)
    env.keep = bool(a.keep)
    env.x86_batch, env.aarch64_batch = a.x86_batch, a.aarch64_batch
    env.aarch64_share = a.aarch64_share
    env.flip = a.flip_mode
    env.x_scales = [float(v) for v in a.x_scales.split(",") if v]
    tools = {}
    for name in ["sherry-opt", "sherry-compile", "mlir-runner"]:
        tools[name] = shutil.which(name, path=a.path)
        if not tools[name]:
            sys.exit(f"difftest: {name} not found in {a.path}")
    env.sherry_opt = tools["sherry-opt"]
    env.sherry_compile = tools["sherry-compile"]
    env.mlir_runner = tools["mlir-runner"]
    lib = os.path.join(os.path.dirname(os.path.dirname(
        os.path.realpath(env.mlir_runner))), "lib")
    env.runner_libs = "-shared-libs=" + ",".join(
        os.path.join(lib, name) for name in
        ["libmlir_c_runner_utils.so", "libmlir_runner_utils.so", "libomp.so"])
    cross = None if a.no_aarch64 else find_aarch64(a.path)
    env.aarch64 = cross is not None
    if cross:
        env.aarch64_cxx = [cross[0], "--target=aarch64-linux-gnu",
                           "-std=c++17", "-O2", "-ffp-contract=off",
                           "-I" + os.path.join(REPO, "include")]
        env.qemu = cross[1]

    if a.keep or a.work:
        os.makedirs(a.keep or a.work, exist_ok=True)
        env.work = os.path.abspath(a.keep or a.work)
    else:
        env.work = tempfile.mkdtemp(prefix="sherry-difftest-")
        # Removed at exit unless a batch failed (its files are reported).
        env.failed = False
        atexit.register(lambda: env.failed or
                        shutil.rmtree(env.work, ignore_errors=True))
    only = {t for t in a.targets.split(",") if t}
    env.only_strategies = {t for t in a.strategies.split(",") if t}
    env.const_share = a.const_share
    env.tables_share = a.tables_share
    probe(env, only)

    # Batches: the ones asked for, or as many as the case count needs.
    batches = []
    if a.batch:
        batches = [draw_batch(seed, b, env, a.long) for b in a.batch]
    else:
        count = 0
        while count < total:
            b = draw_batch(seed, len(batches), env, a.long)
            batches.append(b)
            count += len(b["cases"])

    print(f"difftest: seed {seed}, {sum(len(b['cases']) for b in batches)} "
          f"cases in {len(batches)} batches, {env.jobs} jobs")
    print(f"  x86 targets: {', '.join(env.x86_targets) or 'none'}; "
          f"AArch64 targets (qemu): "
          f"{', '.join(env.aarch64_targets) or 'none'}")
    strategies = {t: env.strategies[t]
                  for t in env.x86_targets + env.aarch64_targets}
    print("  strategies: " + "; ".join(f"{t}: {'/'.join(s)}"
                                        for t, s in strategies.items()))
    sys.stdout.flush()
    if a.list:
        for b in batches:
            print(f"batch {b['index']} ({b['platform']}): "
                  f"{pipeline_options(b['config'])} {b['config']}")
            for i, c in enumerate(b["cases"]):
                print(f"  case {i}: {describe(c)}")
        return 0

    start = time.time()
    failures = []
    stats = {}
    with concurrent.futures.ThreadPoolExecutor(env.jobs) as pool:
        futures = [pool.submit(run_batch, env, b) for b in batches]
        for fut in concurrent.futures.as_completed(futures):
            r = fut.result()
            b = r["batch"]
            key = (b["platform"], b["config"].get("target",
                                                  b["config"].get("kernel")))
            s = stats.setdefault(key, [0, 0.0])
            s[0] += len(b["cases"])
            s[1] += r["seconds"]
            if a.verbose or r["error"] or r["bad"]:
                state = ("FAILED" if r["error"] else
                         f"{len(r['bad'])} MISMATCHING" if r["bad"] else "ok")
                print(f"batch {b['index']} ({b['platform']}, "
                      f"{pipeline_options(b['config'])}"
                      f"{' ' + b['config'].get('mattr', '') if b['platform'] == 'aarch64' else ''}): "
                      f"{len(b['cases'])} cases, {r['seconds']:.1f} s, {state}")
                sys.stdout.flush()
            if r["error"] or r["bad"]:
                failures.append(r)
    elapsed = time.time() - start

    for r in sorted(failures, key=lambda r: r["batch"]["index"]):
        b = r["batch"]
        print(f"\n=== batch {b['index']} ({b['platform']}): "
              f"{pipeline_options(b['config'])}")
        print(f"  config: {b['config']}")
        for i, c in enumerate(b["cases"]):
            print(f"  case {i}: {describe(c)}")
        if r["error"]:
            print("  error: " + r["error"].rstrip().replace("\n", "\n    "))
        seen = set()
        for i, count, cpu, out in r["bad"]:
            where = f" on -cpu {cpu}" if cpu else ""
            what = ("no result" if count is None
                    else f"{count} mismatching elements")
            print(f"  MISMATCH case {i}{where}: {what}: "
                  f"{describe(b['cases'][i])}")
            if b["platform"] == "x86" and i not in seen and count:
                print(x86_dump(env, r, i))
            elif b["platform"] == "aarch64":
                for line in out.splitlines():
                    if line.startswith(f"  case {i}:"):
                        print("  " + line.strip())
            seen.add(i)
        print(f"  files: {r['dir']}")
        print("  commands (in that directory):")
        for cmd in r["log"]:
            print("    " + cmd)
        print(f"  reproduce: {sys.executable} {os.path.join(REPO, 'utils', 'difftest.py')} "
              f"--seed {seed} --batch {b['index']}"
              f"{' --long' if a.long else ''}"
              f"{' --targets ' + a.targets if a.targets else ''}"
              f"{' --strategies ' + a.strategies if a.strategies else ''}"
              f"{' --const-share %g' % a.const_share if a.const_share != 0.5 else ''}"
              f"{' --tables-share %g' % a.tables_share if a.tables_share != 0.25 else ''}"
              f"{' --x-scales ' + a.x_scales if a.x_scales else ''}"
              f"{' --flip-mode' if a.flip_mode else ''}"
              f"{' --no-aarch64' if a.no_aarch64 else ''} "
              f"--keep /tmp/difftest-{seed}-{b['index']} -v")

    ran = sum(len(b["cases"]) for b in batches)
    print(f"\ndifftest: seed {seed}: {ran} cases in {len(batches)} batches, "
          f"{elapsed:.1f} s")
    for (platform, target), (n, secs) in sorted(stats.items()):
        print(f"  {platform:7s} {target:12s} {n:5d} cases  {secs:7.1f} s")
    bad_cases = sum(len({i for i, *_ in r["bad"]}) for r in failures)
    errors = sum(1 for r in failures if r["error"])
    print(f"  mismatching cases: {bad_cases}; failed batches (a tool failed "
          f"or crashed): {errors}")
    if failures:
        env.failed = True
        print(f"  files of the failed batches: {env.work}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
