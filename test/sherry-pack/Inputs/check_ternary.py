#!/usr/bin/env python3
"""Checks an unpacked ternary .npy against its float source.

Usage: check_ternary.py WEIGHTS.npy TERNARY.npy [--stq1_0]
Groups are 4 consecutive K elements (sherry) or, with --stq1_0, elements
64c + l + 16p of each 256-block. Every group must hold exactly one zero, at
the smallest |w| (lowest lane on ties), and keep sign(w) elsewhere.
"""
import sys

import numpy as np

w = np.load(sys.argv[1]).astype(np.float32)
t = np.load(sys.argv[2])
stq = "--stq1_0" in sys.argv
assert t.dtype == np.int8 and t.shape == w.shape, (t.dtype, t.shape)
m, k = w.shape
if stq:
    # (m, block, chunk, lane p, l) -> groups over p.
    order = lambda a: a.reshape(m, k // 256, 4, 4, 16).transpose(0, 1, 2, 4, 3)
else:
    order = lambda a: a.reshape(m, k // 4, 4)
gw, gt = order(np.abs(w)).reshape(-1, 4), order(t).reshape(-1, 4)
assert ((gt == 0).sum(axis=1) == 1).all(), "a group without exactly one zero"
assert (np.argmin(gw, axis=1) == np.argmax(gt == 0, axis=1)).all(), \
    "a zero not at the smallest |w|"
sw = order(np.where(w < 0, -1, 1)).reshape(-1, 4)
assert ((gt == 0) | (gt == sw)).all(), "a sign differs"
print(f"check_ternary: {gt.shape[0]} groups OK")
