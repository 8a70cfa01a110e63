"""A LLaMA model in numpy, float64: the reference the compiled model is
checked against. Same arguments as the compiled functions (sherry.llama.ir),
with the projections given as dense matrices (dequantized ternary weights
for a Sherry model)."""

import numpy as np


def _rmsnorm(x, gamma, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * gamma


def _rope(x, cos, sin):
    """x: N x heads x D, rotate-half; cos, sin: N x D/2."""
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    c = np.concatenate([cos, cos], axis=-1)[:, None, :]
    s = np.concatenate([sin, sin], axis=-1)[:, None, :]
    return x * c + rotated * s


def forward(config, weights, tokens, pos, k_cache, v_cache, kv_type=None):
    """Runs `tokens` at positions pos.. and returns the N x V logits
    (float64). weights: {checkpoint name: array} (Hugging Face names);
    k_cache, v_cache: L x KV x C x D float64 arrays, updated in place;
    kv_type 'f16' rounds keys and values to float16 as they are stored,
    as an f16 cache holds them."""
    c = config
    w = lambda name: np.asarray(weights[name], np.float64)  # noqa: E731
    tokens = np.asarray(tokens)
    n = len(tokens)
    x = w("model.embed_tokens.weight")[tokens]
    angles = (pos + np.arange(n))[:, None] * c.inverse_frequencies()[None]
    cos, sin = np.cos(angles), np.sin(angles)
    group = c.num_attention_heads // c.num_key_value_heads
    end = pos + n
    for i in range(c.num_hidden_layers):
        p = "model.layers.%d." % i
        xn = _rmsnorm(x, w(p + "input_layernorm.weight"), c.rms_norm_eps)
        q = (xn @ w(p + "self_attn.q_proj.weight").T).reshape(
            n, c.num_attention_heads, c.head_dim)
        k = (xn @ w(p + "self_attn.k_proj.weight").T).reshape(
            n, c.num_key_value_heads, c.head_dim)
        v = (xn @ w(p + "self_attn.v_proj.weight").T).reshape(
            n, c.num_key_value_heads, c.head_dim)
        q, k = _rope(q, cos, sin), _rope(k, cos, sin)
        if kv_type == "f16":
            k = k.astype(np.float16).astype(np.float64)
            v = v.astype(np.float16).astype(np.float64)
        k_cache[i, :, pos:end] = k.transpose(1, 0, 2)
        v_cache[i, :, pos:end] = v.transpose(1, 0, 2)
        keys = np.repeat(k_cache[i, :, :end], group, axis=0)
        values = np.repeat(v_cache[i, :, :end], group, axis=0)
        scores = np.einsum("nhd,htd->hnt", q, keys) / np.sqrt(c.head_dim)
        future = np.arange(end)[None, :] > (pos + np.arange(n))[:, None]
        scores[:, future] = -np.inf
        probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        attn = np.einsum("hnt,htd->nhd", probs, values).reshape(n, -1)
        x = x + attn @ w(p + "self_attn.o_proj.weight").T
        hn = _rmsnorm(x, w(p + "post_attention_layernorm.weight"),
                      c.rms_norm_eps)
        g = hn @ w(p + "mlp.gate_proj.weight").T
        u = hn @ w(p + "mlp.up_proj.weight").T
        x = x + (g / (1 + np.exp(-g)) * u) @ w(p + "mlp.down_proj.weight").T
    x = _rmsnorm(x, w("model.norm.weight"), c.rms_norm_eps)
    head = ("model.embed_tokens.weight" if c.tie_word_embeddings
            else "lm_head.weight")
    return x @ w(head).T
