#!/usr/bin/env python3
"""Writes a LLaMA-style decoder block's linear layers as func + linalg IR.

Two forms of the same block, chosen with --form:
  torch: what torch-mlir emits for nn.Linear: linalg.transpose of the M x K
         weight, then linalg.matmul on the transposed weight.
  linalg: hand-written linalg: linalg.matmul with the K x M weight.
The block: q/k/v/o attention projections (GQA: k and v are narrower) and the
MLP down(silu(gate(x)) * up(x)). Weights are seeded constants stored as
dense_resource blobs, like a real checkpoint.

Usage: llama_block.py OUT.mlir --form torch|linalg [--hidden H] [--inter I]
"""
import argparse

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--form", choices=["torch", "linalg"], default="torch")
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--kv", type=int, default=32)
p.add_argument("--inter", type=int, default=256)
p.add_argument("--tokens", type=int, default=3)
a = p.parse_args()

rng = np.random.default_rng(1)
H, KV, I, N = a.hidden, a.kv, a.inter, a.tokens
layers = {"q_proj": (H, H), "k_proj": (KV, H), "v_proj": (KV, H),
          "o_proj": (H, H), "gate_proj": (I, H), "up_proj": (I, H),
          "down_proj": (H, I)}
blobs = {}
body = []


def linear(name, x, k):
    m = layers[name][0]
    w = rng.normal(0, 0.02, size=layers[name]).astype(np.float32)
    out = f"%{name}"
    body.append(f"  %{name}_init = linalg.fill ins(%zero : f32) outs(%e_{m} : "
                f"tensor<{N}x{m}xf32>) -> tensor<{N}x{m}xf32>")
    if a.form == "torch":
        blobs[name] = w
        body.append(f"  %{name}_w = arith.constant dense_resource<{name}> : "
                    f"tensor<{m}x{k}xf32>")
        body.append(f"  %{name}_te = tensor.empty() : tensor<{k}x{m}xf32>")
        body.append(f"  %{name}_t = linalg.transpose ins(%{name}_w : "
                    f"tensor<{m}x{k}xf32>) outs(%{name}_te : tensor<{k}x{m}xf32>) "
                    f"permutation = [1, 0]")
        b = f"%{name}_t"
    else:
        blobs[name] = np.ascontiguousarray(w.T)
        body.append(f"  %{name}_w = arith.constant dense_resource<{name}> : "
                    f"tensor<{k}x{m}xf32>")
        b = f"%{name}_w"
    body.append(f"  {out} = linalg.matmul ins({x}, {b} : tensor<{N}x{k}xf32>, "
                f"tensor<{k}x{m}xf32>) outs(%{name}_init : tensor<{N}x{m}xf32>) "
                f"-> tensor<{N}x{m}xf32>")
    return out


empties = sorted({H, KV, I})
for m in empties:
    body.append(f"  %e_{m} = tensor.empty() : tensor<{N}x{m}xf32>")
q = linear("q_proj", "%x", H)
k = linear("k_proj", "%x", H)
v = linear("v_proj", "%x", H)
o = linear("o_proj", "%attn", H)
g = linear("gate_proj", "%x", H)
u = linear("up_proj", "%x", H)
body.append(f"""  %act = linalg.generic {{indexing_maps = [#id, #id, #id],
      iterator_types = ["parallel", "parallel"]}}
      ins({g}, {u} : tensor<{N}x{I}xf32>, tensor<{N}x{I}xf32>)
      outs(%e_{I} : tensor<{N}x{I}xf32>) {{
  ^bb0(%gv: f32, %uv: f32, %out: f32):
    %neg = arith.negf %gv : f32
    %exp = math.exp %neg : f32
    %one = arith.constant 1.0 : f32
    %den = arith.addf %one, %exp : f32
    %silu = arith.divf %gv, %den : f32
    %prod = arith.mulf %silu, %uv : f32
    linalg.yield %prod : f32
  }} -> tensor<{N}x{I}xf32>""")
d = linear("down_proj", "%act", I)

with open(a.out, "w") as f:
    f.write("#id = affine_map<(d0, d1) -> (d0, d1)>\n")
    f.write(f"func.func @decoder_block(%x: tensor<{N}x{H}xf32>, "
            f"%attn: tensor<{N}x{H}xf32>)\n"
            f"    -> (tensor<{N}x{H}xf32>, tensor<{N}x{KV}xf32>, "
            f"tensor<{N}x{KV}xf32>, tensor<{N}x{H}xf32>, tensor<{N}x{H}xf32>) {{\n")
    f.write("  %zero = arith.constant 0.0 : f32\n")
    f.write("\n".join(body) + "\n")
    f.write(f"  return {q}, {k}, {v}, {o}, {d} : tensor<{N}x{H}xf32>, "
            f"tensor<{N}x{KV}xf32>, tensor<{N}x{KV}xf32>, tensor<{N}x{H}xf32>, "
            f"tensor<{N}x{H}xf32>\n}}\n\n")
    f.write("{-#\n  dialect_resources: {\n    builtin: {\n")
    f.write(",\n".join(f'      {n}: "0x04000000{w.astype("<f4").tobytes().hex()}"'
                       for n, w in blobs.items()))
    f.write("\n    }\n  }\n#-}\n")
