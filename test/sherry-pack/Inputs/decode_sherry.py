#!/usr/bin/env python3
"""Decodes a .sherry file from the spec alone (docs/format.md: the file
header of section 6.1, the codebook of section 2, the layouts of section 3)
and compares it with the .npy files `sherry-pack unpack` wrote.

Usage: decode_sherry.py FILE.sherry TERNARY.npy [DEQUANTIZED.npy]
"""
import struct
import sys

import numpy as np

CODEBOOK = bytes.fromhex("A9 89 29 09 A6 86 26 06 9A 92 1A 12 6A 62 4A 42"
                         "01 21 81 A1 04 24 84 A4 10 18 90 98 40 48 60 68")
# LUT[code, p] = lane p of the group, in {-1, 0, 1}.
LUT = np.array([[((b >> (2 * p)) & 3) - 1 for p in range(4)]
                for b in CODEBOOK], dtype=np.int8)


def codes(slots, signs, n):
    """The 5-bit codes of groups 0..n-1 from slot and sign bytes."""
    g = np.arange(n)
    slot = (slots[..., g // 2] >> ((g % 2) * 4)) & 0xF
    sign = (signs[..., g // 8] >> (g % 8)) & 1
    return (sign << 4) | slot


data = open(sys.argv[1], "rb").read()
(magic, version, layout, gran, reserved, m, k, gsize, ndata,
 nscales) = struct.unpack_from("<8sIIIIqqqQQ", data, 0)
assert magic == b"SHERRYW\0" and version == 1 and reserved == 0
assert len(data) == 64 + ndata + 4 * nscales, "file size"
body = np.frombuffer(data, np.uint8, ndata, 64)

if layout == 0:  # sherry: K/8 slot bytes, then K/32 sign bytes per row
    rows = body.reshape(m, k // 8 + k // 32)
    t = LUT[codes(rows[:, :k // 8], rows[:, k // 8:], k // 4)].reshape(m, k)
    scales = np.frombuffer(data, "<f4", nscales, 64 + ndata)
    alpha = {0: lambda: np.full((m, k), scales[0], np.float32),
             1: lambda: np.repeat(scales.reshape(m, 1), k, axis=1),
             2: lambda: np.repeat(scales.reshape(m, k // gsize), gsize,
                                  axis=1)}[gran]()
    name = "sherry"
else:  # stq1_0: 42-byte blocks of 256, group g of a block holds 64c+l+16p
    assert gran == 2 and gsize == 256 and nscales == 0
    blocks = body.reshape(m, k // 256, 42)
    groups = LUT[codes(blocks[..., :32], blocks[..., 32:40], 64)]
    g, p = np.meshgrid(np.arange(64), np.arange(4), indexing="ij")
    element = 64 * (g // 16) + g % 16 + 16 * p
    t = np.zeros((m, k // 256, 256), np.int8)
    t[:, :, element] = groups
    t = t.reshape(m, k)
    d = blocks[..., 40:42].copy().view("<f2")[..., 0].astype(np.float32)
    alpha = np.repeat(d, 256, axis=1)
    name = "stq1_0"

unpacked = np.load(sys.argv[2])
assert unpacked.dtype == np.int8 and (unpacked == t).all(), "ternary differs"
if len(sys.argv) > 3:
    dq = np.load(sys.argv[3])
    assert dq.dtype == np.float32
    assert (dq == alpha * t.astype(np.float32)).all(), "dequantized differs"
print(f"decode_sherry: {name} {m} x {k} OK")
