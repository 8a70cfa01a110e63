#!/usr/bin/env python3
"""Recomputes the relative L2 error that `sherry-pack pack` reports.

Usage: check_error.py WEIGHTS.npy DEQUANTIZED.npy REPORT
Computes ||W - W'|| / ||W|| in float64 from the source weights and the
dequantized weights `sherry-pack unpack` wrote, and compares it with the
report's `relative-l2-error:` line (printed with 6 decimals).
"""
import sys

import numpy as np

w = np.load(sys.argv[1]).astype(np.float64)
d = np.load(sys.argv[2]).astype(np.float64)
want = np.sqrt(((w - d) ** 2).sum() / (w ** 2).sum())
lines = [l for l in open(sys.argv[3]) if l.startswith("relative-l2-error:")]
assert len(lines) == 1, lines
got = float(lines[0].split(":")[1])
assert abs(got - want) <= 5e-7, (got, want)
print(f"check_error: {got:.6f} OK")
