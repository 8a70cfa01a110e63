"""A LLaMA model compiled once with Sherry's kernels and run on weights
loaded at run time: prefill, decode, generate."""

import ctypes
import time

import numpy as np

from .. import compiler
from ..format import PackedWeights, quantize
from . import ir, sampling
from .config import LlamaConfig, ModelError

# Checkpoint tensors a LLaMA model may hold that the model does not use.
_UNUSED_SUFFIXES = (".rotary_emb.inv_freq",)


def _release_freed_memory():
    """Hands the memory this process freed back to the system where the C
    library can (glibc's malloc_trim): freed blocks below the top of the
    heap otherwise stay resident (128 MiB after loading a 0.7B model)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)


def _float_array(value, name, shape, keep_f16=False):
    """`value` as a contiguous float32 array (float16 stays float16 with
    keep_f16), checked for shape and finiteness."""
    try:
        if hasattr(value, "detach"):        # a torch tensor
            value = value.detach().float().cpu().numpy()
        f16 = keep_f16 and getattr(value, "dtype", None) == np.float16
        array = np.ascontiguousarray(value, dtype=np.float16 if f16
                                     else np.float32)
    except (TypeError, ValueError) as e:
        raise ModelError("%s: not an array of numbers (%s)" % (name, e))
    if array.shape != tuple(shape):
        raise ModelError("%s has shape %s; this configuration needs %s"
                         % (name, tuple(array.shape), tuple(shape)))
    # min and max carry any NaN or infinity through, without a mask the
    # size of the array (47 MiB for a 0.7B model's embeddings).
    if array.size and not (np.isfinite(array.min())
                           and np.isfinite(array.max())):
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
    layout:      the packed projections' layout: 'sherry' (1.25 bits
                 per weight; in_features a multiple of 32) or 'stq1_0'
                 (llama.cpp blocks of 256 with f16 scales; what GGUF
                 files hold). Default: stq1_0 where `weights` holds
                 PackedWeights of that layout, else sherry.
    granularity: sherry layout: scales per 'row' or per 'tensor'.
    dense_type:  'f16' (default) or 'f32': how the embeddings and lm_head
                 are kept and read (norms are f32; arithmetic is f32).
                 f16 halves the bytes lm_head streams per token.
    all_logits:  prefill returns every position's logits (for perplexity),
                 not only the last one's.
    pipeline_options, opt_level: as sherry.compile (default target=host).
    split_layers: compile one decoder layer and call it once per layer
                 (with that layer's weights) between an embedding and a head
                 function: compile time does not grow with depth. False
                 compiles the whole model as one function.
    vectorize:   vectorize the operations around the projections (norms,
                 RoPE, attention, lm_head: the pipeline's vectorize-linalg
                 option); False leaves them scalar loops.
    strict:      a tensor the model does not use is an error.
    kv_type:     'f32' (default) or 'f16': the KV caches' element type.
                 f16, as llama.cpp keeps them, halves the bytes attention
                 reads per token and the caches' memory; keys and values
                 are rounded to it.
    projections: 'sherry' (default: sparsified, packed, Sherry's kernels)
                 or 'dense': the same model with float projections of
                 dense_type through the vectorized upstream lowering (the
                 baseline a Sherry model is measured against; mode, layout
                 and granularity do not apply).
    release_weights: remove each tensor from `weights` (a dict) as it is
                 loaded, and give the freed memory back to the system: the
                 checkpoint and the model's copy of it are not both held
                 (load_weights' `release`).

    The model is compiled once for its shape: weights of another checkpoint
    of the same configuration load with load_weights() and no compile.
    """

    def __init__(self, config, weights, max_context=None, chunk=16,
                 mode="int8", layout=None, granularity="row",
                 dense_type="f16", all_logits=False,
                 pipeline_options="target=host", opt_level=2,
                 split_layers=True, vectorize=True, strict=True,
                 projections="sherry", kv_type="f32",
                 release_weights=False):
        if not isinstance(config, LlamaConfig):
            raise TypeError("config must be a LlamaConfig")
        if mode not in ("int8", "exact"):
            raise ValueError("mode must be 'int8' or 'exact', got %r"
                             % (mode,))
        if projections not in ("sherry", "dense"):
            raise ValueError("projections must be 'sherry' or 'dense', got "
                             "%r" % (projections,))
        self.projections = projections
        if kv_type not in ("f32", "f16"):
            raise ValueError("kv_type must be 'f32' or 'f16', got %r"
                             % (kv_type,))
        self.kv_type = kv_type
        if layout is None:
            layout = "stq1_0" if any(
                isinstance(v, PackedWeights) and v.layout == "stq1_0"
                for v in weights.values()) else "sherry"
        if layout not in ("sherry", "stq1_0"):
            raise ValueError("layout must be 'sherry' or 'stq1_0', got %r"
                             % (layout,))
        if granularity not in ("row", "tensor"):
            raise ValueError("granularity must be 'row' or 'tensor', got %r"
                             % (granularity,))
        if layout == "stq1_0":
            granularity = "group"
        if dense_type not in ("f16", "f32"):
            raise ValueError("dense_type must be 'f16' or 'f32', got %r"
                             % (dense_type,))
        self.layout, self.dense_type = layout, dense_type
        self.config = config
        self.max_context = int(max_context or config.max_position_embeddings)
        if self.max_context < 1:
            raise ValueError("max_context must be positive")
        self.chunk = min(int(chunk), self.max_context)
        if self.chunk < 1:
            raise ValueError("chunk must be positive")
        self.mode, self.granularity = mode, granularity
        self.all_logits = bool(all_logits)
        if vectorize and "vectorize-linalg" not in pipeline_options:
            pipeline_options += " vectorize-linalg=true"
        self.pipeline_options = pipeline_options.strip()
        self.strict = strict
        self.split_layers = bool(split_layers)
        self._check_shapes()
        self.table_layout = self._pick_table_layout()
        self.compile_seconds = self._compile(opt_level)
        self.load_weights(weights, release=release_weights)

    # -- compiling ---------------------------------------------------------

    def _check_shapes(self):
        if self.projections == "dense":
            return
        multiple = 256 if self.layout == "stq1_0" else 32
        for name, (_, k) in self.config.projection_shapes().items():
            if k % multiple:
                raise ModelError(
                    "%s: in_features %d is not a multiple of %d, which the "
                    "%s layout packs" % (name, k, multiple, self.layout))

    def _pick_table_layout(self):
        """The tables layout this CPU's table kernel reads for both K
        (hidden and intermediate), or None (the decode kernels)."""
        if self.mode != "int8" or self.projections == "dense":
            return None
        picks = {compiler.preferred_table_layout(
            k, self.pipeline_options, self.granularity,
            256 if self.layout == "stq1_0" else None)
            for k in (self.config.hidden_size, self.config.intermediate_size,
                      self.config.q_size)}
        return picks.pop() if len(picks) == 1 else None

    def sparsify_options(self):
        """The sherry-sparsify options of the compiled model."""
        if self.layout == "stq1_0":
            options = "layout=stq1_0 mode=%s" % self.mode
        else:
            options = "layout=sherry granularity=%s mode=%s" % (
                self.granularity, self.mode)
        if self.table_layout:
            options += (" argument-layout=tables table-order=%s "
                        "tile-block=%d" % self.table_layout)
        return options

    def _sizes(self):
        """Tokens per call of the compiled functions: 1, and the chunk."""
        return [1] + ([self.chunk] if self.chunk > 1 else [])

    def module_text(self, marked=True):
        """The model's MLIR before sherry-sparsify (func + linalg): for each
        size N, @model_N, or @embed_N, @layer_N and @head_N."""
        functions = []
        for n in self._sizes():
            logits = "all" if self.all_logits and n > 1 else "last"
            parts = (["embed", "layer", "head"] if self.split_layers
                     else ["model"])
            functions += [("%s_%d" % (part, n), n, logits, part)
                          for part in parts]
        dense = self.projections == "dense"
        return ir.model_module(self.config, functions, self.max_context,
                               marked and not dense, self.dense_type,
                               self.dense_type if dense else "f32",
                               self.kv_type)

    def _compile(self, opt_level):
        started = time.perf_counter()
        if self.projections == "dense":
            self.sparse_text = None
            self._module = compiler.compile(self.module_text(),
                                            self.pipeline_options, opt_level)
            return time.perf_counter() - started
        text = compiler.run_passes(
            self.module_text(),
            "builtin.module(sherry-sparsify{%s})" % self.sparsify_options())
        expected = 7 * len(self._sizes()) * (
            1 if self.split_layers else self.config.num_hidden_layers)
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
            if packed.layout != self.layout or \
                    packed.granularity != self.granularity:
                raise ModelError(
                    "%s is packed as %s with %s scales; this model takes "
                    "the %s layout with %s scales"
                    % (name, packed.layout, packed.granularity,
                       self.layout, self.granularity))
        elif self.layout == "stq1_0":
            packed = quantize(_float_array(value, name, shape), "stq1_0")
        else:
            packed = quantize(_float_array(value, name, shape), "sherry",
                              self.granularity)
        if self.table_layout:
            packed = packed.convert("tables", *self.table_layout)
        return packed

    def _dense(self, array, name):
        """A 2-D float array as dense_type."""
        if self.dense_type == "f32" or array.dtype == np.float16:
            return array
        if np.abs(array).max(initial=0) > 65504:
            raise ModelError("%s has values beyond f16's range; use "
                             "dense_type='f32'" % name)
        return array.astype(np.float16)

    def load_weights(self, weights, release=False):
        """Loads (another) checkpoint of this configuration: checks every
        tensor, packs the projections, and resets the caches. With
        `release`, each tensor is removed from `weights` (a dict) once the
        model has what it runs on, so that a checkpoint and its converted
        copy are never both held, and the freed memory goes back to the
        system."""
        if not hasattr(weights, "keys"):
            raise TypeError("weights must be a mapping of names to arrays")
        c = self.config
        args = ir.weight_arguments(c)
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
        values = {}       # checkpoint name -> the arrays passed for it
        packed_bytes = dense_bytes = 0
        for _, name, shape, projection in args:
            if projection and self.projections == "dense":
                value = weights[name]
                if isinstance(value, PackedWeights):
                    value = value.dequantize()
                array = _float_array(value, name, shape)
                values[name] = [self._dense(array, name)]
                dense_bytes += values[name][0].nbytes
            elif projection:
                p = self._packed(name, weights[name], shape)
                # stq1_0 keeps its scales in its blocks.
                parts = [p.data] if p.layout == "stq1_0" else [p.data,
                                                               p.scales]
                values[name] = [parts[0].view(np.int8)] + parts[1:]
                packed_bytes += sum(part.nbytes for part in parts)
            else:
                array = _float_array(weights[name], name, shape,
                                     keep_f16=self.dense_type == "f16")
                if array.ndim == 2:
                    array = self._dense(array, name)
                else:
                    array = array.astype(np.float32, copy=False)
                values[name] = [array]
                dense_bytes += array.nbytes
            if release:
                del weights[name]
        self.packed_bytes, self.dense_bytes = packed_bytes, dense_bytes
        if release:
            _release_freed_memory()
        shape = (c.num_hidden_layers, c.num_key_value_heads,
                 self.max_context, c.head_dim)
        kv = np.float16 if self.kv_type == "f16" else np.float32
        self.k_cache = np.zeros(shape, kv)
        self.v_cache = np.zeros(shape, kv)
        self.position = 0

        def bound(part, layer=0):
            return [a for _, name, _, _ in ir.weight_arguments(c, part, layer)
                    for a in values[name]]
        self._run = {n: self._runner(n, bound) for n in self._sizes()}

    def _runner(self, n, bound):
        """run(ids, pos) -> logits for calls of n tokens."""
        module = self._module
        k, v = self.k_cache, self.v_cache
        if not self.split_layers:
            model = module["model_%d" % n]._bind(*bound("model"))
            return lambda ids, pos: model(ids, pos, k, v)
        embed = module["embed_%d" % n]._bind(*bound("embed"))
        layer = module["layer_%d" % n]
        # Each layer's caches: contiguous views of the model's.
        layers = [(layer._bind(*bound("layer", i)), k[i:i + 1], v[i:i + 1])
                  for i in range(self.config.num_hidden_layers)]
        head = module["head_%d" % n]._bind(*bound("head"))

        def run(ids, pos):
            x = embed(ids)
            for call, k_part, v_part in layers:
                x = call(x, pos, k_part, v_part)
            return head(x)
        return run

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
            step = self.chunk if ids.size - i >= self.chunk else 1
            out = self._run[step](ids[i:i + step], self.position)
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
            logits = self._run[1](np.array([token], np.int32),
                                  self.position)[0]
            self.position += 1
        return GenerationResult(out, int(ids.size), prefill_seconds,
                                time.perf_counter() - started)

