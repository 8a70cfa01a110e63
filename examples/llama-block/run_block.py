"""A LLaMA-3.2-1B-shaped decoder block on Sherry 1.25-bit weights, end to end.

Writes the block as plain func + linalg IR, brings its seven projections
into the sherry dialect with `sherry-opt --sherry-sparsify`, packs the
weights with `sherry.quantize` (the same options), compiles for this machine
(`--sherry-to-llvm` with target=host), runs one decode step, checks it and
reports size and speed against the dense f32 path. The main variant takes
the weights at run time, as a deployed model loads them, in the tables
layout that this CPU's activation-table kernel reads; weights compiled in
as constants and the decode kernels are shown beside it. See
docs/getting-started.md.

Usage: run_block.py [--quick] [--weights DIR] [--work DIR] [--threads N]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, HERE)

import sherry  # noqa: E402
import block_ir  # noqa: E402
from block_ir import PROJECTIONS, PROJECTION_INPUT, TAPS  # noqa: E402
from reference import decoder_block as reference_block  # noqa: E402

# The sparsify options, and the same options for sherry.quantize.
LAYOUT, GRANULARITY, MODE = "sherry", "row", "int8"
SPARSIFY = "layout=%s granularity=%s mode=%s" % (LAYOUT, GRANULARITY, MODE)
LAYERS = 16          # decoder blocks of LLaMA-3.2-1B
ROPE_THETA = 500000.0
# Whole block, int8 activations on ternary weights against float64 on the
# same (dequantized) weights: relative L2 error of the block's update
# out - x. Each matmul rounds its activations to 8 bits with one absmax
# scale per row (the heavy-tailed silu(g) * u of the MLP loses the most),
# and the errors add up through the block: a few percent.
BLOCK_TOLERANCE = 5e-2
# The dense f32 path against float64 on the original weights.
DENSE_TOLERANCE = 1e-4

STEPS = 8


def step(i, text):
    print("==> [%d/%d] %s" % (i, STEPS, text), flush=True)


def info(text):
    print("    " + text, flush=True)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def run_tool(args, what, quiet=False):
    """Runs a build/bin tool, echoing the command line."""
    shown = [os.path.relpath(a, ROOT) if os.path.isabs(a) and
             a.startswith(ROOT) else a for a in args]
    if not quiet:
        info("$ " + " ".join(shown))
    with Timer() as t:
        done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr)
        sys.exit("llama-block: %s failed" % what)
    return done, t.seconds


def make_weights(hidden, inter, seed):
    """Seeded synthetic weights, scaled as a trained model's (std 0.02)."""
    rng = np.random.default_rng(seed)
    shapes = block_ir.weight_shapes(hidden, inter)
    w = {}
    for n in PROJECTIONS:
        w[n] = rng.standard_normal(shapes[n], dtype=np.float32)
        w[n] *= np.float32(0.02)
    w["attn_norm"] = (1 + 0.1 * rng.standard_normal(hidden)).astype(np.float32)
    w["mlp_norm"] = (1 + 0.1 * rng.standard_normal(hidden)).astype(np.float32)
    return w


def load_weights(directory):
    """One M x K .npy per projection (<name>.npy, as torch.nn.Linear.weight,
    f32 or f16), and optionally input_layernorm.npy and
    post_attention_layernorm.npy (ones where absent)."""
    w = {}
    for n in PROJECTIONS:
        path = os.path.join(directory, n + ".npy")
        if not os.path.exists(path):
            sys.exit("llama-block: missing %s (one .npy per projection: %s)"
                     % (path, ", ".join(PROJECTIONS)))
        w[n] = np.ascontiguousarray(np.load(path), dtype=np.float32)
    hidden, inter = w["q_proj"].shape[1], w["gate_proj"].shape[0]
    expected = block_ir.weight_shapes(hidden, inter)
    for n in PROJECTIONS:
        if w[n].shape != expected[n]:
            sys.exit("llama-block: %s.npy is %s; a block with hidden %d and "
                     "MLP %d (head size %d, %d query heads per KV head) "
                     "needs %s" % (n, w[n].shape, hidden, inter,
                                   block_ir.HEAD_DIM, block_ir.GROUP,
                                   expected[n]))
    for key, name in [("attn_norm", "input_layernorm"),
                      ("mlp_norm", "post_attention_layernorm")]:
        path = os.path.join(directory, name + ".npy")
        w[key] = (np.load(path).astype(np.float32).reshape(hidden)
                  if os.path.exists(path) else np.ones(hidden, np.float32))
    return w


def save_weights(w, directory):
    os.makedirs(directory, exist_ok=True)
    for key in PROJECTIONS:
        np.save(os.path.join(directory, key + ".npy"), w[key])
    for key, name in [("attn_norm", "input_layernorm"),
                      ("mlp_norm", "post_attention_layernorm")]:
        np.save(os.path.join(directory, name + ".npy"), w[key])


def make_inputs(hidden, past, seed):
    """The new token's hidden state, a cache of `past` earlier positions
    (synthetic), and RoPE's cos/sin at position `past`."""
    rng = np.random.default_rng(seed + 1)
    kv_heads = hidden // block_ir.HEAD_DIM // block_ir.GROUP
    half = block_ir.HEAD_DIM // 2
    freq = ROPE_THETA ** (-np.arange(half) / half)
    angle = np.concatenate([past * freq, past * freq])
    cache = (kv_heads, past, block_ir.HEAD_DIM)
    return {"x": rng.standard_normal((1, hidden)).astype(np.float32),
            "k_cache": rng.standard_normal(cache).astype(np.float32),
            "v_cache": rng.standard_normal(cache).astype(np.float32),
            "cos": np.cos(angle).astype(np.float32),
            "sin": np.sin(angle).astype(np.float32)}


def mib(n):
    return "%.2f MiB" % (n / 2.0 ** 20)


def resources(blobs):
    """The file-level dense_resource section for {name: array}."""
    entries = []
    for name, array in blobs.items():
        align = array.dtype.itemsize
        entries.append('      %s: "0x%s%s"' % (
            name, align.to_bytes(4, "little").hex(),
            np.ascontiguousarray(array).tobytes().hex()))
    return ("{-#\n  dialect_resources: {\n    builtin: {\n"
            + ",\n".join(entries) + "\n    }\n  }\n#-}\n")


def add_functions(module_text, functions):
    """Adds functions to a module printed by sherry-opt (`module { ... }`)."""
    body = module_text.rstrip()
    if "module {" not in body or not body.endswith("}"):
        sys.exit("llama-block: unexpected sherry-opt output")
    return body[:-1] + functions + "}\n"


def time_calls(function, args, seconds, most):
    """Median time of one call of the block, from `function` (a bench
    function that runs the block n times in compiled code): rounds of n
    calls, n chosen so a round takes about a tenth of `seconds`."""
    with Timer() as t:
        function(*args, 1)
    n = max(1, min(most, int(seconds / 10 / max(t.seconds, 1e-6))))
    rounds = []
    deadline = time.perf_counter() + seconds
    while len(rounds) < 3 or (time.perf_counter() < deadline and
                              len(rounds) < 25):
        with Timer() as t:
            function(*args, n)
        rounds.append(t.seconds / n)
    return statistics.median(rounds), n, len(rounds)


def check_bit_exact(taps, packed, work, opt):
    """Each sparsified matmul's output equals the format library's
    reference int8 matmul on the same input activations: a module where
    sherry.matmul has constant operands, folded at compile time by the
    format library (sherry-opt --canonicalize), then compiled and called."""
    funcs, blobs = [], {}
    for n in PROJECTIONS:
        p = packed[n]
        m, k = p.shape
        x = taps[PROJECTION_INPUT[n]]
        data, scales = block_ir.packed_types(m, k)
        blobs["%s_x" % n] = x
        blobs["%s_data" % n] = p.data.view(np.int8)
        blobs["%s_scales" % n] = p.scales
        funcs.append(
            "func.func @%(n)s() -> tensor<1x%(m)dxf32> {\n"
            "  %%x = arith.constant dense_resource<%(n)s_x> : "
            "tensor<1x%(k)dxf32>\n"
            "  %%w = arith.constant dense_resource<%(n)s_data> : %(d)s\n"
            "  %%s = arith.constant dense_resource<%(n)s_scales> : %(s)s\n"
            "  %%acc = arith.constant dense<0.0> : tensor<1x%(m)dxf32>\n"
            "  %%y = sherry.matmul ins(%%x, %%w : tensor<1x%(k)dxf32>, %(d)s)"
            " scales(%%s : %(s)s) outs(%%acc : tensor<1x%(m)dxf32>) "
            "layout<%(l)s, %(g)s> mode<%(mode)s> -> tensor<1x%(m)dxf32>\n"
            "  return %%y : tensor<1x%(m)dxf32>\n}\n"
            % dict(n=n, m=m, k=k, d=data, s=scales, l=LAYOUT, g=GRANULARITY,
                   mode=MODE))
    path = os.path.join(work, "reference.mlir")
    with open(path, "w") as f:
        f.write("".join(funcs) + resources(blobs))
    folded = path.replace(".mlir", ".folded.mlir")
    run_tool([opt, path, "--canonicalize", "-o", folded], "folding")
    text = open(folded).read()
    if "sherry.matmul" in text:
        sys.exit("llama-block: the reference matmuls did not fold")
    ref = sherry.compile(text)
    worst = []
    for n in PROJECTIONS:
        expected = getattr(ref, n)()
        got = taps[n]
        same = np.array_equal(expected.view(np.uint32), got.view(np.uint32))
        worst.append((n, same, float(np.abs(expected - got).max())))
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="a small block (hidden 512, MLP 2048) for tests")
    ap.add_argument("--weights", metavar="DIR",
                    help="real weights: q_proj.npy ... down_proj.npy (M x K)"
                    " and optionally input_layernorm.npy, "
                    "post_attention_layernorm.npy; their shapes set the size")
    ap.add_argument("--past", type=int, default=None,
                    help="cached positions before the new token "
                    "(default 63, or 15 with --quick)")
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the synthetic weights and inputs")
    ap.add_argument("--threads", type=int, default=1,
                    help="OpenMP threads of the sherry kernels (1: none)")
    ap.add_argument("--seconds", type=float, default=None,
                    help="time spent timing each variant (default 2, or "
                    "0.3 with --quick)")
    ap.add_argument("--save-weights", metavar="DIR",
                    help="also write the weights used as .npy files in the"
                    " layout --weights reads, then go on")
    ap.add_argument("--work", metavar="DIR",
                    help="keep the generated MLIR files here")
    ap.add_argument("--bin", metavar="DIR", default=os.environ.get(
        "SHERRY_BIN", os.path.join(ROOT, "build", "bin")),
        help="where sherry-opt and sherry-pack are (default $SHERRY_BIN or "
        "build/bin)")
    a = ap.parse_args()
    past = a.past if a.past is not None else (15 if a.quick else 63)
    seconds = a.seconds if a.seconds is not None else (0.3 if a.quick
                                                       else 2.0)
    opt = os.path.join(a.bin, "sherry-opt")
    if a.work:
        os.makedirs(a.work, exist_ok=True)
        work = a.work
    else:
        work = tempfile.mkdtemp(prefix="llama-block.")
    try:
        run(a, past, seconds, opt, work)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


def run(a, past, seconds, opt, work):
    started = time.perf_counter()

    # 1. Weights.
    if a.weights:
        step(1, "Weights from %s" % a.weights)
        with Timer() as t:
            w = load_weights(a.weights)
    else:
        hidden, inter = (512, 2048) if a.quick else (2048, 8192)
        step(1, "Seeded synthetic weights (seed %d)" % a.seed)
        with Timer() as t:
            w = make_weights(hidden, inter, a.seed)
    hidden, inter = w["q_proj"].shape[1], w["gate_proj"].shape[0]
    heads = hidden // block_ir.HEAD_DIM
    params = sum(w[n].size for n in PROJECTIONS)
    info("block: hidden %d, %d query heads / %d KV heads of %d, MLP %d "
         "(SiLU), %d cached positions"
         % (hidden, heads, heads // block_ir.GROUP, block_ir.HEAD_DIM,
            inter, past))
    for n in PROJECTIONS:
        info("%-9s %5d x %d" % (n, *w[n].shape))
    info("%d linear weights, %s as f32 (%.1f s)"
         % (params, mib(4 * params), t.seconds))
    if a.save_weights:
        save_weights(w, a.save_weights)
        info("wrote the weights to %s (the layout --weights reads)"
             % a.save_weights)
    inputs = make_inputs(hidden, past, a.seed)

    # 2. The model as plain IR.
    step(2, "The block as func + linalg IR (weights as arguments marked "
         "sherry.weights)")
    model = os.path.join(work, "block.mlir")
    with open(model, "w") as f:
        f.write(block_ir.block_module(hidden, inter, past, marked=True))
    dense_model = os.path.join(work, "block.dense.mlir")
    shapes = block_ir.weight_shapes(hidden, inter)
    f32_weights = [("%s_w" % n, "tensor<%dx%dxf32>" % shapes[n])
                   for n in PROJECTIONS]
    with open(dense_model, "w") as f:
        f.write(block_ir.block_module(hidden, inter, past, marked=False))
        f.write(block_ir.bench_function("bench", "decoder_block", hidden,
                                        inter, past, f32_weights))
    info("%s: %d lines, %d linalg.matmul"
         % (os.path.basename(model), open(model).read().count("\n"),
            open(model).read().count("linalg.matmul")))

    # 3. sherry-sparsify.
    step(3, "sherry-sparsify: linalg.matmul -> sherry.matmul on packed "
         "arguments")
    sparse = os.path.join(work, "block.sparse.mlir")
    _, secs = run_tool([opt, model, "--sherry-sparsify=" + SPARSIFY,
                        "-o", sparse], "sherry-sparsify")
    sparse_text = open(sparse).read()
    count = sparse_text.count("sherry.matmul")
    info("%d sherry.matmul, %d linalg.matmul left (%.2f s)"
         % (count, sparse_text.count("linalg.matmul"), secs))
    if count != len(PROJECTIONS):
        sys.exit("llama-block: expected %d sherry.matmul" % len(PROJECTIONS))

    # The tables layout this CPU's table kernel reads at run time (for the
    # K of every projection), and the block sparsified to take it.
    threads = "threads=%d" % a.threads
    pick = sherry.preferred_table_layout(hidden, "target=host " + threads)
    if pick and sherry.preferred_table_layout(
            inter, "target=host " + threads) != pick:
        pick = None
    runtime_text = None
    if pick:
        runtime = os.path.join(work, "block.runtime.mlir")
        options = (SPARSIFY + " argument-layout=tables table-order=%s "
                   "tile-block=%d" % pick)
        _, secs = run_tool([opt, model, "--sherry-sparsify=" + options,
                            "-o", runtime], "sherry-sparsify")
        runtime_text = open(runtime).read()
        info("with argument-layout=tables (table-order=%s tile-block=%d, "
             "what target=host reads here): block.runtime.mlir (%.2f s)"
             % (pick + (secs,)))
    else:
        info("target=host has no table kernel for run-time weights here: "
             "they go to the decode kernels")

    # 4. Pack the weights as the sparsified signature expects.
    step(4, "sherry.quantize: ternarize and pack (%s layout, %s scales)"
         % (LAYOUT, GRANULARITY))
    packed = {}
    with Timer() as t:
        for n in PROJECTIONS:
            p = packed[n] = sherry.quantize(w[n], layout=LAYOUT,
                                            granularity=GRANULARITY)
            info("%-9s %5d x %-4d bytes %8d + scales %6d   %.4f bits/weight"
                 "   projection error %.4f"
                 % (n, *p.shape, p.data.nbytes, p.scales.nbytes,
                    p.bits_per_weight, p.projection_error))
    packed_bytes = sum(p.data.nbytes + p.scales.nbytes
                       for p in packed.values())
    info("packed in %.1f s" % t.seconds)
    npy = os.path.join(work, "q_proj.npy")
    np.save(npy, w["q_proj"])
    packed_file = os.path.join(work, "q_proj.sherry")
    run_tool([os.path.join(os.path.dirname(opt), "sherry-pack"), "pack", npy,
              "-o", packed_file, "--layout=" + LAYOUT,
              "--granularity=" + GRANULARITY], "sherry-pack")
    from_file = sherry.load(packed_file)
    same = (np.array_equal(from_file.data, packed["q_proj"].data) and
            np.array_equal(from_file.scales, packed["q_proj"].scales))
    info("q_proj: sherry-pack wrote the same bytes and scales: %s" % same)
    if not same:
        sys.exit("llama-block: sherry-pack and sherry.quantize disagree")
    tables = {}
    if pick:
        # What a loader does once: the packed weights in the tables layout
        # (sherry-pack convert --layout=tables writes the same bytes).
        with Timer() as t:
            for n in PROJECTIONS:
                tables[n] = packed[n].convert("tables", *pick)
        info("converted to the tables layout (%s, tile block %d) in %.2f s:"
             " %s" % (pick + (t.seconds, mib(sum(
                 p.data.nbytes + p.scales.nbytes for p in tables.values())))))
        tables_file = os.path.join(work, "q_proj.tables.sherry")
        run_tool([os.path.join(os.path.dirname(opt), "sherry-pack"),
                  "convert", packed_file, "-o", tables_file,
                  "--layout=tables", "--table-order=" + pick[0],
                  "--tile-block=%d" % pick[1]], "sherry-pack convert")
        same = np.array_equal(sherry.load(tables_file).data,
                              tables["q_proj"].data)
        info("q_proj: sherry-pack convert wrote the same bytes: %s" % same)
        if not same:
            sys.exit("llama-block: sherry-pack convert and "
                     "PackedWeights.convert disagree")

    # 5. Compile three ways.
    step(5, "Compile for this machine (--sherry-to-llvm, target=host)")
    # (a) tables: the packed arguments become constants.
    callee_args = []
    for n in PROJECTIONS:
        data, scales = block_ir.packed_types(*shapes[n])
        callee_args += [("%s_data" % n, data), ("%s_scales" % n, scales)]
    blobs = {}
    for n in PROJECTIONS:
        blobs["%s_data" % n] = packed[n].data.view(np.int8)
        blobs["%s_scales" % n] = packed[n].scales
    bound = os.path.join(work, "block.tables.mlir")
    with open(bound, "w") as f:
        f.write(add_functions(
            bind_constants(sparse_text, [name for name, _ in callee_args],
                           [t for _, t in callee_args]),
            block_ir.bench_function("bench", "decoder_block", hidden,
                                    inter, past, [])))
        f.write(resources(blobs))
    info("tables: %s = block.sparse.mlir with its packed arguments "
         "replaced by constants" % os.path.basename(bound))
    info("        (%s of packed bytes as dense_resource blobs, %s of text; "
         "f32 constants would be %s, %s as hex)"
         % (mib(packed_bytes), mib(os.path.getsize(bound)), mib(4 * params),
            mib(8 * params)))
    info("decode: block.sparse.mlir, the packed weights passed at run time")
    info("dense:  block.dense.mlir, no sherry-sparsify, f32 weights as "
         "arguments, plain linalg lowered through loops")
    compiles = []
    if pick:
        info("runtime: block.runtime.mlir, the weights passed at run time in "
             "the tables layout (the main variant)")
        runtime_args = []
        for n in PROJECTIONS:
            runtime_args += [
                ("%s_data" % n, "tensor<%dxi8>" % tables[n].data.size),
                ("%s_scales" % n, "tensor<%dxf32>" % tables[n].scales.size)]
        compiles.append(("runtime", sparse_add_bench(
            runtime_text, hidden, inter, past, runtime_args, work,
            "block.runtime.bench.mlir"), "target=host " + threads))
    compiles += [
        ("tables", bound, "target=host strategy=tables " + threads),
        ("decode", sparse_add_bench(sparse_text, hidden, inter, past,
                                    callee_args, work),
         "target=host strategy=decode " + threads),
        ("dense", dense_model, "target=host")]
    variants, kernels = {}, {}
    for name, path, options in compiles:
        with Timer() as t:
            variants[name] = sherry.compile(open(path).read(), options)
        info("%-6s --sherry-to-llvm=\"%s\" on %s: %.1f s"
             % (name, options, os.path.basename(path), t.seconds))
        if name != "dense":
            kernels[name] = kernel_of(opt, path, options)
            info("       kernels: %s" % KERNELS[kernels[name]])
    # Every target but portable has a table kernel; target=host on a CPU
    # with none of them leaves the matmuls to the portable kernel.
    if (kernels["decode"] != "portable"
            and not kernels["tables"].startswith("tables")):
        sys.exit("llama-block: strategy=tables did not use the table "
                 "kernel (are the packed weights constants?)")
    if pick and not kernels["runtime"].startswith("tables"):
        sys.exit("llama-block: the weights in the tables layout did not "
                 "reach the table kernel")

    # 6. Run one decode step.
    step(6, "Run one decode step (N = 1), first call")
    base = [inputs["x"], inputs["k_cache"], inputs["v_cache"],
            inputs["cos"], inputs["sin"], w["attn_norm"], w["mlp_norm"]]
    packed_args, runtime_args = [], []
    for n in PROJECTIONS:
        packed_args += [packed[n].data, packed[n].scales]
        if pick:
            runtime_args += [tables[n].data, tables[n].scales]
    dense_args = [w[n] for n in PROJECTIONS]
    calls = ([("runtime", runtime_args)] if pick else []) + [
        ("tables", []), ("decode", packed_args), ("dense", dense_args)]
    outs = {}
    for name, extra in calls:
        with Timer() as t:
            r = variants[name].decoder_block(*base, *extra)
        outs[name] = r
        info("%-6s %.3f s" % (name, t.seconds))

    # 7. Check.
    step(7, "Check")
    ok = True
    taps = dict(zip(TAPS, outs["tables"][3:]))
    with Timer() as t:
        exact = check_bit_exact(taps, packed, work, opt)
    for n, same, diff in exact:
        info("%-9s tables == format library reference int8 matmul: %s"
             % (n, "bit-exact" if same else "DIFFERS (max %g)" % diff))
        ok &= same
    for other in (["runtime"] if pick else []) + ["decode"]:
        same = all(np.array_equal(x.view(np.uint32), y.view(np.uint32))
                   for x, y in zip(outs["tables"], outs[other]))
        info("%s == tables, every output bit for bit: %s" % (other, same))
        ok &= same
    info("(reference folded at compile time in %.1f s)" % t.seconds)

    deq = {n: packed[n].dequantize() for n in PROJECTIONS}
    ref_q = reference_block(inputs, w, deq)
    ref_f = reference_block(inputs, w, w)
    x = inputs["x"].astype(np.float64)

    def rel(got, want):
        return float(np.linalg.norm(got - want) / np.linalg.norm(want))

    err_block = rel(outs["tables"][0] - x, ref_q["out"] - x)
    err_k = rel(outs["tables"][1], ref_q["k"])
    err_v = rel(outs["tables"][2], ref_q["v"])
    err_dense = rel(outs["dense"][0] - x, ref_f["out"] - x)
    err_model = rel(outs["tables"][0] - x, ref_f["out"] - x)
    info("sherry vs numpy float64 on the dequantized weights: relative L2 "
         "error of out - x %.2e, of k %.2e, of v %.2e (tolerance %.0e: int8"
         " activations)" % (err_block, err_k, err_v, BLOCK_TOLERANCE))
    info("dense f32 vs numpy float64 on the original weights: %.2e "
         "(tolerance %.0e)" % (err_dense, DENSE_TOLERANCE))
    info("sherry vs the block on the original f32 weights: %.3f (not "
         "checked: the cost of ternary weights%s)" % (
             err_model, "" if a.weights else "; random weights are not "
             "trained for ternary, as Sherry models are"))
    ok &= max(err_block, err_k, err_v) < BLOCK_TOLERANCE
    ok &= err_dense < DENSE_TOLERANCE

    # 8. Time.
    step(8, "Time per token (N = 1, the whole block, median)")
    times = {}
    for name, extra, most in (
            ([("runtime", runtime_args, 10000)] if pick else []) +
            [("tables", [], 10000), ("decode", packed_args, 10000),
             ("dense", dense_args, 20)]):
        times[name], n, rounds = time_calls(variants[name].bench,
                                            base + extra, seconds, most)
        info("%-6s %10.1f us   (%d rounds of %d calls)"
             % (name, times[name] * 1e6, rounds, n))

    report(a, params, packed, packed_bytes, times, kernels)
    print("llama-block: %s in %.0f s" % ("OK" if ok else "FAILED",
                                         time.perf_counter() - started))
    if not ok:
        sys.exit(1)


def bind_constants(sparse_text, names, types):
    """Turns the packed arguments of the sparsified @decoder_block into
    constants: each argument that sherry-sparsify added (marked
    sherry.packed or sherry.scales, in order) is dropped from the signature
    and defined at the top of the body as `arith.constant
    dense_resource<name>`, so the kernels see constant weights. (Binding
    through a wrapper function and --inline would be neater, but the
    inliner does not inline sherry ops yet.)"""
    head = sparse_text.index("func.func @decoder_block(")
    open_body = sparse_text.index(" {\n", head)
    header = sparse_text[head:open_body]
    args = re.findall(r"%(arg\d+): (tensor<[^>]*>)((?: \{sherry\.(?:packed|"
                      r"scales) = #sherry\.layout<[^>]*>\})?)", header)
    weights = [(a, t) for a, t, mark in args if mark]
    if [t for _, t in weights] != list(types):
        sys.exit("llama-block: the sparsified signature has packed "
                 "arguments %s, expected %s" % ([t for _, t in weights],
                                                list(types)))
    kept = ", ".join("%%%s: %s" % (a, t) for a, t, mark in args if not mark)
    results = header[header.index(") -> "):]
    consts = "".join("\n    %%%s = arith.constant dense_resource<%s> : %s"
                     % (a, name, t) for (a, t), name in zip(weights, names))
    return (sparse_text[:head] + "func.func @decoder_block(" + kept
            + results + " {" + consts + sparse_text[open_body + 2:])


def sparse_add_bench(sparse_text, hidden, inter, past, callee_args, work,
                     name="block.decode.mlir"):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(add_functions(sparse_text, block_ir.bench_function(
            "bench", "decoder_block", hidden, inter, past, callee_args)))
    return path


KERNELS = {
    "tables-words": "x86 AVX-512 activation tables (vpermw lookups of "
                    "16-bit sums)",
    "tables": "x86 AVX-512 activation tables (vpermb lookups, vpmaddubsw)",
    "tables-avx512bw": "x86 AVX-512BW activation tables (vpshufb lookups; "
                       "this CPU has no VBMI/VNNI)",
    "tables-avx2": "x86 AVX2 activation tables (vpshufb lookups; this CPU "
                   "has no AVX-512)",
    "tables-neon": "AArch64 NEON activation tables (tbl lookups)",
    "decode": "x86 AVX-512 decode in registers (vpmultishiftqb, vpdpbusd)",
    "decode-avx512bw": "x86 AVX-512BW decode in registers (vpshufb, "
                       "vpmaddubsw; this CPU has no VBMI/VNNI)",
    "decode-avx2": "x86 AVX2 decode in registers (vpshufb, vpmaddubsw; "
                   "this CPU has no AVX-512)",
    "neon": "AArch64 NEON micro-kernel",
    "portable": "portable vector micro-kernel (target=host found no "
                "kernel for this CPU)",
}


def kernel_of(opt, path, options):
    """Which sherry.matmul kernel the pipeline chose, from the intrinsics
    of the lowered module (sherry-opt, resources elided)."""
    done, _ = run_tool([opt, path, "--sherry-to-llvm=" + options,
                        "--mlir-elide-resource-strings-if-larger=64"],
                       "lowering", quiet=True)
    text = done.stdout
    # The vpshufb table kernels have no vpmaddubsw; the decode ones do.
    if "llvm.x86.avx512.permvar.hi.512" in text:
        return "tables-words"
    if "llvm.x86.avx512.permvar.qi.512" in text:
        return "tables"
    if "llvm.x86.avx512.vpdpbusd.512" in text:
        return "decode"
    if "llvm.x86.avx512.pshuf.b.512" in text:
        return ("decode-avx512bw" if "llvm.x86.avx512.pmaddubs.w.512" in text
                else "tables-avx512bw")
    if "llvm.x86.avx2.pshuf.b" in text:
        return ("decode-avx2" if "llvm.x86.avx2.pmadd.ub.sw" in text
                else "tables-avx2")
    if "llvm.aarch64.neon.tbl1" in text:
        return "tables-neon"
    if "arm_neon" in text or "llvm.aarch64.neon" in text:
        return "neon"
    return "portable"


def report(a, params, packed, packed_bytes, times, kernels):
    print("\n==> Report", flush=True)
    scale_bytes = sum(p.scales.nbytes for p in packed.values())
    sizes = [("f16", 2.0 * params),
             ("2-bit ternary (+ the same f32 row scales)",
              params / 4.0 + scale_bytes),
             ("sherry 1.25-bit (5 bits / 4 weights + f32 row scales)",
              packed_bytes)]
    print("    size of the linear weights: %d in this block, %d in %d "
          "layers" % (params, params * LAYERS, LAYERS))
    print("    %-55s %11s %11s %7s"
          % ("format", "block", "%d layers" % LAYERS, "bits/w"))
    for name, size in sizes:
        print("    %-55s %11s %11s %7.3f"
              % (name, mib(size), mib(size * LAYERS), 8.0 * size / params))
    print("    sherry is %.1fx smaller than f16 and %.1fx smaller than 2-bit"
          " ternary" % (2.0 * params / packed_bytes,
                        (params / 4.0 + scale_bytes) / packed_bytes))
    print("    (%d layers = this block's linear layers times %d; "
          "embeddings and norms not counted)" % (LAYERS, LAYERS))
    print("    time per token, one decode step of the whole block (N = 1), "
          "sherry kernels on %d thread%s:"
          % (a.threads, "" if a.threads == 1 else "s"))
    rows = [("runtime", "sherry, weights loaded at run time (tables "
             "layout)"),
            ("tables", "sherry, strategy=tables: packed weights are "
             "compile-time constants"),
            ("decode", "sherry, strategy=decode: packed weights are "
             "arguments"),
            ("dense", "dense f32: the same IR without sherry-sparsify, "
             "linalg -> loops")]
    for key, text in rows:
        if key not in times:
            continue
        print("    %-66s %10.1f us %6.1fx" % (text, times[key] * 1e6,
                                              times["dense"] / times[key]))
    isa = {"decode": "avx512-vnni", "decode-avx512bw": "avx512-bw",
           "decode-avx2": "avx2", "neon": "neon"}.get(kernels["decode"],
                                                      "portable")
    print("    target=host resolved to %s on this CPU" % isa)
    for key in ("runtime", "tables", "decode"):
        if key in kernels:
            print("      %s ran: %s" % (key, KERNELS[kernels[key]]))
    print("    weights: packed by sherry.quantize; the run-time variant gets "
          "them converted to the tables layout, strategy=tables as "
          "dense_resource constants, strategy=decode as packed arguments")
    fastest = min((k for k in ("runtime", "tables", "decode")
                   if k in times), key=times.get)
    print("    fastest here: %s" % fastest)
    if "runtime" in times:
        print("    run-time weights take %.2fx the time of weights compiled in"
              % (times["runtime"] / times["tables"]))


if __name__ == "__main__":
    main()
