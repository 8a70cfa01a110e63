#!/usr/bin/env python3
"""Writes test arrays as .npy: seeded normal weights, or odd files.

Usage: make_npy.py OUT --rows M --cols K [--dtype f32|f16|f64|i8]
                   [--nan-at R,C] [--ndim 1|3] [--fortran]
"""
import argparse

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--rows", type=int, default=64)
p.add_argument("--cols", type=int, default=256)
p.add_argument("--dtype", default="f32")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--nan-at")
p.add_argument("--ndim", type=int, default=2)
p.add_argument("--fortran", action="store_true")
a = p.parse_args()

rng = np.random.default_rng(a.seed)
w = rng.normal(0, 0.02, size=(a.rows, a.cols))
if a.nan_at:
    r, c = map(int, a.nan_at.split(","))
    w[r, c] = np.nan
w = w.astype({"f32": np.float32, "f16": np.float16, "f64": np.float64,
              "i8": np.int8}[a.dtype])
if a.ndim == 1:
    w = w.reshape(-1)
elif a.ndim == 3:
    w = w.reshape(1, a.rows, a.cols)
if a.fortran:
    w = np.asfortranarray(w)
np.save(a.out, w)
