#!/usr/bin/env python3
"""Writes a small llama.cpp-like GGUF file, independently of sherry's writer.

Usage: make_gguf.py OUT [--stq-type N] [--alignment A] [--no-metadata]
                        [--no-q8] [--nan-scale] [--version V]
                        [--file-type F] [--odd-values]

The layout follows ggml's docs/gguf.md: header, metadata, tensor infos
(dims innermost first), zero padding to the alignment, then each tensor's
bytes padded to the alignment. Tensors, in this order:
  token_embd.weight       f16    [64, 8]
  blk.0.attn_q.weight     stq1_0 [512, 16]  (random block bytes, f16 d)
  blk.0.attn_norm.weight  f32    [512]
  blk.0.ffn_up.weight     stq1_0 [256, 24]
  output.weight           q8_0   [64, 4]    (left out by --no-q8)
--nan-scale makes the d of attn_q's first block a NaN. --file-type adds
general.file_type (u32) after the other metadata. --odd-values adds, last,
a key and a string that are not UTF-8 and f32/f64 NaN and infinities.
"""
import argparse
import struct

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--stq-type", type=int, default=42)
p.add_argument("--alignment", type=int)
p.add_argument("--no-metadata", action="store_true")
p.add_argument("--no-q8", action="store_true")
p.add_argument("--nan-scale", action="store_true")
p.add_argument("--version", type=int, default=3)
p.add_argument("--file-type", type=int)
p.add_argument("--odd-values", action="store_true")
a = p.parse_args()

rng = np.random.default_rng(6)


def gguf_str(s):
    raw = s if isinstance(s, bytes) else s.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f",
          7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def value(vtype, v):
    if vtype == 8:
        return gguf_str(v)
    if vtype == 9:
        etype, items = v
        out = struct.pack("<IQ", etype, len(items))
        for item in items:
            # Elements of an array of arrays are arrays without a type tag.
            out += value(etype, item)
        return out
    return struct.pack(SCALAR[vtype], v)


metadata = []
if not a.no_metadata:
    metadata = [
        ("general.architecture", 8, "llama"),
        ("general.name", 8, "sherry test \u2581model"),
        ("llama.block_count", 4, 1),
        ("llama.rope.freq_base", 6, 500000.0),
        ("llama.attention.layer_norm_rms_epsilon", 6, 1e-5),
        ("test.u8", 0, 255), ("test.i8", 1, -5), ("test.u16", 2, 65535),
        ("test.i16", 3, -300), ("test.i32", 5, -70000), ("test.bool", 7, True),
        ("test.u64", 10, 1 << 40), ("test.i64", 11, -(1 << 50)),
        ("test.f64", 12, 3.141592653589793),
        ("tokenizer.ggml.tokens", 9, (8, ["<s>", "</s>", "\u2581the", ""])),
        ("tokenizer.ggml.scores", 9, (6, [0.0, -1.5, -2.25, -3.0])),
        ("tokenizer.ggml.token_type", 9, (5, [3, 3, 1, 1])),
        ("test.nested", 9, (9, [(4, [1, 2]), (8, ["x"])])),
        ("test.empty", 9, (0, [])),
    ]
if a.alignment is not None:
    metadata.append(("general.alignment", 4, a.alignment))
if a.file_type is not None:
    metadata.append(("general.file_type", 4, a.file_type))
if a.odd_values:
    metadata += [
        (b"test.bad\xff", 8, b"a\xfe\x00b"),
        ("test.nan", 6, float("nan")),
        ("test.inf", 12, float("inf")),
        ("test.ninf", 9, (6, [float("-inf"), 1.0])),
    ]
align = a.alignment or 32


def stq_bytes(rows, cols):
    blocks = rows * cols // 256
    qs_sign = rng.integers(0, 256, size=(blocks, 40), dtype=np.uint8)
    d = rng.uniform(0.01, 0.1, size=blocks).astype(np.float16)
    out = np.concatenate([qs_sign, d.view(np.uint8).reshape(blocks, 2)], 1)
    return out.tobytes()


tensors = [
    ("token_embd.weight", [64, 8], 1,
     rng.normal(0, 1, 512).astype(np.float16).tobytes()),
    ("blk.0.attn_q.weight", [512, 16], a.stq_type, stq_bytes(16, 512)),
    ("blk.0.attn_norm.weight", [512], 0,
     rng.normal(1, 0.1, 512).astype(np.float32).tobytes()),
    ("blk.0.ffn_up.weight", [256, 24], a.stq_type, stq_bytes(24, 256)),
]
if not a.no_q8:
    tensors.append(("output.weight", [64, 4], 8,
                    rng.integers(0, 256, 8 * 34, dtype=np.uint8).tobytes()))
if a.nan_scale:
    name, dims, ttype, data = tensors[1]
    data = bytearray(data)
    data[40:42] = b"\x00\x7e"
    tensors[1] = (name, dims, ttype, bytes(data))


def padding(n):
    return b"\0" * ((align - n % align) % align)


out = b"GGUF" + struct.pack("<IQQ", a.version, len(tensors), len(metadata))
for key, vtype, v in metadata:
    out += gguf_str(key) + struct.pack("<I", vtype) + value(vtype, v)
offset = 0
for name, dims, ttype, data in tensors:
    out += gguf_str(name) + struct.pack("<I", len(dims))
    out += b"".join(struct.pack("<Q", d) for d in dims)
    out += struct.pack("<IQ", ttype, offset)
    offset += len(data) + len(padding(len(data)))
out += padding(len(out))
for _name, _dims, _ttype, data in tensors:
    out += data + padding(len(data))
with open(a.out, "wb") as f:
    f.write(out)
