"""The decoder block of block_ir.py in numpy, float64: the reference the
compiled block is checked against."""
import numpy as np

from block_ir import EPS, GROUP, HEAD_DIM


def _rmsnorm(x, gamma):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS) * gamma


def _rope(x, cos, sin):
    half = HEAD_DIM // 2
    rotated = np.concatenate([-x[:, half:], x[:, :half]], axis=1)
    return x * cos + rotated * sin


def decoder_block(inputs, norms, weights):
    """inputs: x, k_cache, v_cache, cos, sin; norms: attn_norm, mlp_norm;
    weights: the seven M x K projections. Returns out, k, v (float64)."""
    f = {k: np.asarray(v, np.float64) for k, v in inputs.items()}
    w = {k: np.asarray(v, np.float64) for k, v in weights.items()}
    x = f["x"]
    xn = _rmsnorm(x, np.float64(norms["attn_norm"]))
    q = (xn @ w["q_proj"].T).reshape(-1, HEAD_DIM)
    k = (xn @ w["k_proj"].T).reshape(-1, HEAD_DIM)
    v = (xn @ w["v_proj"].T).reshape(-1, HEAD_DIM)
    q, k = _rope(q, f["cos"], f["sin"]), _rope(k, f["cos"], f["sin"])
    keys = np.concatenate([f["k_cache"], k[:, None, :]], axis=1)
    values = np.concatenate([f["v_cache"], v[:, None, :]], axis=1)
    keys = np.repeat(keys, GROUP, axis=0)          # grouped KV heads
    values = np.repeat(values, GROUP, axis=0)
    scores = np.einsum("hd,htd->ht", q, keys) / np.sqrt(HEAD_DIM)
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    attn = np.einsum("ht,htd->hd", p, values).reshape(1, -1)
    h = x + attn @ w["o_proj"].T
    hn = _rmsnorm(h, np.float64(norms["mlp_norm"]))
    g, u = hn @ w["gate_proj"].T, hn @ w["up_proj"].T
    act = g / (1 + np.exp(-g)) * u
    out = h + act @ w["down_proj"].T
    return {"out": out, "k": k, "v": v}
