#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (docs/reliability.md).

  fuzz/make-seeds.py SHERRY_PACK OUT_DIR

OUT_DIR/fuzz-format: .npy arrays and .sherry files (made with SHERRY_PACK)
behind the mode byte FuzzFormat.cpp reads, plus packed-weight parameter
inputs; OUT_DIR/fuzz-gguf: GGUF files from `sherry-pack gguf-pack`;
OUT_DIR/fuzz-mlir: each `// -----` split of the test/**/*.mlir files that
use the sherry dialect.
"""
import os
import random
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def npy(shape, dtype, values):
    descr = {"f4": "<f4", "f2": "<f2", "i1": "|i1"}[dtype]
    shape_s = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_s)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    fmt = {"f4": "f", "f2": "e", "i1": "b"}[dtype]
    body = struct.pack("<%d%s" % (len(values), fmt), *values)
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def main():
    pack, out = sys.argv[1], sys.argv[2]
    rnd = random.Random(1)
    dirs = {t: os.path.join(out, t) for t in ("fuzz-format", "fuzz-gguf", "fuzz-mlir")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)

    def put(target, name, data):
        with open(os.path.join(dirs[target], name), "wb") as f:
            f.write(data)

    with tempfile.TemporaryDirectory() as tmp:
        sherry_files = []
        for i, (m, k, args) in enumerate([
                (4, 32, ["--granularity=row"]),
                (2, 64, ["--granularity=tensor"]),
                (3, 64, ["--granularity=group", "--group-size=16"]),
                (2, 256, ["--layout=stq1_0"]),
                (1, 512, ["--layout=stq1_0"])]):
            vals = [rnd.uniform(-1, 1) for _ in range(m * k)]
            w = os.path.join(tmp, f"w{i}.npy")
            with open(w, "wb") as f:
                f.write(npy((m, k), "f4", vals))
            s = os.path.join(tmp, f"w{i}.sherry")
            subprocess.run([pack, "pack", w, "-o", s] + args, check=True,
                           stdout=subprocess.DEVNULL)
            sherry_files.append(s)
            with open(s, "rb") as f:
                put("fuzz-format", f"packed-file-{i}", b"\x02" + f.read())
        put("fuzz-format", "npy-f32", b"\x01" + npy((2, 3), "f4", [1, 2, 3, 4, 5, 6]))
        put("fuzz-format", "npy-f16", b"\x01" + npy((4,), "f2", [0.5, -1, 2, 0]))
        put("fuzz-format", "npy-i8", b"\x01" + npy((2, 2), "i1", [-1, 0, 1, 0]))
        # Mode 0: flags, rows, cols, granularity [, group], then data bytes.
        for i, head in enumerate([b"\x00\x00\x03\x01\x01", b"\x00\x01\x00\x01\x00",
                                  b"\x00\x01\x01\x00\x02\x03", b"\x00\x00\x00\x00\x00"]):
            put("fuzz-format", f"packed-params-{i}",
                head + bytes(rnd.randrange(256) for _ in range(256)))

        # GGUF: stq1_0 tensors alone and next to an f32 tensor.
        f32 = os.path.join(tmp, "norm.npy")
        with open(f32, "wb") as f:
            f.write(npy((8,), "f4", [1.0] * 8))
        for i, names in enumerate([["blk.0.w=" + sherry_files[3]],
                                   ["a=" + sherry_files[3], "b=" + sherry_files[4],
                                    "norm=" + f32]]):
            g = os.path.join(tmp, f"m{i}.gguf")
            subprocess.run([pack, "gguf-pack"] + names + ["-o", g], check=True,
                           stdout=subprocess.DEVNULL)
            with open(g, "rb") as f:
                data = f.read()
            put("fuzz-gguf", f"gguf-{i}", b"\x00" + data)

    n = 0
    for base, _, files in os.walk(os.path.join(ROOT, "test")):
        for name in sorted(files):
            if not name.endswith(".mlir"):
                continue
            with open(os.path.join(base, name)) as f:
                text = f.read()
            if "sherry." not in text:
                continue
            for j, part in enumerate(text.split("// -----")):
                if "sherry." not in part:
                    continue
                lines = [l for l in part.splitlines()
                         if not l.lstrip().startswith("// RUN")
                         and not l.lstrip().startswith("// CHECK")]
                put("fuzz-mlir", f"{name[:-5]}-{j}", "\n".join(lines).encode())
                n += 1
    print("seeds:", {t: len(os.listdir(d)) for t, d in dirs.items()})


if __name__ == "__main__":
    main()
