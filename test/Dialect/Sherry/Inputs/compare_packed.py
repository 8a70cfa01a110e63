#!/usr/bin/env python3
"""Compares the packed bytes that `sherry-opt -canonicalize` folded into a
constant with the data section of a .sherry file that sherry-pack wrote.

Usage: compare_packed.py FOLDED.mlir PACKED.sherry
"""
import re
import struct
import sys

text = open(sys.argv[1]).read()
raw = open(sys.argv[2], "rb").read()
data_bytes, = struct.unpack_from("<Q", raw, 48)
data = raw[64:64 + data_bytes]

if "sherry.pack" in text or "sherry.ternarize" in text:
    sys.exit("compare_packed: the sherry ops did not fold")
# The packed constant is the one dense_resource blob besides the input.
blobs = dict(re.findall(r'(\w+): "0x([0-9A-Fa-f]+)"', text))
packed = [bytes.fromhex(v)[4:] for k, v in blobs.items()
          if k.startswith("sherry_packed")]
if len(packed) != 1:
    sys.exit(f"compare_packed: expected one sherry_packed blob, got {list(blobs)}")
if packed[0] != data:
    first = next(i for i, (x, y) in enumerate(zip(packed[0], data)) if x != y) \
        if len(packed[0]) == len(data) else None
    sys.exit(f"compare_packed: bytes differ ({len(packed[0])} folded vs "
             f"{len(data)} packed; first difference at {first})")
print(f"compare_packed: {len(data)} bytes identical")
