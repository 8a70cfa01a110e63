#!/usr/bin/env python3
"""Writes a seeded M x K float32 weight matrix as .npy (normal, std 0.02)."""
import argparse

import numpy as np

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("output")
parser.add_argument("--rows", type=int, default=2048)
parser.add_argument("--cols", type=int, default=2048)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

rng = np.random.default_rng(args.seed)
w = rng.normal(0.0, 0.02, size=(args.rows, args.cols)).astype(np.float32)
np.save(args.output, w)
