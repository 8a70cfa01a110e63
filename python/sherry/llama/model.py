"""A LLaMA model compiled once with Sherry's kernels and run on weights
loaded at run time: prefill, decode, generate."""

import time

import numpy as np

from .. import compiler
from ..format import PackedWeights, quantize
from . import ir, sampling
from .config import LlamaConfig, ModelError

# Checkpoint tensors a LLaMA model may hold that the model does not use.
_UNUSED_SUFFIXES = (".rotary_emb.inv_freq",)


def _float_array(value, name, shape):
    try:
        if hasattr(value, "detach"):        # a torch tensor
            value = value.detach().float().cpu().numpy()
        array = np.ascontiguousarray(value, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ModelError("%s: not an array of numbers (%s)" % (name, e))
    if array.shape != tuple(shape):
        raise ModelError("%s has shape %s; this configuration needs %s"
                         % (name, tuple(array.shape), tuple(shape)))
    if not np.all(np.isfinite(array)):
        raise ModelError("%s holds NaN or infinity" % name)
    return array


class GenerationResult:
    """What generate() returns: the new token ids and the timings."""

    def __init__(self, tokens, prompt_tokens, prefill_seconds,
                 decode_seconds):
        self.tokens = tokens
        self.prompt_tokens = prompt_tokens
        self.prefill_seconds = prefill_seconds
        self.decode_seconds = decode_seconds

    @property
    def prefill_tokens_per_second(self):
        return self.prompt_tokens / max(self.prefill_seconds, 1e-12)

    @property
    def decode_tokens_per_second(self):
        # The first new token comes from the prefill's logits.
        steps = max(len(self.tokens) - 1, 0)
        return steps / max(self.decode_seconds, 1e-12) if steps else 0.0

    def __repr__(self):
        return ("GenerationResult(%d tokens; prefill %.1f tok/s, decode "
                "%.1f tok/s)" % (len(self.tokens),
                                 self.prefill_tokens_per_second,
                                 self.decode_tokens_per_second))


class LlamaModel:
    """A LLaMA model on Sherry 1.25-bit projections.

    config:      a LlamaConfig.
    weights:     {name: array} in Hugging Face's names
                 (model.layers.0.self_attn.q_proj.weight, ...): float
                 arrays (numpy or torch); a projection may instead be a
                 sherry.PackedWeights (already ternary). The projections are
                 ternarized and packed at load; embeddings, norms and
                 lm_head stay dense f32.
    max_context: positions of the KV cache (default: the configuration's
                 max_position_embeddings).
    chunk:       tokens per prefill call.
    mode:        'int8' (int8 activations, the table kernels) or 'exact'
                 (float activations).
    granularity: scales of the packed projections ('row', 'tensor').
    all_logits:  prefill returns every position's logits (for perplexity),
                 not only the last one's.
    pipeline_options, opt_level: as sherry.compile (default target=host).
    strict:      a tensor the model does not use is an error.

    The model is compiled once for its shape: weights of another checkpoint
    of the same configuration load with load_weights() and no compile.
    """

    def __init__(self, config, weights, max_context=None, chunk=16,
                 mode="int8", granularity="row", all_logits=False,
                 pipeline_options="target=host", opt_level=2, strict=True):
        if not isinstance(config, LlamaConfig):
            raise TypeError("config must be a LlamaConfig")
        if mode not in ("int8", "exact"):
            raise ValueError("mode must be 'int8' or 'exact', got %r"
                             % (mode,))
        if granularity not in ("row", "tensor"):
            raise ValueError("granularity must be 'row' or 'tensor', got %r"
                             % (granularity,))
        self.config = config
        self.max_context = int(max_context or config.max_position_embeddings)
        if self.max_context < 1:
            raise ValueError("max_context must be positive")
        self.chunk = min(int(chunk), self.max_context)
        if self.chunk < 1:
            raise ValueError("chunk must be positive")
        self.mode, self.granularity = mode, granularity
        self.all_logits = bool(all_logits)
        self.pipeline_options = pipeline_options
        self.strict = strict
        self._check_shapes()
        self.table_layout = self._pick_table_layout()
        self.compile_seconds = self._compile(opt_level)
        self.load_weights(weights)

    # -- compiling ---------------------------------------------------------

    def _check_shapes(self):
        for name, (_, k) in self.config.projection_shapes().items():
            if k % 32:
                raise ModelError(
                    "%s: in_features %d is not a multiple of 32, which the "
                    "sherry layout packs" % (name, k))

    def _pick_table_layout(self):
        """The tables layout this CPU's table kernel reads for both K
        (hidden and intermediate), or None (the decode kernels)."""
        if self.mode != "int8":
            return None
        picks = {compiler.preferred_table_layout(
            k, self.pipeline_options, self.granularity)
            for k in (self.config.hidden_size, self.config.intermediate_size,
                      self.config.q_size)}
        return picks.pop() if len(picks) == 1 else None

    def sparsify_options(self):
        """The sherry-sparsify options of the compiled model."""
        options = "layout=sherry granularity=%s mode=%s" % (
            self.granularity, self.mode)
        if self.table_layout:
            options += (" argument-layout=tables table-order=%s "
                        "tile-block=%d" % self.table_layout)
        return options

    def module_text(self, marked=True):
        """The model's MLIR before sherry-sparsify (func + linalg)."""
        functions = [("decode", 1, "last")]
        if self.chunk > 1:
            functions.append(("prefill", self.chunk,
                              "all" if self.all_logits else "last"))
        return ir.model_module(self.config, functions, self.max_context,
                               marked)

    def _compile(self, opt_level):
        started = time.perf_counter()
        text = compiler.run_passes(
            self.module_text(),
            "builtin.module(sherry-sparsify{%s})" % self.sparsify_options())
        expected = 7 * self.config.num_hidden_layers * (
            2 if self.chunk > 1 else 1)
        found = text.count("sherry.matmul")
        if found != expected:
            raise ModelError("sherry-sparsify made %d of the %d projections "
                             "sherry.matmul" % (found, expected))
        self.sparse_text = text
        self._module = compiler.compile(text, self.pipeline_options,
                                        opt_level)
        return time.perf_counter() - started

    # -- weights -----------------------------------------------------------

    def _packed(self, name, value, shape):
        if isinstance(value, PackedWeights):
            if tuple(value.shape) != tuple(shape):
                raise ModelError("%s has shape %s; this configuration needs "
                                 "%s" % (name, tuple(value.shape),
                                         tuple(shape)))
            packed = value
            if packed.layout != "sherry" or \
                    packed.granularity != self.granularity:
                raise ModelError(
                    "%s is packed as %s with %s scales; this model takes "
                    "the sherry layout with %s scales"
                    % (name, packed.layout, packed.granularity,
                       self.granularity))
        else:
            packed = quantize(_float_array(value, name, shape), "sherry",
                              self.granularity)
        if self.table_layout:
            packed = packed.convert("tables", *self.table_layout)
        return packed

    def load_weights(self, weights):
        """Loads (another) checkpoint of this configuration: checks every
        tensor, packs the projections, and resets the caches."""
        if not hasattr(weights, "keys"):
            raise TypeError("weights must be a mapping of names to arrays")
        args = ir.weight_arguments(self.config)
        needed = {name for _, name, _, _ in args}
        missing = [name for _, name, _, _ in args if name not in weights]
        if missing:
            raise ModelError("the checkpoint lacks %s%s" % (
                ", ".join(missing[:4]),
                " and %d more" % (len(missing) - 4) if len(missing) > 4
                else ""))
        extra = sorted(k for k in weights if k not in needed
                       and not k.endswith(_UNUSED_SUFFIXES)
                       and not (k == "lm_head.weight"
                                and self.config.tie_word_embeddings))
        if extra and self.strict:
            raise ModelError("the checkpoint has tensors this model does not "
                             "use: %s (strict=False ignores them)"
                             % ", ".join(extra[:4]))
        bound = []
        packed_bytes = dense_bytes = 0
        for _, name, shape, projection in args:
            if projection:
                p = self._packed(name, weights[name], shape)
                bound += [p.data.view(np.int8), p.scales]
                packed_bytes += p.data.nbytes + p.scales.nbytes
            else:
                array = _float_array(weights[name], name, shape)
                bound.append(array)
                dense_bytes += array.nbytes
        self.packed_bytes, self.dense_bytes = packed_bytes, dense_bytes
        self._decode = self._module.decode._bind(*bound)
        self._prefill = (self._module.prefill._bind(*bound)
                         if self.chunk > 1 else None)
        c = self.config
        shape = (c.num_hidden_layers, c.num_key_value_heads,
                 self.max_context, c.head_dim)
        self.k_cache = np.zeros(shape, np.float32)
        self.v_cache = np.zeros(shape, np.float32)
        self.position = 0

    @property
    def cache_bytes(self):
        return self.k_cache.nbytes + self.v_cache.nbytes

    # -- running -----------------------------------------------------------

    def reset(self):
        """Forgets the cached positions (the next token is at position 0)."""
        self.position = 0

    def _check_tokens(self, tokens):
        ids = np.asarray(tokens)
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype,
                                                            np.integer)):
            raise ModelError("token ids must be a 1-D sequence of integers")
        bad = np.flatnonzero((ids < 0) | (ids >= self.config.vocab_size))
        if bad.size:
            raise ModelError("token id %d at index %d is outside the "
                             "vocabulary of %d" % (ids[bad[0]], bad[0],
                                                   self.config.vocab_size))
        if self.position + ids.size > self.max_context:
            raise ModelError(
                "%d tokens at position %d do not fit the cache of %d "
                "positions (max_context)" % (ids.size, self.position,
                                             self.max_context))
        return ids.astype(np.int32)

    def forward(self, tokens):
        """Runs `tokens` at the next positions; returns the logits of the
        last one (V floats), or with all_logits every position's
        (len(tokens) x V)."""
        ids = self._check_tokens(tokens)
        if ids.size == 0:
            raise ModelError("no tokens to run")
        rows = []
        i = 0
        while i < ids.size:
            if self._prefill is not None and ids.size - i >= self.chunk:
                out = self._prefill(ids[i:i + self.chunk], self.position,
                                    self.k_cache, self.v_cache)
                step = self.chunk
            else:
                out = self._decode(ids[i:i + 1], self.position,
                                   self.k_cache, self.v_cache)
                step = 1
            rows.append(out)
            self.position += step
            i += step
        if self.all_logits:
            return np.concatenate(rows)
        return rows[-1][-1]

    def generate(self, prompt, max_new_tokens, temperature=0.0, top_k=0,
                 top_p=1.0, seed=None, stop_tokens=(), on_token=None):
        """Prefills `prompt` (token ids) after what is cached and generates
        up to max_new_tokens ids (fewer where one of stop_tokens comes).
        Sampling: greedy at temperature 0, else temperature, top-k, top-p
        with a numpy Generator seeded with `seed`. on_token(id) is called
        for each new token. Returns a GenerationResult."""
        sampling.check_options(temperature, top_k, top_p)
        ids = self._check_tokens(prompt)
        if ids.size == 0:
            raise ModelError("the prompt is empty")
        if max_new_tokens < 0:
            raise ValueError("max_new_tokens must be >= 0")
        # The last new token is never run through the model.
        needed = self.position + ids.size + max(max_new_tokens - 1, 0)
        if needed > self.max_context:
            raise ModelError(
                "the prompt (%d tokens at position %d) and %d new tokens "
                "need %d positions; the cache has %d (max_context)"
                % (ids.size, self.position, max_new_tokens, needed,
                   self.max_context))
        rng = np.random.default_rng(seed)
        started = time.perf_counter()
        logits = self.forward(ids)
        if self.all_logits:
            logits = logits[-1]
        prefill_seconds = time.perf_counter() - started
        out = []
        started = time.perf_counter()
        for i in range(max_new_tokens):
            token = sampling.sample(logits, temperature, top_k, top_p, rng)
            out.append(token)
            if on_token is not None:
                on_token(token)
            if token in stop_tokens or i + 1 == max_new_tokens:
                break
            logits = self._decode(np.array([token], np.int32), self.position,
                                  self.k_cache, self.v_cache)[0]
            self.position += 1
        return GenerationResult(out, int(ids.size), prefill_seconds,
                                time.perf_counter() - started)


def load_checkpoint(directory):
    """(LlamaConfig, {name: array}) of a Hugging Face model directory:
    config.json and model.safetensors, or the shards that
    model.safetensors.index.json names. Arrays are memory-mapped."""
    import json
    import os

    from .. import safetensors
    config = LlamaConfig.from_json(os.path.join(directory, "config.json"))
    single = os.path.join(directory, "model.safetensors")
    index = single + ".index.json"
    if os.path.exists(single):
        return config, safetensors.load(single)
    if not os.path.exists(index):
        raise ModelError("%s has neither model.safetensors nor "
                         "model.safetensors.index.json" % directory)
    with open(index) as f:
        try:
            weight_map = json.load(f)["weight_map"]
        except (ValueError, KeyError, TypeError) as e:
            raise ModelError("%s: no weight_map (%s)" % (index, e))
    weights = {}
    if not isinstance(weight_map, dict):
        raise ModelError("%s: weight_map is not an object" % index)
    for shard in sorted(set(weight_map.values())):
        if not isinstance(shard, str) or os.path.basename(shard) != shard:
            raise ModelError("%s: shard %r is not a file name in the "
                             "directory" % (index, shard))
        names = [n for n, s in weight_map.items() if s == shard]
        weights.update(safetensors.load(os.path.join(directory, shard),
                                        names))
    return config, weights
