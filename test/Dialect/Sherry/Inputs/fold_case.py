#!/usr/bin/env python3
"""Writes seeded weights twice: as .npy for sherry-pack, and as an MLIR
function that ternarizes and packs the same weights as a constant.

Usage: fold_case.py OUT.npy OUT.mlir --rows M --cols K --layout L
"""
import argparse

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("npy")
p.add_argument("mlir")
p.add_argument("--rows", type=int, default=64)
p.add_argument("--cols", type=int, default=256)
p.add_argument("--layout", default="sherry")
p.add_argument("--seed", type=int, default=7)
a = p.parse_args()

rng = np.random.default_rng(a.seed)
w = rng.normal(0, 1, size=(a.rows, a.cols)).astype(np.float32)
np.save(a.npy, w)

m, k = a.rows, a.cols
if a.layout == "sherry":
    row_bytes, layout, scales = k // 8 + k // 32, "<sherry, row>", f"tensor<{m}xf32>"
    pack = f"%p = sherry.pack %t layout{layout} : tensor<{m}x{k}xi8> -> tensor<{m}x{row_bytes}xi8>"
else:
    row_bytes, layout = k // 256 * 42, "<stq1_0>"
    scales = f"tensor<{m}x{k // 256}xf16>"
    pack = (f"%p = sherry.pack %t scales(%s : {scales}) layout{layout} "
            f": tensor<{m}x{k}xi8> -> tensor<{m}x{row_bytes}xi8>")
blob = "0x04000000" + w.astype("<f4").tobytes().hex()
with open(a.mlir, "w") as f:
    f.write(f"""func.func @pack_constant() -> (tensor<{m}x{row_bytes}xi8>, {scales}) {{
  %w = arith.constant dense_resource<weights> : tensor<{m}x{k}xf32>
  %t, %s = sherry.ternarize %w layout{layout}
             : tensor<{m}x{k}xf32> -> tensor<{m}x{k}xi8>, {scales}
  {pack}
  return %p, %s : tensor<{m}x{row_bytes}xi8>, {scales}
}}

{{-#
  dialect_resources: {{
    builtin: {{
      weights: "{blob}"
    }}
  }}
#-}}
""")
