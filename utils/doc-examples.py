#!/usr/bin/env python3
"""Extracts the ```mlir blocks of a Markdown page into one .mlir file, each
block separated by `// -----` so that `sherry-opt -split-input-file` checks
them one by one.

Usage: doc-examples.py PAGE.md OUT.mlir
"""
import re
import sys

page, out = sys.argv[1], sys.argv[2]
blocks = re.findall(r"```mlir\n(.*?)```", open(page).read(), re.S)
if not blocks:
    sys.exit(f"doc-examples: no ```mlir blocks in {page}")
with open(out, "w") as f:
    f.write("\n// -----\n".join(blocks))
print(f"doc-examples: {len(blocks)} blocks from {page}")
