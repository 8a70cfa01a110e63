#!/usr/bin/env python3
"""Copies a file with a few bytes changed, to make malformed inputs.

Usage: patch_bytes.py IN OUT [--u16|--u32|--u64 OFFSET=VALUE]
                             [--f32 OFFSET=VALUE] [--truncate N] [--append N]
Integers are written little endian; VALUE may be negative or 0x-prefixed;
--f32 takes a Python float ('nan', 'inf'). Options apply in that order.
"""
import argparse
import struct

p = argparse.ArgumentParser()
p.add_argument("src")
p.add_argument("dst")
p.add_argument("--u16", action="append", default=[])
p.add_argument("--u32", action="append", default=[])
p.add_argument("--u64", action="append", default=[])
p.add_argument("--f32", action="append", default=[])
p.add_argument("--truncate", type=int)
p.add_argument("--append", type=int)
a = p.parse_args()

data = bytearray(open(a.src, "rb").read())
for fmt, items in (("<H", a.u16), ("<I", a.u32), ("<Q", a.u64), ("<f", a.f32)):
    for item in items:
        offset, value = item.split("=")
        if fmt == "<f":
            v = float(value)
        else:
            v = int(value, 0) % (1 << (8 * struct.calcsize(fmt)))
        struct.pack_into(fmt, data, int(offset, 0), v)
if a.truncate is not None:
    del data[a.truncate:]
if a.append:
    data += bytes(a.append)
open(a.dst, "wb").write(bytes(data))
