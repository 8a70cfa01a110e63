"""Generate tokens with a LLaMA model on Sherry's kernels.

  python3 -m sherry.llama --model PATH --prompt-ids "1 2 3" -n 32
  python3 -m sherry.llama --config config.json --random-weights 0 \\
      --random-prompt 128 -n 128

PATH is a Hugging Face checkpoint directory (config.json, model.safetensors
or its shards) or a llama.cpp GGUF file (STQ1_0, F16, F32 tensors).
--random-weights SEED makes seeded synthetic weights of a configuration
instead, for timing a shape. Prints the new token ids, then prefill and
decode tokens/s (as llama-bench reports them) and the sizes.
docs/models.md has the details.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

from .. import gguf
from ..errors import SherryError
from .checkpoint import load_checkpoint, load_gguf
from .config import LlamaConfig, ModelError
from .model import LlamaModel
from .tokenizer import ByteLevelBPE


def synthetic_weights(config, seed):
    """Seeded weights of a trained model's scale (std 0.02, norms near 1)."""
    from .ir import weight_arguments
    rng = np.random.default_rng(seed)
    weights = {}
    for _, name, shape, _ in weight_arguments(config):
        if len(shape) == 1:
            w = 1 + 0.1 * rng.standard_normal(shape, dtype=np.float32)
        else:
            w = rng.standard_normal(shape, dtype=np.float32)
            w *= np.float32(0.02)
        weights[name] = w
    return weights


def peak_rss_bytes():
    """This process's peak resident memory: VmHWM where Linux has it (the
    peak since exec; ru_maxrss also counts a parent's memory at fork)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _ids(text):
    try:
        return [int(t) for t in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError("token ids are integers separated "
                                         "by spaces or commas")


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m sherry.llama",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", metavar="PATH",
                     help="a Hugging Face LLaMA checkpoint directory or a "
                     "GGUF file (general.architecture llama)")
    src.add_argument("--config", metavar="JSON",
                     help="a config.json; with --random-weights")
    ap.add_argument("--random-weights", metavar="SEED", type=int,
                    help="seeded synthetic weights for --config")
    ap.add_argument("--stq1_0-type", type=int, metavar="ID",
                    help="the ggml type id of a GGUF file's STQ1_0 tensors "
                    "(default %d, the published STQ1_0 models'; 43 for files "
                    "of the rebased STQ1_0 pull request)" % gguf.STQ1_0_TYPE)
    prompt = ap.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--prompt-ids", type=_ids, metavar="IDS",
                        help="the prompt's token ids")
    prompt.add_argument("--random-prompt", type=int, metavar="N",
                        help="N seeded random token ids")
    prompt.add_argument("--prompt", metavar="TEXT",
                        help="a text prompt: needs a GGUF file whose "
                        "tokenizer is byte-level BPE (LLaMA 3's); the new "
                        "tokens are printed as text too, and generation "
                        "stops at its end-of-text token")
    ap.add_argument("-n", "--max-new-tokens", type=int, default=32,
                    help="tokens to generate (default 32)")
    ap.add_argument("--temperature", type=float, default=0.0,
                    help="0 (default): greedy")
    ap.add_argument("--top-k", type=int, default=0, help="0: all tokens")
    ap.add_argument("--top-p", type=float, default=1.0,
                    help="nucleus sampling: the fewest tokens whose "
                    "probability reaches it (default 1: all)")
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of sampling and of --random-prompt")
    ap.add_argument("--max-context", type=int, default=None,
                    help="KV cache positions (default: the prompt and the "
                    "new tokens)")
    ap.add_argument("--chunk", type=int, default=16,
                    help="tokens per prefill call (default 16)")
    ap.add_argument("--mode", choices=["int8", "exact"], default="int8",
                    help="int8 activations and the table kernels (default), "
                    "or float activations")
    ap.add_argument("--dense-type", choices=["f16", "f32"], default="f16",
                    help="embeddings and lm_head in memory (default f16)")
    ap.add_argument("--kv-type", choices=["f16", "f32"], default="f16",
                    help="the KV cache's element type (default f16, as "
                    "llama.cpp keeps it: half the bytes attention reads)")
    ap.add_argument("--threads", type=int, default=1,
                    help="OpenMP threads of the kernels (default 1)")
    ap.add_argument("--target", default="host",
                    help="the pipeline's target (default host)")
    ap.add_argument("--projections", choices=["sherry", "dense"],
                    default="sherry",
                    help="sherry (default): the projections packed, on "
                    "Sherry's kernels; dense: the same weights as "
                    "--dense-type floats through the vectorized upstream "
                    "lowering (the baseline)")
    ap.add_argument("--no-vectorize", action="store_true",
                    help="leave the operations around the projections "
                    "scalar loops (for comparison)")
    ap.add_argument("--json", action="store_true",
                    help="print one JSON object instead of text")
    a = ap.parse_args(argv)
    try:
        return run(a)
    except (SherryError, ValueError) as e:
        sys.exit("sherry.llama: %s" % e)


def run(a):
    if a.prompt is not None and (not a.model or os.path.isdir(a.model)):
        raise ModelError("--prompt needs a GGUF file with a tokenizer "
                         "(--model FILE.gguf); give --prompt-ids")
    started = time.perf_counter()
    tokenizer = None
    if a.prompt is not None:
        # Before the weights: the file is read whole here, and dropped.
        tokenizer = ByteLevelBPE.from_gguf(
            gguf.load(a.model, a.stq1_0_type).metadata)
    if a.model:
        if a.random_weights is not None:
            raise ModelError("--random-weights goes with --config, not "
                             "--model")
        config, weights = (load_checkpoint(a.model)
                           if os.path.isdir(a.model)
                           else load_gguf(a.model, a.stq1_0_type))
    else:
        if a.random_weights is None:
            raise ModelError("--config needs --random-weights SEED")
        config = LlamaConfig.from_json(a.config)
        weights = synthetic_weights(config, a.random_weights)
    if tokenizer is not None:
        ids = tokenizer.encode(a.prompt)
    elif a.random_prompt is not None:
        if a.random_prompt < 1:
            raise ModelError("--random-prompt needs at least one token")
        ids = np.random.default_rng(a.seed).integers(
            0, config.vocab_size, a.random_prompt).tolist()
    else:
        ids = a.prompt_ids
    load_seconds = time.perf_counter() - started
    context = a.max_context or max(len(ids) + a.max_new_tokens, 1)
    options = "target=%s threads=%d" % (a.target, a.threads)
    model = LlamaModel(config, weights, max_context=context, chunk=a.chunk,
                       mode=a.mode, dense_type=a.dense_type,
                       pipeline_options=options,
                       vectorize=not a.no_vectorize,
                       projections=a.projections, kv_type=a.kv_type,
                       release_weights=True)
    stop = () if tokenizer is None or tokenizer.eos_id is None else \
        (tokenizer.eos_id,)
    result = model.generate(ids, a.max_new_tokens, a.temperature, a.top_k,
                            a.top_p, a.seed, stop_tokens=stop)
    projections, other = config.parameter_count()
    report = {
        "prompt_tokens": len(ids), "generated_tokens": len(result.tokens),
        "tokens": result.tokens,
        "prefill_tokens_per_s": result.prefill_tokens_per_second,
        "decode_tokens_per_s": result.decode_tokens_per_second,
        "load_s": load_seconds, "compile_s": model.compile_seconds,
        "threads": a.threads, "mode": a.mode, "dense_type": a.dense_type,
        "projections": a.projections, "kv_type": a.kv_type,
        "kernel_layout": ("dense " + a.dense_type
                          if a.projections == "dense" else
                          "tables %s/%d" % model.table_layout
                          if model.table_layout else "sherry (decode)"),
        "projection_parameters": projections, "other_parameters": other,
        "packed_bytes": model.packed_bytes, "dense_bytes": model.dense_bytes,
        "kv_cache_bytes": model.cache_bytes,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    if tokenizer is not None:
        report["text"] = tokenizer.decode(result.tokens)
    if a.json:
        print(json.dumps(report))
        return 0
    mib = lambda n: "%.2f MiB" % (n / 2.0 ** 20)  # noqa: E731
    print("model: %d layers, hidden %d, vocabulary %d; %d projection "
          "weights, %d other parameters"
          % (config.num_hidden_layers, config.hidden_size, config.vocab_size,
             projections, other))
    print("weights: projections %s packed (%s), embeddings/lm_head %s and "
          "norms f32: %s; KV cache %s (%d positions)"
          % (mib(model.packed_bytes), report["kernel_layout"], a.dense_type,
             mib(model.dense_bytes), mib(model.cache_bytes), context))
    print("load %.2f s, compile %.2f s, peak resident memory %s"
          % (load_seconds, model.compile_seconds,
             mib(report["peak_rss_bytes"])))
    print("tokens:", " ".join(str(t) for t in result.tokens))
    if tokenizer is not None:
        print("text: %r" % report["text"])
    print("prefill: %d tokens, %.1f tokens/s" % (
        len(ids), result.prefill_tokens_per_second))
    print("decode: %d tokens, %.1f tokens/s (%d thread%s)" % (
        len(result.tokens), result.decode_tokens_per_second, a.threads,
        "" if a.threads == 1 else "s"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
