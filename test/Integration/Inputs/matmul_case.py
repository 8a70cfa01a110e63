#!/usr/bin/env python3
"""Writes a self-checking MLIR program for the portable sherry.matmul.

@main packs seeded weights at compile time, computes sherry.matmul once on
constants (folded through the format library's reference matmul) and once by
calling @mm, whose operands are arguments, so the op is lowered by
convert-sherry-to-linalg and run. It prints how many results differ: in int8
mode any difference at all, in exact mode more than 1e-4 * (1 + |y|) (the
reference sums in double, the kernel in f32). Row 0 of the activations is
constant, so every int8 activation of that row is 127: sums far past int16.

With --tables ORDER,BLOCK the weights are repacked into the tables layout
(the table kernels' order) before both matmuls: @mm then takes them as
arguments in that layout (a kernel on run-time tables), or with
--const-weights repacks its own constant (folded: constant tables).

With --siblings M1,M2,... (and --const-weights), @mm also computes
matmuls of M1, M2, ... rows on the same activations, each with its own
weights, scales, bias and init (siblings: the table kernel lowers them as
one loop nest), and @main checks each result.

Usage: matmul_case.py OUT.mlir --layout L --mode exact|int8 [--n N]
                      [--m M] [--k K] [--bias] [--x-scale S]
                      [--const-weights] [--siblings M1,M2,...] [--dynamic-n]
                      [--tables ORDER,BLOCK]
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
p.add_argument("--siblings", default="",
               help="rows of further matmuls on the same activations")
p.add_argument("--dynamic-n", action="store_true",
               help="@mm takes x and the accumulator with a dynamic N")
p.add_argument("--tables", default="",
               help="ORDER,BLOCK: the weights in the tables layout")
a = p.parse_args()
sibling_ms = [int(v) for v in a.siblings.split(",") if v]
if sibling_ms and not a.const_weights:
    p.error("--siblings needs --const-weights")
if sibling_ms and a.tables:
    p.error("--siblings takes no --tables")
if sibling_ms and a.dynamic_n:
    p.error("--siblings takes no --dynamic-n")

n, m, k = a.n, a.m, a.k
stq = "stq1_0" in a.layout
row_bytes, scales_shape, stype = geometry(a.layout, m, k)
S = f"tensor<{'x'.join(map(str, scales_shape))}x{stype}>"
P, T = f"tensor<{m}x{row_bytes}xi8>", f"tensor<{m}x{k}xi8>"
X, Y, B = f"tensor<{n}x{k}xf32>", f"tensor<{n}x{m}xf32>", f"tensor<{m}xf32>"
# What @mm takes for x and the accumulator (N dynamic with --dynamic-n).
XM, YM = ((f"tensor<?x{k}xf32>", f"tensor<?x{m}xf32>") if a.dynamic_n
          else (X, Y))
L = f"layout{a.layout}"
mode = f" mode<{a.mode}>"
mm_scales = "" if stq else f" scales(%s : {S})"
pack_scales = f" scales(%s : {S})" if stq else ""
bias = f" bias(%b : {B})" if a.bias else ""

# The tables layout: its bytes and scales (stq1_0's block scales come out
# of the repack); `repack(p, s)` is the MLIR that makes them from %p.
canonical = a.layout
if a.tables:
    order, block = a.tables.split(",")
    tiles = (m + 31) // 32
    nbytes = tiles * (k // 16) * 80
    if stq:
        tl = (f"<tables, group = 256, scale_type = f16, grouping = stq1_0, "
              f"order = {order}, tile_block = {block}>")
        segment = 256
    else:
        tl = (f"<tables, {canonical[1:-1].split(', ', 1)[1]}, "
              f"order = {order}, tile_block = {block}>")
        segment = (int(canonical.split("group = ")[1].split(",")[0]
                       .rstrip(">")) if "group" in canonical else k)
    if order == "lanes":
        nbytes += tiles * (k // segment) * 32 * (
            1 if segment // 4 <= 255 else 2)
    TP = f"tensor<{nbytes}xi8>"
    TS = f"tensor<{m}x{k // 256}xf16>" if stq else S


def repack(pv, sv, pt, st):
    """MLIR that repacks %pv (and %sv) into %pt (and %st)."""
    if not a.tables:
        return ""
    if stq:
        return (f"\n  %{pt}, %{st} = sherry.repack %{pv} from <stq1_0> to "
                f"{tl} : {P} -> {TP}, {TS}")
    return (f"\n  %{pt} = sherry.repack %{pv} from {canonical} to {tl} : "
            f"{P} -> {TP}\n  %{st} = tensor.cast %{sv} : {S} to {S}")


if a.tables:
    L = f"layout{tl}"
    mm_scales = f" scales(%s : {TS})"

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

# What @mm takes: the canonical layout's bytes and scales, or the tables
# layout's.
LC = f"layout{canonical}"
WP, WS = (TP, TS) if a.tables else (P, S)

if a.const_weights:
    # The packed weights (and scales) are constants inside @mm; %p and %s
    # stay as arguments, unused, so that @main reads the same either way.
    mm_body = f"""
  %w = arith.constant dense_resource<weights> : tensor<{m}x{k}xf32>
  %t, %s2 = sherry.ternarize %w {LC} : tensor<{m}x{k}xf32> -> {T}, {S}
  %p2 = sherry.pack %t{pack_scales.replace("%s", "%s2")} {LC} : {T} -> {P}{repack("p2", "s2", "p3", "s3")}
  %y = sherry.matmul ins(%x, %{"p3" if a.tables else "p2"} : {XM}, {WP}){mm_scales.replace("%s", "%s3" if a.tables else "%s2")}{bias}
         outs(%i : {YM}) {L}{mode} -> {YM}"""
else:
    mm_body = f"""
  %y = sherry.matmul ins(%x, %p : {XM}, {WP}){mm_scales}{bias}
         outs(%i : {YM}) {L}{mode} -> {YM}"""

# The call of @mm from @main (through casts to a dynamic N).
if a.dynamic_n:
    call_mm = f"""  %xd = tensor.cast %x : {X} to {XM}
  %id = tensor.cast %i : {Y} to {YM}
  %rund = func.call @mm(%xd, %p, %s, %b, %id) : ({XM}, {WP}, {WS}, {B}, {YM}) -> {YM}
  %run = tensor.cast %rund : {YM} to {Y}"""
else:
    call_mm = f"""  %run = func.call @mm(%x, %p, %s, %b, %i) : ({X}, {WP}, {WS}, {B}, {Y}) -> {Y}"""

program = f"""
func.func @mm(%x: {XM}, %p: {WP}, %s: {WS}, %b: {B}, %i: {YM}) -> {YM} {{{mm_body}
  return %y : {YM}
}}

""" + count_fn("count_bad", Y, "f32", cmp) + f"""
func.func @main() {{
  %w = arith.constant dense_resource<weights> : tensor<{m}x{k}xf32>
  %x = arith.constant dense_resource<acts> : {X}
  %b = arith.constant dense_resource<bias> : {B}
  %i = arith.constant dense_resource<init> : {Y}
  %t, %s0 = sherry.ternarize %w {LC} : tensor<{m}x{k}xf32> -> {T}, {S}
  %p0 = sherry.pack %t{pack_scales.replace("%s", "%s0")} {LC} : {T} -> {P}{repack("p0", "s0", "p", "s") if a.tables else chr(10) + "  %p = tensor.cast %p0 : " + P + " to " + P + chr(10) + "  %s = tensor.cast %s0 : " + S + " to " + S}
  %folded = sherry.matmul ins(%x, %p : {X}, {WP}){mm_scales}{bias}
              outs(%i : {Y}) {L}{mode} -> {Y}
{call_mm}
  %bad = func.call @count_bad(%folded, %run) : ({Y}, {Y}) -> i32
  vector.print str "matmul mismatches: "
  vector.print %bad : i32
  return
}}

"""
blobs = {"weights": w, "acts": x, "bias": bvals, "init": init}

if sibling_ms:
    # @mm and @main again, with every member: member 0 is the matmul above.
    members = [(m, "")] + [(mj, str(j + 1)) for j, mj in enumerate(sibling_ms)]
    args, rets, body, calls, checks, counts = [], [], [], [], [], set()
    main_consts = []
    for mj, sfx in members:
        rbj, sshape, _ = geometry(a.layout, mj, k)
        Sj = f"tensor<{'x'.join(map(str, sshape))}x{stype}>"
        Pj, Tj = f"tensor<{mj}x{rbj}xi8>", f"tensor<{mj}x{k}xi8>"
        Yj, Bj = f"tensor<{n}x{mj}xf32>", f"tensor<{mj}xf32>"
        Wj = f"tensor<{mj}x{k}xf32>"
        if sfx:
            blobs["weights" + sfx] = rng.normal(0, 1, size=(mj, k)).astype(
                np.float32)
            blobs["bias" + sfx] = rng.normal(0, 1, size=(mj,)).astype(
                np.float32)
            blobs["init" + sfx] = rng.normal(0, 1, size=(n, mj)).astype(
                np.float32)
        ms_ = "" if stq else f" scales(%s2{sfx} : {Sj})"
        ps_ = f" scales(%s2{sfx} : {Sj})" if stq else ""
        bj = f" bias(%b{sfx} : {Bj})" if a.bias else ""
        args += [f"%b{sfx}: {Bj}", f"%i{sfx}: {Yj}"]
        rets.append(Yj)
        body.append(f"""
  %w{sfx} = arith.constant dense_resource<weights{sfx}> : {Wj}
  %t{sfx}, %s2{sfx} = sherry.ternarize %w{sfx} {L} : {Wj} -> {Tj}, {Sj}
  %p2{sfx} = sherry.pack %t{sfx}{ps_} {L} : {Tj} -> {Pj}
  %y{sfx} = sherry.matmul ins(%x, %p2{sfx} : {X}, {Pj}){ms_}{bj}
         outs(%i{sfx} : {Yj}) {L}{mode} -> {Yj}""")
        main_consts.append(f"""
  %w{sfx} = arith.constant dense_resource<weights{sfx}> : {Wj}
  %b{sfx} = arith.constant dense_resource<bias{sfx}> : {Bj}
  %i{sfx} = arith.constant dense_resource<init{sfx}> : {Yj}
  %t{sfx}, %s2{sfx} = sherry.ternarize %w{sfx} {L} : {Wj} -> {Tj}, {Sj}
  %p2{sfx} = sherry.pack %t{sfx}{ps_} {L} : {Tj} -> {Pj}
  %folded{sfx} = sherry.matmul ins(%x, %p2{sfx} : {X}, {Pj}){ms_}{bj}
              outs(%i{sfx} : {Yj}) {L}{mode} -> {Yj}""")
        counts.add((mj, Yj))
        checks.append(f"""
  %bad{sfx} = func.call @count_bad_{mj}(%folded{sfx}, %run#{len(checks)}) : ({Yj}, {Yj}) -> i32
  vector.print str "matmul mismatches: "
  vector.print %bad{sfx} : i32""")
    names = ", ".join(f"%y{sfx}" for _, sfx in members)
    operands = ", ".join(a_.split(":")[0] for a_ in args)
    types = ", ".join(a_.split(": ")[1] for a_ in args)
    program = f"""
func.func @mm(%x: {X}, {", ".join(args)}) -> ({", ".join(rets)}) {{{"".join(body)}
  return {names} : {", ".join(rets)}
}}
""" + "".join(count_fn(f"count_bad_{mj}", Yj, "f32", cmp)
              for mj, Yj in sorted(counts)) + f"""
func.func @main() {{
  %x = arith.constant dense_resource<acts> : {X}{"".join(main_consts)}
  %run:{len(members)} = func.call @mm(%x, {operands}) : ({X}, {types}) -> ({", ".join(rets)}){"".join(checks)}
  return
}}

"""

with open(a.out, "w") as f:
    f.write(program + resources(blobs))
