"""Quantization-aware training of a small MLP on Sherry 1.25-bit weights.

The Sherry paper's training method (arXiv 2601.07892), end to end, on
scikit-learn's 8x8 digits (1797 images, 10 classes):

1. train a dense float MLP 64 -> 256 -> 256 -> 10 (ReLU);
2. fine-tune it with quantization-aware training (QAT): every linear layer
   computes with its weights projected onto the format (3:4 sparse ternary
   T with one scale alpha per row, ``sherry.torch.ternary_projection``,
   which equals ``sherry.quantize(w).dequantize()``), gradients pass the
   projection unchanged (the straight-through estimator), and Arenas, the
   paper's annealing residual synapse, adds the latent float weights back
   as Y = X (alpha T)^T + lambda_t X W^T + b, with lambda_t rising from 0
   and annealed back to 0 (``arenas_lambda``) so that the last part of the
   training, and the exported model, are pure 1.25-bit;
3. pack the trained weights with the format library and compile the model
   with the project's compiler: ``sherry.torch.sherrify`` (one
   ``sherry.matmul`` function per layer, weights packed by
   ``sherry.quantize``) and, where ``sherry-opt`` is found, the whole model
   as one function (``export_mlir``, ``sherry-opt --sherry-sparsify``,
   ``sherry.compile``);
4. run the compiled model on the test split and report the accuracy of the
   dense model, of the QAT model (compiled, f32 and int8 activations), of
   post-training ternarization of the dense model without QAT (the same
   compiler, no training) and of QAT without Arenas (lambda_t = 0 always),
   checking that the compiled model gives what the torch fake-quant model
   gives.

Usage: train_digits.py [--fast] [--json PATH] [--seed N] [--threads N] ...
(`--help` lists them). Seeded: the same seed and thread count give the same
numbers. The full run takes a few seconds of training on one core; --fast
is what python/tests/test_qat_example.py runs.
"""
import argparse
import copy
import glob
import importlib.util
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import sherry  # noqa: E402
import sherry.torch as st  # noqa: E402
from sherry.torch import arenas_lambda  # noqa: E402,F401

# The full run; FAST overrides a few entries.
CONFIG = {
    "seed": 0,
    "threads": 1,
    "hidden": 256,          # 64 -> hidden -> hidden -> 10; K = 64, 256, 256
    "test_size": 0.25,      # of the 1797 images, stratified
    "batch_size": 64,
    "dense_epochs": 30,
    "dense_lr": 2e-3,
    "qat_epochs": 40,
    "qat_lr": 1e-3,
    "lambda_max": 1.0,      # Arenas: the peak of lambda_t
    "warmup": 0.1,          # lambda_t rises over this fraction of the steps
    "anneal_end": 0.7,      # ... is back at 0 here, and stays 0 to the end
    "ablation": True,       # also QAT without Arenas (lambda_t = 0)
}
FAST = {"dense_epochs": 12, "qat_epochs": 20, "ablation": False}

# Compiled exact mode (f32 activations) against the float32 torch
# fake-quant model: the same products, summed in another order.
EXACT_TOLERANCE = 1e-4


def log(text=""):
    print(text, flush=True)


# --- data -----------------------------------------------------------------

def load_data(seed, test_size):
    """Digits as float32 in [0, 1] (pixels / 16), a stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed)
    return (torch.from_numpy(x_train), torch.from_numpy(y_train),
            torch.from_numpy(x_test), torch.from_numpy(y_test))


# --- the model and Arenas -------------------------------------------------

class ArenasLinear(nn.Linear):
    """nn.Linear trained on the format: Y = X (alpha T)^T + lambda X W^T + b.

    alpha T is the format's projection of the latent float weights W
    (``sherry.torch.ternary_projection``, per-row scales), taken with the
    straight-through estimator: the forward pass sees alpha T, the gradient
    reaches W as if the projection were the identity. `lam` is Arenas'
    lambda_t, set by the training loop; at lam = 0 the layer is exactly
    the 1.25-bit layer ``SherryLinear.from_linear`` compiles."""

    lam = 0.0

    def forward(self, x):
        w = self.weight
        w_q = w + (st.ternary_projection(w) - w).detach()   # STE
        y = F.linear(x, w_q, self.bias)
        if self.lam:
            y = y + self.lam * F.linear(x, w)
        return y


def make_mlp(hidden, linear=nn.Linear):
    return nn.Sequential(linear(64, hidden), nn.ReLU(),
                         linear(hidden, hidden), nn.ReLU(),
                         linear(hidden, 10))


def to_arenas(model):
    """The QAT model, starting from `model`'s weights."""
    qat = make_mlp(model[0].out_features, ArenasLinear)
    qat.load_state_dict(model.state_dict())
    return qat


def to_plain(model):
    """An nn.Sequential of plain nn.Linear with `model`'s (latent)
    weights: what sherrify and export_mlir take."""
    plain = make_mlp(model[0].out_features)
    plain.load_state_dict(model.state_dict())
    return plain.eval()


def set_lambda(model, lam):
    for layer in model:
        if isinstance(layer, ArenasLinear):
            layer.lam = lam


def train(model, x, y, epochs, lr, batch_size, seed, schedule=None):
    """Adam on cross entropy, shuffled minibatches from a seeded
    generator. `schedule(step, total)` gives lambda_t for Arenas layers.
    Returns the lambda_t of every step."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(x) / batch_size)
    total = epochs * steps_per_epoch
    lambdas = []
    step = 0
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch_size):
            index = order[i:i + batch_size]
            if schedule is not None:
                lam = schedule(step, total)
                set_lambda(model, lam)
                lambdas.append(lam)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            step += 1
    set_lambda(model, 0.0)
    model.eval()
    return lambdas


def accuracy(logits, y):
    """The fraction of right predictions (argmax of the logits)."""
    right = int((torch.as_tensor(logits).argmax(dim=1) == y).sum())
    return right / len(y)


# --- compiling --------------------------------------------------------------

def compile_sherrify(plain, mode):
    """`plain`'s layers as SherryLinear (weights packed by sherry.quantize,
    one compiled sherry.matmul function per layer); the ReLUs stay torch."""
    model = copy.deepcopy(plain)
    report = st.sherrify(model, mode=mode)
    assert len(report.replaced) == 3, report
    return model.eval()


def find_sherry_opt():
    path = os.environ.get("SHERRY_OPT")
    if path:
        return path
    pack = os.environ.get("SHERRY_PACK")
    candidates = [os.path.join(os.path.dirname(pack), "sherry-opt")] \
        if pack else []
    candidates += [os.path.join(ROOT, "build", "bin", "sherry-opt")]
    candidates += sorted(glob.glob(os.path.join(ROOT, "build*", "bin",
                                                "sherry-opt")))
    for path in candidates:
        if os.path.exists(path):
            return path
    return None


def compile_whole(plain, mode, sherry_opt):
    """The whole MLP as one function: export_mlir (func + linalg, float
    weights), sherry-opt --sherry-sparsify (the matmuls become sherry.matmul
    on weights packed by the format library) and sherry.compile."""
    text = st.export_mlir(plain, torch.zeros(1, 64))
    done = subprocess.run([sherry_opt, "--sherry-sparsify=mode=" + mode],
                          input=text, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("sherry-opt --sherry-sparsify failed:\n"
                           + done.stderr)
    sparse = done.stdout
    assert sparse.count("sherry.matmul") == 3, "not every layer sparsified"
    return sherry.compile(sparse, "target=host")


def int8_reference_logits(plain, x):
    """The int8 model in torch: each layer ``fake_quant_reference``
    (weights ``sherry.quantize(w).dequantize()``, activations rounded to
    int8 per row as docs/format.md section 7 says, float64 sums)."""
    h = x
    with torch.no_grad():
        for layer in plain:
            if isinstance(layer, nn.Linear):
                h = st.fake_quant_reference(layer, h, mode="int8")
            else:
                h = layer(h)
    return h


def layerwise_error(compiled, x):
    """Runs the sherrified model layer by layer; the largest
    |y - ref| / (1 + |ref|) of any SherryLinear against its own
    ``reference`` (fake_quant_reference) on the same input."""
    worst = 0.0
    h = x
    with torch.no_grad():
        for layer in compiled:
            y = layer(h)
            if isinstance(layer, st.SherryLinear):
                ref = layer.reference(h)
                worst = max(worst, float(((y - ref).abs()
                                          / (1 + ref.abs())).max()))
            h = y
    return worst


def packed_size(plain):
    """Bytes of the packed weights and their f32 scales, weights count."""
    nbytes = weights = 0
    for layer in plain:
        if isinstance(layer, nn.Linear):
            p = sherry.quantize(layer.weight)
            nbytes += p.data.size + 4 * p.scales.size
            weights += layer.weight.numel()
    return nbytes, weights


# --- the run ----------------------------------------------------------------

def run(config=None, fast=False, sherry_opt="auto", out=log):
    """Trains, compiles and evaluates; returns a dict of the results (the
    report's numbers) with the models under "models" (not JSON)."""
    cfg = dict(CONFIG)
    if fast:
        cfg.update(FAST)
    cfg.update(config or {})
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    np.random.seed(cfg["seed"])
    timings = {}
    acc = {}
    checks = {}

    x_train, y_train, x_test, y_test = load_data(cfg["seed"],
                                                 cfg["test_size"])
    out("digits: %d train / %d test images, 64 features, 10 classes"
        % (len(x_train), len(x_test)))

    # 1. Dense float baseline.
    torch.manual_seed(cfg["seed"])
    dense = make_mlp(cfg["hidden"])
    start = time.perf_counter()
    train(dense, x_train, y_train, cfg["dense_epochs"], cfg["dense_lr"],
          cfg["batch_size"], cfg["seed"])
    timings["train_dense_s"] = time.perf_counter() - start
    with torch.no_grad():
        acc["dense_float"] = accuracy(dense(x_test), y_test)

    # 2. QAT with Arenas, from the dense weights.
    def schedule(step, total):
        return arenas_lambda(step, total, cfg["lambda_max"], cfg["warmup"],
                             cfg["anneal_end"])
    qat = to_arenas(dense)
    start = time.perf_counter()
    lambdas = train(qat, x_train, y_train, cfg["qat_epochs"], cfg["qat_lr"],
                    cfg["batch_size"], cfg["seed"] + 1, schedule)
    timings["train_qat_s"] = time.perf_counter() - start
    with torch.no_grad():
        acc["qat_fake_quant"] = accuracy(qat(x_test), y_test)
    qat_plain = to_plain(qat)

    # QAT without Arenas: the same steps with lambda_t = 0.
    ablation_plain = None
    if cfg["ablation"]:
        plain_qat = to_arenas(dense)
        start = time.perf_counter()
        train(plain_qat, x_train, y_train, cfg["qat_epochs"], cfg["qat_lr"],
              cfg["batch_size"], cfg["seed"] + 1, lambda s, t: 0.0)
        timings["train_qat_no_arenas_s"] = time.perf_counter() - start
        ablation_plain = to_plain(plain_qat)

    # 3. Compile: QAT weights, and the dense weights ternarized as they are.
    dense_plain = to_plain(dense)
    compiled = {}
    start = time.perf_counter()
    for mode in ("exact", "int8"):
        compiled["qat", mode] = compile_sherrify(qat_plain, mode)
        compiled["ptq", mode] = compile_sherrify(dense_plain, mode)
    if ablation_plain is not None:
        compiled["no_arenas", "exact"] = compile_sherrify(ablation_plain,
                                                          "exact")
    timings["compile_s"] = time.perf_counter() - start

    # 4. Run the compiled models on the test split.
    logits = {}
    start = time.perf_counter()
    with torch.no_grad():
        for key, model in compiled.items():
            logits[key] = model(x_test)
    timings["run_compiled_s"] = time.perf_counter() - start
    for (what, mode), value in logits.items():
        acc["%s_compiled_%s" % (what, mode)] = accuracy(value, y_test)

    # The compiled QAT model against the torch fake-quant model: exact
    # mode against the QAT model itself (lambda = 0), int8 mode layer by
    # layer against fake_quant_reference (each layer rounds its inputs to
    # int8 again, so a 1e-7 difference can flip one rounding and the
    # chains would differ by a quantum: predictions are compared whole).
    with torch.no_grad():
        ref = qat(x_test)
    got = logits["qat", "exact"]
    checks["qat_exact_max_abs_diff"] = float((got - ref).abs().max())
    checks["qat_exact_within_tolerance"] = bool(torch.all(
        (got - ref).abs() <= EXACT_TOLERANCE * (1 + ref.abs())))
    checks["qat_exact_same_predictions"] = float(
        (got.argmax(1) == ref.argmax(1)).float().mean())
    checks["qat_int8_layer_max_rel_diff"] = layerwise_error(
        compiled["qat", "int8"], x_test)
    ref = int8_reference_logits(qat_plain, x_test)
    checks["qat_int8_same_predictions"] = float(
        (logits["qat", "int8"].argmax(1) == ref.argmax(1)).float().mean())

    # The whole model as one function, where sherry-opt is there.
    if sherry_opt == "auto":
        sherry_opt = find_sherry_opt()
    if sherry_opt:
        start = time.perf_counter()
        whole = compile_whole(qat_plain, "exact", sherry_opt)
        timings["compile_whole_s"] = time.perf_counter() - start
        y_whole = torch.from_numpy(whole.forward(x_test.numpy()))
        acc["qat_whole_model_exact"] = accuracy(y_whole, y_test)
        ref = logits["qat", "exact"]
        checks["whole_vs_sherrify_max_abs_diff"] = float(
            (y_whole - ref).abs().max())
        checks["whole_vs_sherrify_same_predictions"] = float(
            (y_whole.argmax(1) == ref.argmax(1)).float().mean())

    nbytes, weights = packed_size(qat_plain)
    result = {
        "config": cfg,
        "accuracy": acc,
        "checks": checks,
        "timings": timings,
        "lambda": {"first": lambdas[0], "max": max(lambdas),
                   "argmax_fraction": lambdas.index(max(lambdas))
                   / len(lambdas),
                   "last": lambdas[-1], "steps": len(lambdas),
                   "zero_steps_at_end": len(lambdas) - max(
                       i for i, v in enumerate(lambdas) if v > 0) - 1},
        "size": {"weights": weights, "packed_bytes": nbytes,
                 "bits_per_weight": 8.0 * nbytes / weights,
                 "f32_bytes": 4 * weights},
        "sherry_opt": sherry_opt,
        "models": {"dense": dense_plain, "qat": qat_plain, "arenas": qat,
                   "ablation": ablation_plain, "compiled": compiled,
                   "data": (x_train, y_train, x_test, y_test),
                   "lambdas": lambdas},
    }
    report(result, out)
    return result


def report(result, out=log):
    cfg, acc, checks, t = (result["config"], result["accuracy"],
                           result["checks"], result["timings"])
    lam = result["lambda"]
    size = result["size"]
    out("")
    out("MLP 64 -> %d -> %d -> 10, %d weights: %d bytes packed (%.3f bits "
        "per weight with the f32 row scales; f32: %d bytes)"
        % (cfg["hidden"], cfg["hidden"], size["weights"],
           size["packed_bytes"], size["bits_per_weight"], size["f32_bytes"]))
    out("Arenas: lambda_t %.2f at the first step, peak %.2f at %.0f%% of "
        "training, 0 from %.0f%% on (%d of %d steps), %.2f at the last"
        % (lam["first"], lam["max"], 100 * lam["argmax_fraction"],
           100 * cfg["anneal_end"], lam["zero_steps_at_end"], lam["steps"],
           lam["last"]))
    out("")
    out("test accuracy (%s run, seed %d, %d dense + %d QAT epochs):"
        % ("fast" if cfg["dense_epochs"] < CONFIG["dense_epochs"] else
           "full", cfg["seed"], cfg["dense_epochs"], cfg["qat_epochs"]))
    rows = [
        ("dense float32 (torch)", "dense_float"),
        ("Sherry, QAT + Arenas, torch fake-quant", "qat_fake_quant"),
        ("Sherry, QAT + Arenas, compiled, f32 activations",
         "qat_compiled_exact"),
        ("Sherry, QAT + Arenas, compiled, int8 activations",
         "qat_compiled_int8"),
        ("Sherry, QAT + Arenas, whole model via sherry-sparsify",
         "qat_whole_model_exact"),
        ("Sherry, QAT without Arenas (lambda = 0), compiled",
         "no_arenas_compiled_exact"),
        ("Sherry, post-training ternarization, no QAT, f32 act.",
         "ptq_compiled_exact"),
        ("Sherry, post-training ternarization, no QAT, int8 act.",
         "ptq_compiled_int8"),
    ]
    for label, key in rows:
        if key in acc:
            out("  %-56s %6.2f%%" % (label, 100 * acc[key]))
    out("")
    out("compiled vs torch fake-quant, QAT model, test split:")
    out("  f32 activations: max |diff| %.2e (within %.0e (1 + |y|): %s), "
        "same predictions %.1f%%"
        % (checks["qat_exact_max_abs_diff"], EXACT_TOLERANCE,
           checks["qat_exact_within_tolerance"],
           100 * checks["qat_exact_same_predictions"]))
    out("  int8 activations: each layer within %.1e (1 + |y|) of "
        "fake_quant_reference, same predictions %.1f%%"
        % (checks["qat_int8_layer_max_rel_diff"],
           100 * checks["qat_int8_same_predictions"]))
    if "whole_vs_sherrify_max_abs_diff" in checks:
        out("  whole model (one function) vs per-layer SherryLinear: max "
            "|diff| %.2e, same predictions %.1f%%"
            % (checks["whole_vs_sherrify_max_abs_diff"],
               100 * checks["whole_vs_sherrify_same_predictions"]))
    else:
        out("whole-model path skipped: sherry-opt not found (set SHERRY_OPT)")
    out("time: dense training %.1f s, QAT %.1f s%s, compiling %.1f s, "
        "running the compiled models %.2f s (%d threads)"
        % (t["train_dense_s"], t["train_qat_s"],
           (", QAT without Arenas %.1f s" % t["train_qat_no_arenas_s"])
           if "train_qat_no_arenas_s" in t else "",
           t["compile_s"] + t.get("compile_whole_s", 0.0),
           t["run_compiled_s"], cfg["threads"]))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Quantization-aware training on Sherry 1.25-bit weights "
                    "(scikit-learn digits), compiled and checked.")
    parser.add_argument("--fast", action="store_true",
                        help="fewer epochs, no ablation (the pytest run)")
    parser.add_argument("--seed", type=int, default=CONFIG["seed"])
    parser.add_argument("--threads", type=int, default=CONFIG["threads"],
                        help="torch threads (default 1)")
    parser.add_argument("--qat-epochs", type=int)
    parser.add_argument("--dense-epochs", type=int)
    parser.add_argument("--lambda-max", type=float,
                        help="Arenas' peak lambda (0: plain QAT)")
    parser.add_argument("--no-ablation", action="store_true",
                        help="skip QAT without Arenas")
    parser.add_argument("--sherry-opt", default="auto",
                        help="sherry-opt for the whole-model path ('auto': "
                             "$SHERRY_OPT or build*/bin; '': skip it)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    config = {"seed": args.seed, "threads": args.threads}
    for name in ("qat_epochs", "dense_epochs", "lambda_max"):
        if getattr(args, name) is not None:
            config[name] = getattr(args, name)
    if args.no_ablation:
        config["ablation"] = False
    if importlib.util.find_spec("sklearn") is None:
        sys.exit("train_digits.py needs scikit-learn (Debian: "
                 "apt-get install python3-sklearn)")
    result = run(config, fast=args.fast, sherry_opt=args.sherry_opt)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: v for k, v in result.items() if k != "models"}, f,
                      indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
