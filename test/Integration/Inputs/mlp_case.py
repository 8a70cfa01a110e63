#!/usr/bin/env python3
"""Writes a self-checking LLaMA-style MLP block: down(silu(gate(x)) * up(x)).

@mlp is ordinary func + linalg IR with f32 weight constants in torch-mlir's
form (linalg.transpose of the M x K weight, then linalg.matmul), for
sherry-sparsify to bring in and --sherry-to-llvm to compile. @main runs it
on seeded activations and counts the outputs farther than
tol * (1 + |expected|) from a numpy reference computed here from the
format library's own projection of the weights (`sherry-pack pack`, then
`unpack` to ternary values and to dequantized weights):
  exact mode: float64 products of x and the dequantized weights;
  int8 mode: docs/format.md section 7 emulated in float32 (per-row absmax
    quantization, exact integer sums, f32 scaling in the same order).
SiLU's exp differs from numpy's in the last bits, hence a tolerance even in
int8 mode.

Usage: mlp_case.py OUT.mlir --sherry-pack PATH --mode exact|int8
                   [--hidden H] [--inter I] [--tokens N] [--tol T]
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np

from cases import count_fn, resources

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--sherry-pack", required=True)
p.add_argument("--mode", choices=["exact", "int8"], default="int8")
p.add_argument("--hidden", type=int, default=256)
p.add_argument("--inter", type=int, default=512)
p.add_argument("--tokens", type=int, default=3)
p.add_argument("--tol", type=float, default=1e-4)
a = p.parse_args()

H, I, N = a.hidden, a.inter, a.tokens
rng = np.random.default_rng(7)
shapes = {"gate_proj": (I, H), "up_proj": (I, H), "down_proj": (H, I)}
weights = {name: (rng.normal(0, 1, size=s) / np.sqrt(s[1])).astype(np.float32)
           for name, s in shapes.items()}
x = rng.normal(0, 1, size=(N, H)).astype(np.float32)
x[0, :] = 2.0  # a row that quantizes to +127 everywhere


def project(w):
    """(ternary int8, dequantized f32) as the format library makes them."""
    with tempfile.TemporaryDirectory() as d:
        src, packed = os.path.join(d, "w.npy"), os.path.join(d, "w.sherry")
        np.save(src, w)
        subprocess.run([a.sherry_pack, "pack", src, "-o", packed,
                        "--layout=sherry", "--granularity=row"], check=True,
                       stdout=subprocess.DEVNULL)
        out = []
        for values in ("ternary", "dequantized"):
            dst = os.path.join(d, values + ".npy")
            subprocess.run([a.sherry_pack, "unpack", packed, "-o", dst,
                            "--values=" + values], check=True,
                           stdout=subprocess.DEVNULL)
            out.append(np.load(dst))
        return out[0].astype(np.int8), out[1].astype(np.float32)


def matmul_int8(xf, t, deq):
    """Section 7 for one scale per row: q = clamp(rint(x * 127 / absmax)),
    y = (float(isum) * alpha) * (absmax / 127), one f32 step at a time."""
    xf = xf.astype(np.float32)
    absmax = np.abs(xf).max(axis=1).astype(np.float32)
    xs = (absmax / np.float32(127)).astype(np.float32)
    mult = np.where(absmax > 0, np.float32(127) / np.where(absmax > 0, absmax, 1),
                    0).astype(np.float32)
    q = np.clip(np.rint(xf * mult[:, None]), -127, 127).astype(np.int64)
    isum = q @ t.astype(np.int64).T
    nz = np.argmax(t != 0, axis=1)
    alpha = np.abs(deq[np.arange(t.shape[0]), nz]).astype(np.float32)
    term = (isum.astype(np.float32) * alpha[None, :]).astype(np.float32)
    return (term * xs[:, None]).astype(np.float32)


def silu(v):
    v = v.astype(np.float32)
    return (v / (np.float32(1) + np.exp(-v))).astype(np.float32)


proj = {name: project(w) for name, w in weights.items()}
if a.mode == "exact":
    def lin(v, name):
        return (v.astype(np.float64) @ proj[name][1].astype(np.float64).T)
else:
    def lin(v, name):
        return matmul_int8(v, *proj[name])
h = silu(lin(x, "gate_proj")) * lin(x, "up_proj").astype(np.float32)
expected = lin(h.astype(np.float32), "down_proj").astype(np.float32)


def linear(body, name, src, k):
    m = shapes[name][0]
    body.append(f"""  %{name}_w = arith.constant dense_resource<{name}> : tensor<{m}x{k}xf32>
  %{name}_te = tensor.empty() : tensor<{k}x{m}xf32>
  %{name}_t = linalg.transpose ins(%{name}_w : tensor<{m}x{k}xf32>)
      outs(%{name}_te : tensor<{k}x{m}xf32>) permutation = [1, 0]
  %{name}_e = tensor.empty() : tensor<{N}x{m}xf32>
  %{name}_i = linalg.fill ins(%zero : f32) outs(%{name}_e : tensor<{N}x{m}xf32>) -> tensor<{N}x{m}xf32>
  %{name} = linalg.matmul ins({src}, %{name}_t : tensor<{N}x{k}xf32>, tensor<{k}x{m}xf32>)
      outs(%{name}_i : tensor<{N}x{m}xf32>) -> tensor<{N}x{m}xf32>""")
    return f"%{name}"


body = ["  %zero = arith.constant 0.0 : f32"]
g = linear(body, "gate_proj", "%x", H)
u = linear(body, "up_proj", "%x", H)
body.append(f"""  %act_e = tensor.empty() : tensor<{N}x{I}xf32>
  %act = linalg.generic {{indexing_maps = [#id, #id, #id],
      iterator_types = ["parallel", "parallel"]}}
      ins({g}, {u} : tensor<{N}x{I}xf32>, tensor<{N}x{I}xf32>)
      outs(%act_e : tensor<{N}x{I}xf32>) {{
  ^bb0(%gv: f32, %uv: f32, %out: f32):
    %neg = arith.negf %gv : f32
    %exp = math.exp %neg : f32
    %one = arith.constant 1.0 : f32
    %den = arith.addf %one, %exp : f32
    %silu = arith.divf %gv, %den : f32
    %prod = arith.mulf %silu, %uv : f32
    linalg.yield %prod : f32
  }} -> tensor<{N}x{I}xf32>""")
d = linear(body, "down_proj", "%act", I)
Y = f"tensor<{N}x{H}xf32>"
cmp = f"""%d = arith.subf %x, %y : f32
      %ad = math.absf %d : f32
      %ay = math.absf %y : f32
      %one_f = arith.constant 1.0 : f32
      %tol_s = arith.constant {a.tol:e} : f32
      %mag = arith.addf %one_f, %ay : f32
      %tol = arith.mulf %tol_s, %mag : f32
      %bad = arith.cmpf ugt, %ad, %tol : f32"""
body_text = "\n".join(body)
program = f"""#id = affine_map<(i, j) -> (i, j)>

func.func @mlp(%x: {Y}) -> {Y} {{
{body_text}
  return {d} : {Y}
}}
""" + count_fn("count_bad", Y, "f32", cmp) + f"""
func.func @main() {{
  %x = arith.constant dense_resource<acts> : {Y}
  %want = arith.constant dense_resource<expected> : {Y}
  %got = func.call @mlp(%x) : ({Y}) -> {Y}
  %bad = func.call @count_bad(%got, %want) : ({Y}, {Y}) -> i32
  vector.print str "mlp mismatches: "
  vector.print %bad : i32
  return
}}
"""
blobs = dict(weights)
blobs["acts"] = x
blobs["expected"] = expected
with open(a.out, "w") as f:
    f.write(program + resources(blobs))
