#!/usr/bin/env python3
"""Writes the benchmark kernels as MLIR, their build graph and a C++ table.

Every kernel is a destination-passing function marked
`llvm.emit_c_interface`, so C++ calls `_mlir_ciface_<name>` with memref
descriptors. The result is written in place into the last argument (a memref,
through `bufferization.materialize_in_destination`): no result buffer is
allocated or copied per call. What the call does include is everything the
kernel does itself: for sherry.matmul in int8 mode, quantizing the f32
activations to int8 (absmax per row) and the matmul.

  sherry_<variant>_<M>x<K>_n<N>(x: NxK f32, packed: M x (K/8+K/32) i8,
                                scales: M f32, out: NxM f32 memref)
      out = out + x * W'^T, layout <sherry, row>, mode int8, compiled with
      --sherry-to-llvm="target=<target> threads=<T> ...".
      The *tables_* variants compile their packed weights in (the bytes the
      harness generates, from the same seeded xorshift64*), as a model whose
      weights are constants is compiled. Their `packed` argument is then
      unused.
  sherry_<variant>_<M>x<K>_n<N>(x, packed: bytes i8, scales, out) for the
      *rtables_* variants: the same weights passed at run time in the
      tables layout (`layout<tables, row, order = O, tile_block = B>`, the
      bytes format::toTables makes of them), as a model loaded at run time
      is compiled; strategy=auto takes them to the activation-table kernel.
  sherry_<variant>_L<l>(...): one function per layer l of the whole-model
      decode step, for the DECODE_STEP variants with weights compiled in
      (each with that layer's 7 matrices).
  sherry_<variant>_layer(...): for the *rtables_* variants, one function of
      a layer's 7 matmuls on weights passed as arguments in the tables
      layout, called for every layer of the decode step.
  mlirf32_t1_<M>x<K>_n<N>(x: NxK f32, w: MxK f32, out: NxM f32 memref)
      out = out + x * W^T as one linalg.matmul, tiled and vectorized by
      upstream transforms (kernels/f32_schedule_n<N>.mlir, the transform
      script below), then --sherry-to-llvm.

Writes into OUT: kernels/*.mlir, build.ninja (sherry-opt, mlir-translate,
clang -c, then the harness), kernels.h (declarations and tables for
bench/bench.cpp) and manifest.json.

Usage: gen_kernels.py OUT --root REPO --sherry-opt BIN [--smoke]
                          [--no-mlir-f32] [--variants NAME,...]
"""
import argparse
import json
import os
import shlex
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "utils"))
from x86_cpu import cpu_flags, missing_flags  # noqa: E402

# LLaMA-3.2-1B linear layers: (M, K) = (out features, in features).
SHAPES = [(2048, 2048), (512, 2048), (8192, 2048), (2048, 8192)]
BATCHES = [1, 128]
SMOKE_SHAPES = [(64, 256)]
SMOKE_BATCHES = [1, 3]

# Pipeline variants of sherry.matmul: name -> (target, threads, options).
VARIANTS = {
    "portable_t1": ("portable", 1, "target=portable threads=1"),
    "portable_t2": ("portable", 2,
                    "target=portable threads=2 row-tile=64"),
    "vnni_t1": ("avx512-vnni", 1, "target=avx512-vnni threads=1"),
    "vnni_t2": ("avx512-vnni", 2,
                "target=avx512-vnni threads=2 row-tile=64"),
    "avx512bw_t1": ("avx512-bw", 1, "target=avx512-bw threads=1"),
    "avx512bw_t2": ("avx512-bw", 2,
                    "target=avx512-bw threads=2 row-tile=64"),
    "avx2_t1": ("avx2", 1, "target=avx2 threads=1"),
    "avx2_t2": ("avx2", 2, "target=avx2 threads=2 row-tile=64"),
    "tables_t1": ("avx512-vnni", 1,
                  "target=avx512-vnni strategy=tables threads=1"),
    "tables_t2": ("avx512-vnni", 2,
                  "target=avx512-vnni strategy=tables threads=2"),
    "calltables_t1": ("avx512-vnni", 1,
                      "target=avx512-vnni strategy=tables table-build=call "
                      "threads=1"),
    "calltables_t2": ("avx512-vnni", 2,
                      "target=avx512-vnni strategy=tables table-build=call "
                      "threads=2"),
    "bytetables_t1": ("avx512-vnni", 1,
                      "target=avx512-vnni strategy=tables table-lookup=bytes "
                      "threads=1"),
    "bwtables_t1": ("avx512-bw", 1,
                    "target=avx512-bw strategy=tables threads=1"),
    "bwtables_t2": ("avx512-bw", 2,
                    "target=avx512-bw strategy=tables threads=2"),
    "avx2tables_t1": ("avx2", 1, "target=avx2 strategy=tables threads=1"),
    "avx2tables_t2": ("avx2", 2, "target=avx2 strategy=tables threads=2"),
    # Weights passed at run time in the tables layout; strategy=auto.
    "rtables_t1": ("avx512-vnni", 1, "target=avx512-vnni threads=1"),
    "rtables_t2": ("avx512-vnni", 2, "target=avx512-vnni threads=2"),
    "bwrtables_t1": ("avx512-bw", 1, "target=avx512-bw threads=1"),
    "bwrtables_t2": ("avx512-bw", 2, "target=avx512-bw threads=2"),
    "avx2rtables_t1": ("avx2", 1, "target=avx2 threads=1"),
    "avx2rtables_t2": ("avx2", 2, "target=avx2 threads=2"),
}
# Variants whose weights are arguments in the tables layout: (order, tile
# block), the layout the target's table kernel reads (docs/pipelines.md):
# vpermw word tables built per step on avx512-vnni, vpshufb byte tables on
# avx512-bw (4 tiles a block) and avx2 (2).
RUNTIME_TABLES = {"rtables_t1": ("words", 16), "rtables_t2": ("words", 16),
                  "bwrtables_t1": ("lanes", 4), "bwrtables_t2": ("lanes", 4),
                  "avx2rtables_t1": ("lanes", 2),
                  "avx2rtables_t2": ("lanes", 2)}
# Variants whose packed weights are compile-time constants.
CONSTANT_WEIGHTS = {"tables_t1", "tables_t2", "calltables_t1",
                    "calltables_t2", "bytetables_t1", "bwtables_t1",
                    "bwtables_t2", "avx2tables_t1", "avx2tables_t2"}
# Variants timed on the whole-model decode step (16 layer functions each).
DECODE_STEP = {"tables_t1", "tables_t2", "calltables_t1", "calltables_t2",
               "bytetables_t1", "bwtables_t1", "bwtables_t2", "avx2tables_t1",
               "avx2tables_t2"} | set(RUNTIME_TABLES)
# LLaMA-3.2-1B's decode step: 16 layers of q, k, v, o, gate, up, down, the
# seeds bench.cpp's model() uses.
LAYERS = 16
LAYER_SHAPES = [(2048, 2048), (512, 2048), (512, 2048), (2048, 2048),
                (8192, 2048), (8192, 2048), (2048, 8192)]


def shape_seed(m, k):
    """bench.cpp's weights(m, k) seed."""
    return m * 131 + k


def layer_seed(layer, j):
    """bench.cpp's model() seed of matrix j of a layer."""
    return 1000 + 7 * layer + j


def packed_bytes(m, k, seed):
    """The bytes bench.cpp's SherryWeights(m, k, seed) fills in (xorshift64*,
    8 bytes a draw, little endian); its scales come after, from the same
    generator, and are not needed here."""
    mask = (1 << 64) - 1
    s = (seed * 0x9E3779B97F4A7C15 + 1) & mask
    n = m * (k // 8 + k // 32)
    out = bytearray()
    while len(out) < n:
        s ^= s >> 12
        s ^= (s << 25) & mask
        s ^= s >> 27
        v = ((s * 0x2545F4914F6CDD1D) & mask).to_bytes(8, "little")
        out += v if len(out) + 8 <= n else v[:1]
    return bytes(out)


def tables_bytes(m, k, order):
    """format::tableDataBytes for row scales: 80 bytes per step of a tile
    (32 rows x 16 K elements), and in the lanes order each row's count of
    negative groups (1 byte up to 255 groups, 2 above)."""
    tiles = (m + 31) // 32
    n = tiles * (k // 16) * 80
    if order == "lanes":
        n += tiles * 32 * (1 if k // 4 <= 255 else 2)
    return n


def weights_type(m, k, tables):
    """The packed weights' tensor type and the matmul's layout attribute:
    M x (K/8+K/32) bytes <sherry, row>, or with `tables` (order, block) the
    tables layout's bytes."""
    if tables is None:
        return tensor((m, k // 8 + k // 32), "i8"), "<sherry, row>"
    order, block = tables
    return (tensor((tables_bytes(m, k, order),), "i8"),
            f"<tables, row, order = {order}, tile_block = {block}>")


# Upstream f32 schedule: tile sizes [N, M, K] of linalg.matmul.
F32_TILES = {1: (1, 8, 64), "default": (4, 8, 64)}


def tensor(shape, elt):
    return "tensor<" + "x".join(str(d) for d in shape) + "x" + elt + ">"


def memref(shape, elt):
    return "memref<" + "x".join(str(d) for d in shape) + "x" + elt + ">"


def sherry_kernel(name, m, k, n, seed=None, tables=None):
    """sherry.matmul, int8 mode, <sherry, row>, writing into %out; with
    `seed`, on the packed weights of that seed compiled in; with `tables`,
    on weights in the tables layout."""
    x = tensor((n, k), "f32")
    p, layout = weights_type(m, k, tables)
    s, y, o = tensor((m,), "f32"), tensor((n, m), "f32"), memref((n, m), "f32")
    weights, blob = "%p", ""
    if seed is not None:
        weights = "%pc"
        blob = ("{-#\n  dialect_resources: {\n    builtin: {\n"
                f'      w: "0x01000000{packed_bytes(m, k, seed).hex()}"\n'
                "    }\n  }\n#-}\n")
    const = (f"  %pc = arith.constant dense_resource<w> : {p}\n"
             if seed is not None else "")
    return f"""func.func @{name}(%x: {x}, %p: {p}, %s: {s}, %out: {o})
    attributes {{llvm.emit_c_interface}} {{
{const}  %i = bufferization.to_tensor %out restrict writable : {o} to {y}
  %y = sherry.matmul ins(%x, {weights} : {x}, {p}) scales(%s : {s})
         outs(%i : {y}) layout{layout} mode<int8> -> {y}
  bufferization.materialize_in_destination %y in restrict writable %out
    : ({y}, {o}) -> ()
  return
}}
""" + blob


def sherry_layer_kernel(name, layer, tables=None):
    """One layer of the decode step: its 7 sherry.matmul ops (int8 mode,
    row scales) on the packed weights of `layer` compiled in, or with
    `tables` on weights %w0..%w6 passed in the tables layout; q/k/v read
    %x0, o %x1, gate/up %x2 and down %x3; every result is materialized after
    the last matmul, so that the pipeline can lower q, k and v, and gate and
    up, together."""
    inputs = [0, 0, 0, 1, 2, 2, 3]
    args = [f"%x{i}: {tensor((1, k), 'f32')}"
            for i, k in enumerate([2048, 2048, 2048, 8192])]
    if tables is not None:
        args += [f"%w{j}: {weights_type(m, k, tables)[0]}"
                 for j, (m, k) in enumerate(LAYER_SHAPES)]
    args += [f"%s{j}: {tensor((m,), 'f32')}"
             for j, (m, _) in enumerate(LAYER_SHAPES)]
    args += [f"%y{j}: {memref((1, m), 'f32')}"
             for j, (m, _) in enumerate(LAYER_SHAPES)]
    body, tail, blobs = [], [], []
    for j, (m, k) in enumerate(LAYER_SHAPES):
        x = tensor((1, k), "f32")
        p, layout = weights_type(m, k, tables)
        s, y, o = tensor((m,), "f32"), tensor((1, m), "f32"), memref((1, m),
                                                                      "f32")
        if tables is None:
            body.append(f"  %w{j} = arith.constant dense_resource<w{j}> : {p}")
            blobs.append(f'      w{j}: "0x01000000'
                         f'{packed_bytes(m, k, layer_seed(layer, j)).hex()}"')
        body += [
            f"  %i{j} = bufferization.to_tensor %y{j} restrict writable : "
            f"{o} to {y}",
            f"  %r{j} = sherry.matmul ins(%x{inputs[j]}, %w{j} : {x}, {p}) "
            f"scales(%s{j} : {s})",
            f"         outs(%i{j} : {y}) layout{layout} mode<int8> -> {y}"]
        tail.append(f"  bufferization.materialize_in_destination %r{j} in "
                    f"restrict writable %y{j} : ({y}, {o}) -> ()")
    text = (f"func.func @{name}({', '.join(args)})\n"
            "    attributes {llvm.emit_c_interface} {\n" +
            "\n".join(body + tail) + "\n  return\n}\n")
    if blobs:
        text += ("{-#\n  dialect_resources: {\n    builtin: {\n" +
                 ",\n".join(blobs) + "\n    }\n  }\n#-}\n")
    return text


def f32_kernel(name, m, k, n):
    """One linalg.matmul with transposed weights (y = x * W^T)."""
    x, w = tensor((n, k), "f32"), tensor((m, k), "f32")
    y, o = tensor((n, m), "f32"), memref((n, m), "f32")
    return f"""#mx = affine_map<(n, m, k) -> (n, k)>
#mw = affine_map<(n, m, k) -> (m, k)>
#my = affine_map<(n, m, k) -> (n, m)>
func.func @{name}(%x: {x}, %w: {w}, %out: {o})
    attributes {{llvm.emit_c_interface}} {{
  %i = bufferization.to_tensor %out restrict writable : {o} to {y}
  %y = linalg.matmul indexing_maps = [#mx, #mw, #my]
         ins(%x, %w : {x}, {w}) outs(%i : {y}) -> {y}
  bufferization.materialize_in_destination %y in restrict writable %out
    : ({y}, {o}) -> ()
  return
}}
"""


F32_SCHEDULE = """module attributes {{transform.with_named_sequence}} {{
  transform.named_sequence @__transform_main(
      %root: !transform.any_op {{transform.readonly}}) {{
    %mm = transform.structured.match ops{{["linalg.matmul"]}} in %root
      : (!transform.any_op) -> !transform.any_op
    %t, %l:3 = transform.structured.tile_using_for %mm
      tile_sizes [{tn}, {tm}, {tk}] : (!transform.any_op)
      -> (!transform.any_op, !transform.any_op, !transform.any_op,
          !transform.any_op)
    transform.structured.vectorize %t : !transform.any_op
    %f = transform.structured.match ops{{["func.func"]}} in %root
      : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {{
      transform.apply_patterns.vector.lower_contraction
        lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_multi_reduction
        lowering_strategy = "innerreduction"
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.canonicalization
    }} : !transform.any_op
    transform.yield
  }}
}}
"""


def variant_info(v):
    """The manifest's record of a variant."""
    target, threads, pipeline = VARIANTS[v]
    info = {"target": target, "threads": threads, "pipeline": pipeline,
            "weights": ("compile-time" if v in CONSTANT_WEIGHTS
                        else "run-time"),
            "layout": "<sherry, row>"}
    if v in RUNTIME_TABLES:
        info["layout"] = weights_type(64, 64, RUNTIME_TABLES[v])[1]
    return info


def write_if_changed(path, text):
    """Keeps the file's time stamp when its text is the same (ninja)."""
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == text:
                return
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--root", required=True, help="repository root")
    ap.add_argument("--sherry-opt", required=True)
    ap.add_argument("--mlir-translate",
                    default="/usr/lib/llvm-22/bin/mlir-translate")
    ap.add_argument("--cc", default="clang-22")
    ap.add_argument("--cxx", default="clang++-22")
    ap.add_argument("--smoke", action="store_true",
                    help="one tiny shape, for a quick check")
    ap.add_argument("--no-mlir-f32", action="store_true",
                    help="leave out the upstream linalg.matmul baseline")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help="comma-separated subset of " + ",".join(VARIANTS))
    a = ap.parse_args()

    shapes = SMOKE_SHAPES if a.smoke else SHAPES
    batches = SMOKE_BATCHES if a.smoke else BATCHES
    variants = [v for v in a.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            ap.error(f"unknown variant '{v}'")
    # Only what this CPU runs (the harness calls every kernel).
    flags = cpu_flags()
    runnable = [v for v in variants
                if not missing_flags(VARIANTS[v][0], flags)]
    for v in sorted(set(variants) - set(runnable)):
        print(f"gen_kernels.py: skipping {v}: this CPU lacks "
              f"{' '.join(sorted(missing_flags(VARIANTS[v][0], flags)))}")
    variants = runnable

    kdir = os.path.join(a.out, "kernels")
    os.makedirs(kdir, exist_ok=True)
    kernels = []
    for v in variants:
        target, threads, opts = VARIANTS[v]
        for m, k in shapes:
            for n in batches:
                name = f"sherry_{v}_{m}x{k}_n{n}"
                seed = shape_seed(m, k) if v in CONSTANT_WEIGHTS else None
                tables = RUNTIME_TABLES.get(v)
                kernels.append({"name": name, "kind": "sherry", "variant": v,
                                "target": target, "threads": threads,
                                "m": m, "k": k, "n": n, "tables": tables,
                                "pipeline": f"--sherry-to-llvm=\"{opts}\"",
                                "text": sherry_kernel(name, m, k, n, seed,
                                                      tables),
                                "opt_args": [f"--sherry-to-llvm={opts}"]})
        if v not in DECODE_STEP or a.smoke:
            continue
        # The decode step's layers: one function for every layer with
        # run-time weights, one per layer with its weights compiled in.
        if v in RUNTIME_TABLES:
            name = f"sherry_{v}_layer"
            kernels.append({
                "name": name, "kind": "sherry_rt_layer", "variant": v,
                "target": target, "threads": threads,
                "tables": RUNTIME_TABLES[v],
                "pipeline": f"--sherry-to-llvm=\"{opts}\"",
                "text": sherry_layer_kernel(name, 0, RUNTIME_TABLES[v]),
                "opt_args": [f"--sherry-to-llvm={opts}"]})
            continue
        for layer in range(LAYERS):
            name = f"sherry_{v}_L{layer}"
            kernels.append({
                "name": name, "kind": "sherry_layer", "variant": v,
                "target": target, "threads": threads, "layer": layer,
                "pipeline": f"--sherry-to-llvm=\"{opts}\"",
                "text": sherry_layer_kernel(name, layer),
                "opt_args": [f"--sherry-to-llvm={opts}"]})
    if not a.no_mlir_f32:
        for n in batches:
            tn, tm, tk = F32_TILES.get(n, F32_TILES["default"])
            tn = min(tn, n)
            sched = os.path.join(kdir, f"f32_schedule_n{n}.mlir")
            write_if_changed(sched,
                             F32_SCHEDULE.format(tn=tn, tm=tm, tk=tk))
            for m, k in shapes:
                name = f"mlirf32_t1_{m}x{k}_n{n}"
                opts = "target=portable threads=1"
                kernels.append({
                    "name": name, "kind": "mlirf32", "variant": "mlirf32_t1",
                    "target": "upstream", "threads": 1,
                    "m": m, "k": k, "n": n,
                    "pipeline": ("--transform-interpreter (tile "
                                 f"[{tn},{tm},{tk}], vectorize) then "
                                 f"--sherry-to-llvm=\"{opts}\""),
                    "text": f32_kernel(name, m, k, n), "deps": [sched],
                    "opt_args": [
                        "--transform-preload-library="
                        f"transform-library-paths={sched}",
                        "--transform-interpreter",
                        f"--sherry-to-llvm={opts}"]})

    objs = []
    ninja = [
        "# Generated by bench/gen_kernels.py.",
        f"sherry_opt = {a.sherry_opt}",
        f"translate = {a.mlir_translate}",
        f"cc = {a.cc}",
        f"cxx = {a.cxx}",
        "rule opt",
        "  command = $sherry_opt $opts $in -o $out",
        "  description = sherry-opt $in",
        "rule translate",
        "  command = $translate --mlir-to-llvmir $in -o $out",
        "rule cc",
        "  command = $cc -O3 -march=native -Wno-override-module -c -x ir "
        "$in -o $out",
        "  description = clang $in",
        "rule link",
        "  command = $cxx $cxxflags $in -o $out $libs",
        "  description = link $out",
        "",
    ]
    for kern in kernels:
        base = os.path.join(kdir, kern["name"])
        write_if_changed(base + ".mlir", kern.pop("text"))
        opts = " ".join(shlex.quote(o) for o in kern.pop("opt_args"))
        deps = " ".join(["$sherry_opt"] + kern.pop("deps", []))
        ninja += [
            f"build {base}.llvm.mlir: opt {base}.mlir | {deps}",
            f"  opts = {opts}",
            f"build {base}.ll: translate {base}.llvm.mlir",
            f"build {base}.o: cc {base}.ll",
        ]
        objs.append(base + ".o")

    # The harness: bench.cpp, the format library (for the reference check),
    # the kernels, Google Benchmark, OpenBLAS and libomp.
    root = a.root
    fmt = sorted(os.path.join(root, "lib/Format", f)
                 for f in os.listdir(os.path.join(root, "lib/Format"))
                 if f.endswith(".cpp"))
    blas_inc = "/usr/include/x86_64-linux-gnu/openblas-pthread"
    blas_lib = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
    ninja += [
        "rule cxxobj",
        "  command = $cxx $cxxflags -c $in -o $out",
        "  description = c++ $in",
        f"cxxflags = -O3 -march=native -std=c++17 -fopenmp "
        f"-I{root}/include -I{root}/bench -I{blas_inc} -I{a.out}",
    ]
    hobjs = []
    for src in fmt:
        o = os.path.join(a.out, "format", os.path.basename(src) + ".o")
        # The reference matmul defines its float rounding: no contraction.
        ninja += [f"build {o}: cxxobj {src}",
                  "  cxxflags = -O2 -std=c++17 -ffp-contract=off "
                  f"-I{root}/include"]
        hobjs.append(o)
    main_o = os.path.join(a.out, "bench.o")
    ninja += [f"build {main_o}: cxxobj {root}/bench/bench.cpp | "
              f"{a.out}/kernels.h"]
    hobjs.append(main_o)
    ninja += [
        f"build {a.out}/sherry-bench: link {' '.join(hobjs + objs)}",
        f"  libs = -fopenmp=libomp -L/usr/lib/llvm-22/lib "
        f"-Wl,-rpath,/usr/lib/llvm-22/lib -lbenchmark -lpthread "
        f"-L{blas_lib} -Wl,-rpath,{blas_lib} -lopenblas",
        f"default {a.out}/sherry-bench",
        "",
    ]
    write_if_changed(os.path.join(a.out, "build.ninja"), "\n".join(ninja))

    # C++ side: declarations and two tables.
    h = ["// Generated by bench/gen_kernels.py; included by bench/bench.cpp.",
         "#pragma once", '#include "memref.h"', ""]
    for kern in kernels:
        if kern["kind"] == "sherry":
            w = "1" if kern["tables"] else "2"
            h.append(f'extern "C" void _mlir_ciface_{kern["name"]}('
                     f"MemRef<float, 2> *, MemRef<int8_t, {w}> *, "
                     "MemRef<float, 1> *, MemRef<float, 2> *);")
        elif kern["kind"] in ("sherry_layer", "sherry_rt_layer"):
            w = (["MemRef<int8_t, 1> *"] * 7
                 if kern["kind"] == "sherry_rt_layer" else [])
            h.append(f'extern "C" void _mlir_ciface_{kern["name"]}(' +
                     ", ".join(["MemRef<float, 2> *"] * 4 + w +
                               ["MemRef<float, 1> *"] * 7 +
                               ["MemRef<float, 2> *"] * 7) + ");")
        else:
            h.append(f'extern "C" void _mlir_ciface_{kern["name"]}('
                     "MemRef<float, 2> *, MemRef<float, 2> *, "
                     "MemRef<float, 2> *);")
    h += ["", "static const SherryKernel kSherryKernels[] = {"]
    for kern in kernels:
        if kern["kind"] == "sherry":
            fn = f'_mlir_ciface_{kern["name"]}'
            fns = (f"nullptr, {fn}" if kern["tables"] else f"{fn}, nullptr")
            h.append(f'  {{"{kern["name"]}", "{kern["variant"]}", '
                     f'{kern["threads"]}, {kern["m"]}, {kern["k"]}, '
                     f'{kern["n"]}, {fns}}},')
    h += ["  {nullptr, nullptr, 0, 0, 0, 0, nullptr, nullptr}};", ""]
    # Layer functions: name, variant, [layer,] function.
    for kind, table, last in (
            ("sherry_layer", "LayerKernel kLayerKernels",
             "{nullptr, nullptr, 0, nullptr}"),
            ("sherry_rt_layer", "TablesLayerKernel kTablesLayerKernels",
             "{nullptr, nullptr, nullptr}")):
        h.append(f"static const {table}[] = {{")
        for kern in (k for k in kernels if k["kind"] == kind):
            layer = f'{kern["layer"]}, ' if "layer" in kern else ""
            h.append(f'  {{"{kern["name"]}", "{kern["variant"]}", {layer}'
                     f'_mlir_ciface_{kern["name"]}}},')
        h += [f"  {last}}};", ""]
    h += ["// The tables layout (order, tile block) of the variants whose",
          "// weights are passed in it.",
          "static const TablesVariant kTablesVariants[] = {"]
    h += [f'  {{"{v}", "{RUNTIME_TABLES[v][0]}", {RUNTIME_TABLES[v][1]}}},'
          for v in variants if v in RUNTIME_TABLES]
    h += ["  {nullptr, nullptr, 0}};", "",
          "static const F32Kernel kF32Kernels[] = {"]
    for kern in kernels:
        if kern["kind"] == "mlirf32":
            h.append(f'  {{"{kern["name"]}", {kern["threads"]}, '
                     f'{kern["m"]}, {kern["k"]}, {kern["n"]}, '
                     f'_mlir_ciface_{kern["name"]}}},')
    h += ["  {nullptr, 0, 0, 0, 0, nullptr}};", "",
          "// Variants whose weights are compiled in: their per-shape kernels",
          "// cannot take the decode step's weights.",
          "static const char *const kCompiledInVariants[] = {"]
    h += [f'  "{v}",' for v in variants if v in CONSTANT_WEIGHTS]
    h += ["  nullptr};", ""]
    write_if_changed(os.path.join(a.out, "kernels.h"), "\n".join(h))

    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump({"shapes": shapes, "batches": batches,
                   "variants": {v: variant_info(v) for v in variants},
                   "kernels": [kern for kern in kernels
                               if kern["kind"] == "sherry"
                               or kern["kind"] == "mlirf32"]},
                  f, indent=1)


if __name__ == "__main__":
    main()
