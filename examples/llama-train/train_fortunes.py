"""Trains a small LLaMA on Debian's fortunes with the Sherry paper's QAT,
writes it as a Sherry GGUF, and generates text from it with the compiler.

The Sherry paper's Table 1 claim in miniature (arXiv 2601.07892): a model
trained with quantization-aware training on 1.25-bit weights keeps most of
the dense model's quality, and post-training ternarization of the dense
model does not. Here, on the fortunes that the `fortunes` and
`fortunes-min` packages ship (/usr/share/games/fortunes, every tenth
fortune held out):

1. a byte-level BPE tokenizer (LLaMA 3's kind) is learned from the training
   fortunes (``sherry.llama.tokenizer.ByteLevelBPE.train``);
2. a LLaMA-architecture model (RMSNorm, rotate-half RoPE, grouped-query
   attention, SiLU-gated MLP; Hugging Face tensor names) is trained dense
   in float32;
3. it is fine-tuned with QAT: every projection computes with its weights
   projected onto llama.cpp's STQ1_0 blocks of Sherry codes (3:4 sparse
   ternary, one f16 scale per 256 weights:
   ``sherry.torch.ternary_projection(w, layout='stq1_0')``), gradients pass
   the projection unchanged (straight-through estimator), and Arenas adds
   lambda_t X W^T with lambda_t annealed to 0 before the end;
4. the QAT model is written as a GGUF file (STQ1_0 projections, f16
   embeddings and lm_head, the tokenizer), loaded back with
   ``sherry.llama.load_gguf``, compiled with ``sherry.llama.LlamaModel``
   (int8 activations, the table kernels) and sampled from;
5. the dense model is trained as many more steps in float32, so that it
   has seen as many batches as the QAT model, and ternarized as it is
   (post-training ternarization, no QAT);
6. held-out perplexity is reported for the dense model, the QAT model (in
   torch, and compiled from the GGUF file), and the post-training
   ternarization (compiled the same way); the compiled models must match
   their torch counterparts.

Usage: train_fortunes.py [--fast] [--out DIR] [--json PATH] [--seed N] ...
(`--help` lists them). The full run trains for a few CPU minutes; --fast
is what python/tests/test_llama_train_example.py runs.
"""
import argparse
import glob
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import sherry.torch as st  # noqa: E402
from sherry.torch import arenas_lambda  # noqa: E402
from sherry.llama import LlamaConfig, LlamaModel  # noqa: E402
from sherry.llama.checkpoint import load_gguf, save_gguf  # noqa: E402
from sherry.llama.tokenizer import ByteLevelBPE  # noqa: E402

FORTUNES = "/usr/share/games/fortunes"

# The full run; FAST overrides a few entries.
CONFIG = {
    "seed": 0,
    "threads": 2,
    "vocab_size": 1024,
    "hidden_size": 256,         # a multiple of 256: STQ1_0 blocks
    "intermediate_size": 768,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "seq_len": 64,
    "batch_size": 16,
    "dense_steps": 300,
    "dense_lr": 3e-3,
    "qat_steps": 300,
    "qat_lr": 2e-3,
    "lambda_max": 1.0,          # Arenas: the peak of lambda_t
    "warmup": 0.1,              # lambda_t rises over this fraction
    "anneal_end": 0.7,          # ... and is 0 from here to the end
    "eval_windows": 0,          # held-out windows to score; 0: all
    "prompt": "The secret of",
    "new_tokens": 48,
}
FAST = {"vocab_size": 512, "num_hidden_layers": 1, "intermediate_size": 512,
        "seq_len": 64, "batch_size": 8, "dense_steps": 40, "qat_steps": 40,
        "eval_windows": 24, "new_tokens": 16, "threads": 1}

# The compiled model (int8 activations, f16 embeddings) against the torch
# float32 model of the same weights: relative perplexity difference.
PERPLEXITY_TOLERANCE = 0.02


def log(text=""):
    print(text, flush=True)


# --- data -------------------------------------------------------------------

def load_fortunes(directory=FORTUNES):
    """The fortunes of every fortune file in `directory` (split at lines
    holding one '%'), in file and then text order."""
    files = sorted(f for f in glob.glob(os.path.join(directory, "*"))
                   if os.path.isfile(f) and not os.path.islink(f)
                   and not f.endswith(".dat"))
    texts = []
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for text in f.read().split("\n%\n"):
                text = text.strip("\n%")
                if text.strip():
                    texts.append(text + "\n")
    if not texts:
        raise SystemExit("no fortunes in %s: install Debian's fortunes-min "
                         "or fortunes (utils/setup.sh does)" % directory)
    return texts


def token_stream(tokenizer, texts):
    """BOS, the fortune's tokens and EOS, for each fortune, as one int64
    array."""
    ids = []
    for text in texts:
        ids += tokenizer.encode(text) + [tokenizer.eos_id]
    return np.asarray(ids, np.int64)


# --- the model --------------------------------------------------------------

class QatLinear(nn.Linear):
    """A bias-free projection. With `ternary` set it computes with its
    weights projected onto STQ1_0's 3:4 ternary codes (straight-through
    estimator) plus Arenas' lam * X W^T; at lam = 0 it is exactly the
    layer that the GGUF file stores."""

    ternary = False
    lam = 0.0

    def __init__(self, k, m):
        super().__init__(k, m, bias=False)

    def forward(self, x):
        w = self.weight
        if not self.ternary:
            return F.linear(x, w)
        w_q = w + (st.ternary_projection(w, layout="stq1_0") - w).detach()
        y = F.linear(x, w_q)
        if self.lam:
            y = y + self.lam * F.linear(x, w)
        return y


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True)
                               + self.eps) * self.weight


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.q_proj = QatLinear(c.hidden_size, c.q_size)
        self.k_proj = QatLinear(c.hidden_size, c.kv_size)
        self.v_proj = QatLinear(c.hidden_size, c.kv_size)
        self.o_proj = QatLinear(c.q_size, c.hidden_size)

    def forward(self, x, cos, sin):
        c, (b, n, _) = self.c, x.shape
        d = c.head_dim
        q = self.q_proj(x).view(b, n, c.num_attention_heads, d)
        k = self.k_proj(x).view(b, n, c.num_key_value_heads, d)
        v = self.v_proj(x).view(b, n, c.num_key_value_heads, d)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        group = c.num_attention_heads // c.num_key_value_heads
        k = k.repeat_interleave(group, dim=2)
        v = v.repeat_interleave(group, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))    # b h n d
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        future = torch.ones(n, n, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
        out = scores.softmax(-1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(b, n, -1))


def rope(x, cos, sin):
    """Rotate-half RoPE (Hugging Face's LLaMA): x is b n heads d."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
    c = torch.cat([cos, cos], -1)[None, :, None, :]
    s = torch.cat([sin, sin], -1)[None, :, None, :]
    return x * c + rotated * s


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = QatLinear(c.hidden_size, c.intermediate_size)
        self.up_proj = QatLinear(c.hidden_size, c.intermediate_size)
        self.down_proj = QatLinear(c.intermediate_size, c.hidden_size)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size,
                                                c.rms_norm_eps)
        self.mlp = Mlp(c)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(Layer(c) for _ in
                                    range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class TinyLlama(nn.Module):
    """LLaMA in torch; its state_dict has Hugging Face's names, which
    save_gguf and LlamaModel take."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Decoder(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.register_buffer("inv_freq", torch.tensor(
            c.inverse_frequencies(), dtype=torch.float32), persistent=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)

    def forward(self, ids):
        n = ids.shape[1]
        angles = torch.arange(n, dtype=torch.float32)[:, None] * \
            self.inv_freq[None]
        cos, sin = angles.cos(), angles.sin()
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.model.norm(x))

    def projections(self):
        return [m for m in self.modules() if isinstance(m, QatLinear)]

    def set_quantization(self, ternary, lam=0.0):
        for m in self.projections():
            m.ternary, m.lam = ternary, lam

    def weights(self):
        """{Hugging Face name: float32 numpy array}."""
        return {k: v.detach().numpy().copy()
                for k, v in self.state_dict().items()}


def train(model, stream, steps, lr, cfg, seed, schedule=None, out=None):
    """AdamW on next-token cross entropy over random windows of the
    training stream, cosine learning-rate decay after a 5% warm-up;
    `out` gets a progress line every tenth of the steps. Returns (the loss
    of each step, the lambda_t of each step)."""
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr,
                                  weight_decay=0.0, betas=(0.9, 0.95))
    n, b = cfg["seq_len"], cfg["batch_size"]
    warm = max(1, steps // 20)
    losses, lambdas = [], []
    model.train()
    for step in range(steps):
        scale = (step + 1) / warm if step < warm else \
            0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warm)
                                            / max(1, steps - warm)))
        for group in optimizer.param_groups:
            group["lr"] = lr * scale
        if schedule is not None:
            lam = schedule(step, steps)
            model.set_quantization(True, lam)
            lambdas.append(lam)
        starts = rng.integers(0, len(stream) - n - 1, b)
        batch = torch.from_numpy(np.stack([stream[s:s + n + 1]
                                           for s in starts]))
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                               batch[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss))
        tenth = steps // 10
        if out is not None and tenth and (step + 1) % tenth == 0:
            out("  step %d/%d: loss %.3f%s" % (
                step + 1, steps, float(np.mean(losses[-tenth:])),
                "" if schedule is None else ", lambda %.2f" % lambdas[-1]))
    if schedule is not None:
        model.set_quantization(True, 0.0)
    model.eval()
    return losses, lambdas


# --- evaluation -------------------------------------------------------------

def eval_windows(stream, n, count):
    """Non-overlapping windows of n + 1 tokens of the held-out stream (the
    first `count`, or all for 0)."""
    total = (len(stream) - 1) // n
    if count:
        total = min(total, count)
    return [stream[i * n:i * n + n + 1] for i in range(total)]


def _nll(logits, targets):
    """Summed negative log-likelihood (float64) of targets under logits."""
    logits = np.asarray(logits, np.float64)
    top = logits.max(axis=1, keepdims=True)
    logz = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float((logz - logits[np.arange(len(targets)), targets]).sum())


def torch_perplexity(model, windows, batch=64):
    """Perplexity of the torch model over the windows, `batch` at a time
    (each window from position 0, as the compiled model runs them)."""
    nll = count = 0
    with torch.no_grad():
        for i in range(0, len(windows), batch):
            block = np.stack(windows[i:i + batch])
            logits = model(torch.from_numpy(block[:, :-1])).numpy()
            for row, w in zip(logits, block):
                nll += _nll(row, w[1:])
                count += len(w) - 1
    return math.exp(nll / count)


def compiled_perplexity(model, windows):
    """Perplexity of a LlamaModel built with all_logits=True: each window
    from position 0, prefilled in chunks."""
    nll = count = 0
    for w in windows:
        model.reset()
        nll += _nll(model.forward(w[:-1]), w[1:])
        count += len(w) - 1
    return math.exp(nll / count)


def ternarized(weights, config):
    """`weights` with every projection projected onto STQ1_0's values (what
    the GGUF file and the compiled model hold), as float32 arrays."""
    out = dict(weights)
    for name in config.projection_shapes():
        out[name] = st.ternary_projection(
            torch.from_numpy(weights[name]), layout="stq1_0").numpy()
    return out


# --- the run ----------------------------------------------------------------

def run(config=None, fast=False, out_dir=None, out=log):
    """Trains, writes, compiles, evaluates and samples; returns a dict of
    the results (the report's numbers)."""
    cfg = dict(CONFIG)
    if fast:
        cfg.update(FAST)
    cfg.update(config or {})
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    timings, ppl, checks = {}, {}, {}
    out_dir = out_dir or os.path.join(ROOT, "build", "llama-train")
    os.makedirs(out_dir, exist_ok=True)

    texts = load_fortunes()
    test_texts = texts[::10]
    train_texts = [t for i, t in enumerate(texts) if i % 10]
    start = time.perf_counter()
    tokenizer = ByteLevelBPE.train(train_texts, cfg["vocab_size"])
    train_stream = token_stream(tokenizer, train_texts)
    test_stream = token_stream(tokenizer, test_texts)
    timings["tokenizer_s"] = time.perf_counter() - start
    out("fortunes: %d train / %d held-out texts, %d / %d tokens of a %d-token "
        "byte-level BPE (%.2f bytes per token)"
        % (len(train_texts), len(test_texts), len(train_stream),
           len(test_stream), len(tokenizer.tokens),
           sum(len(t.encode()) for t in train_texts) / len(train_stream)))

    c = LlamaConfig(
        vocab_size=len(tokenizer.tokens), hidden_size=cfg["hidden_size"],
        intermediate_size=cfg["intermediate_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        num_key_value_heads=cfg["num_key_value_heads"],
        max_position_embeddings=cfg["seq_len"], rms_norm_eps=1e-5,
        rope_theta=10000.0)
    windows = eval_windows(test_stream, cfg["seq_len"], cfg["eval_windows"])

    # 1. Dense float32.
    dense = TinyLlama(c)
    start = time.perf_counter()
    out("training the dense model (float32)")
    dense_losses, _ = train(dense, train_stream, cfg["dense_steps"],
                            cfg["dense_lr"], cfg, cfg["seed"], out=out)
    timings["train_dense_s"] = time.perf_counter() - start
    ppl["dense"] = torch_perplexity(dense, windows)
    out("dense: %d steps in %.0f s, loss %.3f -> %.3f, held-out perplexity "
        "%.2f" % (cfg["dense_steps"], timings["train_dense_s"],
                  dense_losses[0], dense_losses[-1], ppl["dense"]))

    # 2. QAT with Arenas, from the dense weights.
    qat = TinyLlama(c)
    qat.load_state_dict(dense.state_dict())

    def schedule(step, total):
        return arenas_lambda(step, total, cfg["lambda_max"], cfg["warmup"],
                             cfg["anneal_end"])
    start = time.perf_counter()
    out("QAT: projections on STQ1_0's ternary values, Arenas' lambda_t")
    qat_losses, lambdas = train(qat, train_stream, cfg["qat_steps"],
                                cfg["qat_lr"], cfg, cfg["seed"] + 1,
                                schedule, out=out)
    timings["train_qat_s"] = time.perf_counter() - start
    ppl["qat"] = torch_perplexity(qat, windows)
    out("QAT (STQ1_0 projection, Arenas): %d steps in %.0f s, loss %.3f -> "
        "%.3f, held-out perplexity %.2f"
        % (cfg["qat_steps"], timings["train_qat_s"], qat_losses[0],
           qat_losses[-1], ppl["qat"]))

    # 3. The dense model trained as many more steps, in float32 (the fair
    # baseline: QAT's model has seen as many batches), and its
    # post-training ternarization.
    start = time.perf_counter()
    out("the dense model, %d more steps in float32" % cfg["qat_steps"])
    more_losses, _ = train(dense, train_stream, cfg["qat_steps"],
                           cfg["qat_lr"], cfg, cfg["seed"] + 1, out=out)
    timings["train_dense_more_s"] = time.perf_counter() - start
    dense_losses += more_losses
    ppl["dense_first"] = ppl["dense"]
    ppl["dense"] = torch_perplexity(dense, windows)
    dense_weights = dense.weights()
    dense.set_quantization(True)
    ppl["ptq"] = torch_perplexity(dense, windows)
    dense.set_quantization(False)
    out("dense after %d steps: held-out perplexity %.2f; ternarized after "
        "training (no QAT): %.2f" % (cfg["dense_steps"] + cfg["qat_steps"],
                                     ppl["dense"], ppl["ptq"]))

    # 4. The GGUF files: the QAT model, and the dense one ternarized.
    meta = dict(tokenizer.gguf_metadata())
    meta["general.name"] = ("sherry fortunes %dx%d" % (
        c.num_hidden_layers, c.hidden_size), "string")
    paths = {}
    for what, weights in (("qat", qat.weights()), ("ptq", dense_weights)):
        paths[what] = os.path.join(out_dir, "fortunes-%s.gguf" % what)
        save_gguf(paths[what], c, weights, "stq1_0", "f16", meta)
    projection_params, other_params = c.parameter_count()
    sizes = {"gguf_bytes": os.path.getsize(paths["qat"]),
             "projection_parameters": projection_params,
             "other_parameters": other_params}

    # 5. Load them back and compile (one compile: the same shape).
    start = time.perf_counter()
    loaded_config, qat_weights = load_gguf(paths["qat"])
    model = LlamaModel(loaded_config, qat_weights,
                       max_context=c.max_position_embeddings, chunk=16,
                       all_logits=True,
                       pipeline_options="target=host threads=%d"
                       % cfg["threads"])
    timings["compile_s"] = model.compile_seconds
    timings["load_and_compile_s"] = time.perf_counter() - start
    start = time.perf_counter()
    ppl["qat_compiled"] = compiled_perplexity(model, windows)
    timings["eval_compiled_s"] = time.perf_counter() - start
    model.load_weights(load_gguf(paths["ptq"])[1])
    ppl["ptq_compiled"] = compiled_perplexity(model, windows)

    # The compiled models against torch on the same (ternary, f16
    # embedding) weights: int8 activations move perplexity a little.
    for what in ("qat", "ptq"):
        rel = abs(ppl[what + "_compiled"] / ppl[what] - 1)
        checks[what + "_compiled_vs_torch_rel"] = rel
        checks[what + "_compiled_within_tolerance"] = \
            rel <= PERPLEXITY_TOLERANCE

    # 6. Generate from the GGUF file's model with its own tokenizer.
    model.load_weights(qat_weights)
    model.all_logits = False
    tok = ByteLevelBPE.from_gguf(_metadata(paths["qat"]))
    prompt = tok.encode(cfg["prompt"])
    result = model.generate(prompt, cfg["new_tokens"], temperature=0.8,
                            top_k=40, seed=cfg["seed"],
                            stop_tokens=(tok.eos_id,))
    text = tok.decode(result.tokens)
    out("generated (temperature 0.8, top-k 40): %r" % (cfg["prompt"] + text))
    model.all_logits = True

    out("held-out perplexity after %d steps: dense float32 %.2f | Sherry "
        "QAT %.2f (compiled from GGUF %.2f) | post-training ternarization "
        "%.2f (compiled %.2f)"
        % (cfg["dense_steps"] + cfg["qat_steps"], ppl["dense"], ppl["qat"],
           ppl["qat_compiled"], ppl["ptq"], ppl["ptq_compiled"]))
    out("GGUF %s: %d bytes; %d projection weights (STQ1_0), %d others "
        "(f16 embeddings and lm_head, f32 norms)"
        % (paths["qat"], sizes["gguf_bytes"], projection_params,
           other_params))
    return {"config": cfg, "perplexity": ppl, "checks": checks,
            "timings": timings, "sizes": sizes, "paths": paths,
            "generated": {"prompt": cfg["prompt"], "text": text,
                          "tokens": result.tokens},
            "losses": {"dense": dense_losses, "qat": qat_losses},
            "lambdas": lambdas}


def _metadata(path):
    from sherry import gguf
    return gguf.load(path).metadata


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--fast", action="store_true",
                    help="a one-layer model and a few dozen steps (seconds)")
    ap.add_argument("--out", metavar="DIR",
                    help="where the GGUF files go (default build/llama-train)")
    ap.add_argument("--json", metavar="PATH",
                    help="also write the results as JSON")
    ap.add_argument("--seed", type=int, help="default 0")
    ap.add_argument("--threads", type=int,
                    help="torch and kernel threads (default 2)")
    ap.add_argument("--dense-steps", type=int, help="default 300")
    ap.add_argument("--qat-steps", type=int, help="default 300")
    ap.add_argument("--layers", type=int, dest="num_hidden_layers",
                    help="decoder layers (default 4)")
    ap.add_argument("--prompt", help="the text to continue")
    a = ap.parse_args(argv)
    overrides = {k: v for k, v in vars(a).items()
                 if v is not None and k in CONFIG}
    result = run(overrides, a.fast, a.out)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    failed = [k for k, v in result["checks"].items()
              if k.endswith("within_tolerance") and not v]
    if failed:
        sys.exit("failed: %s" % ", ".join(failed))


if __name__ == "__main__":
    main()
