#!/usr/bin/env python3
"""Extracts the ```mlir blocks of a Markdown page into one .mlir file, each
block separated by `// -----` so that `sherry-opt -split-input-file` checks
them one by one; with --block N, only the Nth (from 1), a whole module.

Usage: doc-examples.py PAGE.md OUT.mlir [--block N]
"""
import argparse
import re
import sys

ap = argparse.ArgumentParser()
ap.add_argument("page")
ap.add_argument("out")
ap.add_argument("--block", type=int, default=0,
                help="write only this block (1 is the first)")
a = ap.parse_args()
blocks = re.findall(r"```mlir\n(.*?)```", open(a.page).read(), re.S)
if not blocks:
    sys.exit(f"doc-examples: no ```mlir blocks in {a.page}")
if a.block:
    if not 1 <= a.block <= len(blocks):
        sys.exit(f"doc-examples: {a.page} has {len(blocks)} ```mlir blocks, "
                 f"no block {a.block}")
    picked = [blocks[a.block - 1]]
else:
    picked = blocks
with open(a.out, "w") as f:
    f.write("\n// -----\n".join(picked))
print(f"doc-examples: {len(blocks)} blocks from {a.page}")
