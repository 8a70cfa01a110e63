"""The main job: a whole LLaMA model on Sherry 1.25-bit weights, from a
GGUF checkpoint to generated tokens, checked and timed.

1. the checkpoint: a GGUF file given with --model (a Sherry GGUF such as
   examples/llama-train writes, or any llama GGUF with STQ1_0 or float
   projections), or a seeded synthetic checkpoint of a known shape
   (default: bitnet_b1_58-large's, the Sherry paper's 0.7B model) written
   here as a Sherry GGUF (STQ1_0 projections, f16 embeddings and lm_head);
2. the check: a model of the checkpoint's widths and its first two layers
   (the same compiled layer function the whole model calls per layer),
   compiled with int8 activations and with float activations, against a
   float64 numpy reference of the same ternary weights at every position
   of a prefill and of 16 decode steps;
3. generation: the runner (`python3 -m sherry.llama`, run here as a user
   would) loads the GGUF file, compiles the model once, prefills a prompt
   and generates tokens: prefill and decode tokens/s, sizes, peak memory;
4. the dense baseline: the same runner with `--projections dense`, the
   same weights as f16 through the vectorized upstream lowering;
5. a summary.

Usage: run_model.py [--quick] [--model FILE.gguf] [--shape NAME] ...
(`--help` lists them; docs/getting-started.md explains every step).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

from sherry import PackedWeights  # noqa: E402
from sherry import gguf  # noqa: E402
from sherry.llama import LlamaConfig, LlamaModel  # noqa: E402
from sherry.llama import reference  # noqa: E402
from sherry.llama.__main__ import synthetic_weights  # noqa: E402
from sherry.llama.checkpoint import load_gguf, save_gguf  # noqa: E402
from sherry.llama.ir import weight_arguments  # noqa: E402

SHAPES = {
    # 1bitLLM/bitnet_b1_58-large: the Sherry paper's end-to-end model.
    "bitnet-large": dict(vocab_size=32002, hidden_size=1536,
                         intermediate_size=4096, num_hidden_layers=24,
                         num_attention_heads=16, num_key_value_heads=16,
                         max_position_embeddings=2048, rope_theta=10000.0,
                         rms_norm_eps=1e-5),
    # meta-llama/Llama-3.2-1B (tied embeddings, LLaMA 3 RoPE scaling).
    "llama-3.2-1b": dict(vocab_size=128256, hidden_size=2048,
                         intermediate_size=8192, num_hidden_layers=16,
                         num_attention_heads=32, num_key_value_heads=8,
                         max_position_embeddings=131072,
                         rope_theta=500000.0, rms_norm_eps=1e-5,
                         tie_word_embeddings=True,
                         rope_scaling={"rope_type": "llama3", "factor": 32.0,
                                       "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0,
                                       "original_max_position_embeddings":
                                       8192}),
    # --quick: small, with 4 query heads per KV head.
    "small": dict(vocab_size=1000, hidden_size=512, intermediate_size=1280,
                  num_hidden_layers=4, num_attention_heads=8,
                  num_key_value_heads=2, max_position_embeddings=512,
                  rope_theta=10000.0, rms_norm_eps=1e-5),
}

# Logits of the compiled model against float64 numpy on the same ternary
# weights, max |difference| / max |logit| over each position: int8
# activations (one absmax scale per row and matmul) cost about 1%; float
# activations only f32 rounding.
INT8_TOLERANCE = 5e-2
EXACT_TOLERANCE = 1e-4
CHECK_LAYERS = 2
STEPS = 5


def step(i, text):
    print("==> [%d/%d] %s" % (i, STEPS, text), flush=True)


def info(text):
    print("    " + text, flush=True)


def mib(n):
    return "%.1f MiB" % (n / 2.0 ** 20)


def make_checkpoint(shape, seed, path):
    config = LlamaConfig(**SHAPES[shape])
    started = time.perf_counter()
    save_gguf(path, config, synthetic_weights(config, seed), "stq1_0", "f16",
              {"general.name": ("synthetic %s (seed %d)" % (shape, seed),
                                "string")})
    return time.perf_counter() - started


def check(config, weights, mode, tolerance, rng):
    """The first CHECK_LAYERS layers as a model, compiled, against the
    float64 reference at every position of a prefill and 16 decode steps.
    Returns the worst relative error."""
    layers = min(CHECK_LAYERS, config.num_hidden_layers)
    fields = {k: getattr(config, k) for k in LlamaConfig._FIELDS}
    fields["num_hidden_layers"] = layers
    sub = LlamaConfig(rope_freq_factors=config.rope_freq_factors, **fields)
    needed = {name for _, name, _, _ in weight_arguments(sub)}
    part = {k: v for k, v in weights.items() if k in needed}
    prefill, decode = 19, 16
    model = LlamaModel(sub, part, max_context=prefill + decode, chunk=8,
                       mode=mode, all_logits=True)
    # The reference computes with what the model holds: the ternary
    # values of the packed projections, f16 embeddings and lm_head.
    ref = {}
    for name, value in part.items():
        if isinstance(value, PackedWeights):
            ref[name] = value.dequantize()
        elif np.ndim(value) == 2:
            ref[name] = np.asarray(value, np.float16).astype(np.float32)
        else:
            ref[name] = value
    shape = (layers, sub.num_key_value_heads, prefill + decode, sub.head_dim)
    k, v = np.zeros(shape), np.zeros(shape)
    worst = 0.0
    tokens = rng.integers(0, sub.vocab_size, prefill)
    got = model.forward(tokens)
    want = reference.forward(sub, ref, tokens, 0, k, v)
    worst = max(worst, _relative(got, want))
    for _ in range(decode):
        token = [int(rng.integers(0, sub.vocab_size))]
        pos = model.position
        got = model.forward(token)
        worst = max(worst, _relative(
            got, reference.forward(sub, ref, token, pos, k, v)))
    if worst > tolerance:
        sys.exit("llama: %s mode: logits differ from the reference by %.2g "
                 "(tolerance %g)" % (mode, worst, tolerance))
    return worst


def _relative(got, want):
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def run_runner(args, what):
    """Runs `python3 -m sherry.llama ARGS --json`, echoing it; returns its
    report."""
    shown = ["python3", "-m", "sherry.llama"] + [
        os.path.relpath(a, ROOT) if os.path.isabs(a) and a.startswith(ROOT)
        else a for a in args]
    info("$ " + " ".join(shown))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "python") + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-m", "sherry.llama"] + args
                          + ["--json"], capture_output=True, text=True,
                          env=env)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        sys.exit("llama: the %s run failed" % what)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--model", metavar="FILE",
                    help="a llama GGUF file (default: make a synthetic one)")
    ap.add_argument("--shape", choices=sorted(SHAPES), default=None,
                    help="the synthetic checkpoint's shape (default "
                    "bitnet-large; small with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="a small synthetic model, a few seconds")
    ap.add_argument("--seed", type=int, default=0,
                    help="of the synthetic weights and the prompt")
    ap.add_argument("--prompt", metavar="TEXT",
                    help="a text prompt (needs a GGUF file with a byte-level "
                    "BPE tokenizer); default: --prompt-tokens random ids")
    ap.add_argument("--prompt-tokens", type=int, default=128,
                    help="random prompt length (default 128)")
    ap.add_argument("-n", "--new-tokens", type=int, default=128,
                    help="tokens to generate (default 128)")
    ap.add_argument("--baseline-tokens", type=int, default=16,
                    help="tokens the dense baseline generates (default 16; "
                    "0 skips the baseline)")
    ap.add_argument("--chunk", type=int, default=32,
                    help="tokens per prefill call (default 32)")
    ap.add_argument("--threads", type=int, default=1,
                    help="kernel threads (default 1)")
    ap.add_argument("--work", metavar="DIR",
                    help="where the synthetic GGUF goes (default: a "
                    "temporary directory, removed at the end)")
    ap.add_argument("--json", metavar="PATH",
                    help="also write the results as JSON")
    a = ap.parse_args(argv)
    if a.quick:
        a.prompt_tokens, a.new_tokens = min(a.prompt_tokens, 24), \
            min(a.new_tokens, 16)
        a.baseline_tokens = min(a.baseline_tokens, 4)
        a.chunk = min(a.chunk, 8)
    shape = a.shape or ("small" if a.quick else "bitnet-large")
    started = time.perf_counter()
    results = {}

    with tempfile.TemporaryDirectory(prefix="sherry-llama.") as tmp:
        work = a.work or tmp
        os.makedirs(work, exist_ok=True)
        if a.model:
            path = a.model
            step(1, "checkpoint %s" % path)
        else:
            path = os.path.join(work, "%s-synthetic.gguf" % shape)
            step(1, "a synthetic %s checkpoint as a Sherry GGUF" % shape)
            seconds = make_checkpoint(shape, a.seed, path)
            info("wrote %s in %.1f s" % (os.path.relpath(path, ROOT)
                                          if path.startswith(ROOT) else path,
                                          seconds))
        config, weights = load_gguf(path)
        results["gguf_bytes"] = os.path.getsize(path)
        projections, other = config.parameter_count()
        info("%d layers, hidden %d, MLP %d, %d query / %d KV heads, "
             "vocabulary %d: %.0fM projection weights, %.0fM others"
             % (config.num_hidden_layers, config.hidden_size,
                config.intermediate_size, config.num_attention_heads,
                config.num_key_value_heads, config.vocab_size,
                projections / 1e6, other / 1e6))
        types = {t.type for t in gguf.load(path).tensors}
        info("GGUF: %s (%s)" % (mib(results["gguf_bytes"]),
                                ", ".join(sorted(types))))

        step(2, "check: %d layers compiled against a float64 reference, "
             "prefill and 16 decode steps" % min(CHECK_LAYERS,
                                                  config.num_hidden_layers))
        rng = np.random.default_rng(a.seed)
        for mode, tolerance in (("int8", INT8_TOLERANCE),
                                ("exact", EXACT_TOLERANCE)):
            error = check(config, weights, mode, tolerance, rng)
            results["check_%s_max_rel_error" % mode] = error
            info("%s activations: max relative error %.2g (tolerance %g)"
                 % (mode, error, tolerance))
        del weights

        common = ["--model", path, "--chunk", str(a.chunk),
                  "--threads", str(a.threads), "--seed", str(a.seed)]
        if a.prompt is not None:
            common += ["--prompt", a.prompt]
        else:
            common += ["--random-prompt", str(a.prompt_tokens)]
        step(3, "generate with Sherry's kernels (%d thread%s)"
             % (a.threads, "" if a.threads == 1 else "s"))
        sherry = run_runner(common + ["-n", str(a.new_tokens)], "Sherry")
        results["sherry"] = sherry
        info("compile %.1f s; kernels: %s" % (sherry["compile_s"],
                                               sherry["kernel_layout"]))
        if "text" in sherry:
            info("text: %r" % sherry["text"])
        else:
            info("tokens: %s ..." % " ".join(map(str, sherry["tokens"][:16])))
        info("prefill %d tokens: %.1f tokens/s; decode %d tokens: %.1f "
             "tokens/s; peak resident memory %s"
             % (sherry["prompt_tokens"], sherry["prefill_tokens_per_s"],
                sherry["generated_tokens"], sherry["decode_tokens_per_s"],
                mib(sherry["peak_rss_bytes"])))

        dense = None
        if a.baseline_tokens > 0:
            step(4, "the dense baseline: the same weights as f16, vectorized "
                 "upstream lowering")
            dense = run_runner(common + ["-n", str(a.baseline_tokens),
                                         "--projections", "dense"], "dense")
            results["dense"] = dense
            info("prefill %.1f tokens/s; decode %.1f tokens/s; weights %s"
                 % (dense["prefill_tokens_per_s"],
                    dense["decode_tokens_per_s"], mib(dense["dense_bytes"])))
        else:
            step(4, "the dense baseline: skipped (--baseline-tokens 0)")

        step(5, "summary")
        bits = 8.0 * sherry["packed_bytes"] / projections
        info("size: projections %s (%.3f bits per weight), embeddings, "
             "lm_head and norms %s, KV cache %s; GGUF file %s"
             % (mib(sherry["packed_bytes"]), bits, mib(sherry["dense_bytes"]),
                mib(sherry["kv_cache_bytes"]), mib(results["gguf_bytes"])))
        line = ("speed (%d thread%s): prefill %.1f tokens/s, decode %.1f "
                "tokens/s" % (a.threads, "" if a.threads == 1 else "s",
                              sherry["prefill_tokens_per_s"],
                              sherry["decode_tokens_per_s"]))
        if dense:
            line += "; %.1fx and %.1fx the dense f16 model" % (
                sherry["prefill_tokens_per_s"] /
                dense["prefill_tokens_per_s"],
                sherry["decode_tokens_per_s"] / dense["decode_tokens_per_s"])
        info(line)
        results["seconds"] = time.perf_counter() - started
        print("llama: OK in %.0f s" % results["seconds"], flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
