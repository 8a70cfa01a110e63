#!/usr/bin/env python3
"""Checks unpacked ternary weights against the float weights they came from.

Every group of 4 along K holds exactly one zero, at the smallest |w|, and the
other lanes carry sign(w).
"""
import sys

import numpy as np

w = np.load(sys.argv[1])
t = np.load(sys.argv[2])
groups_w = np.abs(w.reshape(w.shape[0], -1, 4))
groups_t = t.reshape(t.shape[0], -1, 4)
zeros = (groups_t == 0).sum(axis=2)
assert (zeros == 1).all(), "a group without exactly one zero"
assert (np.argmin(groups_w, axis=2) == np.argmin(np.abs(groups_t), axis=2)).all()
signs = np.where(w >= 0, 1, -1).reshape(groups_t.shape)
assert ((groups_t == 0) | (groups_t == signs)).all(), "a sign differs"
print(f"check: {groups_t.shape[0] * groups_t.shape[1]} groups, "
      "exactly one zero each at the smallest |w|, signs kept")
