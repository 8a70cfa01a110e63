#!/usr/bin/env python3
"""Writes test arrays as .npy: seeded normal weights, or odd files.

Usage: make_npy.py OUT --rows M --cols K [--dtype f32|f16|f64|i8|>f4]
                   [--std S] [--seed N] [--nan-at R,C] [--inf-at R,C]
                   [--ndim 1|3] [--fortran] [--convertible]

--convertible puts the smallest |w| of every group where both layouts agree
on it: at K offsets 16p + 4j + p (p, j = 0..3) of each 64-element chunk, one
per sherry group (4 consecutive) and one per stq1_0 group (stride 16), so
the packed weights convert between the layouts.
"""
import argparse

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--rows", type=int, default=64)
p.add_argument("--cols", type=int, default=256)
p.add_argument("--dtype", default="f32")
p.add_argument("--std", type=float, default=0.02)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--nan-at")
p.add_argument("--inf-at")
p.add_argument("--ndim", type=int, default=2)
p.add_argument("--fortran", action="store_true")
p.add_argument("--convertible", action="store_true")
a = p.parse_args()

rng = np.random.default_rng(a.seed)
w = rng.normal(0, a.std, size=(a.rows, a.cols))
if a.convertible:
    assert a.cols % 64 == 0
    w = np.sign(w) * (a.std + np.abs(w))
    zeros = [16 * p + 4 * j + p for p in range(4) for j in range(4)]
    for c in range(0, a.cols, 64):
        w[:, [c + z for z in zeros]] *= 0.01
for spec, value in ((a.nan_at, np.nan), (a.inf_at, np.inf)):
    if spec:
        r, c = map(int, spec.split(","))
        w[r, c] = value
w = w.astype({"f32": np.float32, "f16": np.float16, "f64": np.float64,
              "i8": np.int8, ">f4": np.dtype(">f4")}[a.dtype])
if a.ndim == 1:
    w = w.reshape(-1)
elif a.ndim == 3:
    w = w.reshape(1, a.rows, a.cols)
if a.fortran:
    w = np.asfortranarray(w)
np.save(a.out, w)
