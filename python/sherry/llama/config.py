"""The shape of a LLaMA-architecture model: what its compiled code depends
on, read from a Hugging Face ``config.json`` or from GGUF metadata."""

import json
import math

import numpy as np

from ..errors import SherryError


class ModelError(SherryError):
    """A model configuration or checkpoint that cannot be used: the message
    names the field or tensor."""


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ModelError("%s must be an integer, got %r" % (name, value))
    if value <= 0:
        raise ModelError("%s must be positive, got %d" % (name, value))
    return int(value)


def _finite(value, name, positive=True):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ModelError("%s must be a number, got %r" % (name, value))
    if not math.isfinite(value) or (positive and value <= 0):
        raise ModelError("%s must be a positive number, got %r"
                         % (name, value))
    return value


class LlamaConfig:
    """Hyperparameters of a decoder-only LLaMA model (Hugging Face names).

    vocab_size, hidden_size, intermediate_size, num_hidden_layers,
    num_attention_heads: as in transformers' LlamaConfig.
    num_key_value_heads: grouped-query attention (default: the heads).
    head_dim: default hidden_size / num_attention_heads.
    rms_norm_eps, rope_theta: RMSNorm epsilon and RoPE base.
    rope_scaling: None or LLaMA 3's {"rope_type": "llama3", "factor",
        "low_freq_factor", "high_freq_factor",
        "original_max_position_embeddings"}.
    max_position_embeddings: the trained context (the default cache size).
    tie_word_embeddings: lm_head is the token embedding matrix.
    rope_freq_factors: head_dim / 2 divisors of the inverse frequencies,
        as GGUF files store LLaMA 3's scaling (rope_freqs.weight); not
        with rope_scaling.
    """

    def __init__(self, vocab_size, hidden_size, intermediate_size,
                 num_hidden_layers, num_attention_heads,
                 num_key_value_heads=None, head_dim=None, rms_norm_eps=1e-5,
                 rope_theta=10000.0, rope_scaling=None,
                 max_position_embeddings=2048, tie_word_embeddings=False,
                 hidden_act="silu", rope_freq_factors=None):
        self.vocab_size = _positive(vocab_size, "vocab_size")
        self.hidden_size = _positive(hidden_size, "hidden_size")
        self.intermediate_size = _positive(intermediate_size,
                                           "intermediate_size")
        self.num_hidden_layers = _positive(num_hidden_layers,
                                           "num_hidden_layers")
        self.num_attention_heads = _positive(num_attention_heads,
                                             "num_attention_heads")
        self.num_key_value_heads = _positive(
            num_attention_heads if num_key_value_heads is None
            else num_key_value_heads, "num_key_value_heads")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ModelError(
                "num_attention_heads (%d) must be a multiple of "
                "num_key_value_heads (%d)"
                % (self.num_attention_heads, self.num_key_value_heads))
        if head_dim is None:
            if self.hidden_size % self.num_attention_heads:
                raise ModelError(
                    "hidden_size (%d) is not a multiple of "
                    "num_attention_heads (%d); give head_dim"
                    % (self.hidden_size, self.num_attention_heads))
            head_dim = self.hidden_size // self.num_attention_heads
        self.head_dim = _positive(head_dim, "head_dim")
        if self.head_dim % 2:
            raise ModelError("head_dim must be even (RoPE rotates pairs), "
                             "got %d" % self.head_dim)
        self.rms_norm_eps = _finite(rms_norm_eps, "rms_norm_eps")
        self.rope_theta = _finite(rope_theta, "rope_theta")
        self.rope_scaling = self._check_scaling(rope_scaling)
        self.max_position_embeddings = _positive(max_position_embeddings,
                                                 "max_position_embeddings")
        self.tie_word_embeddings = bool(tie_word_embeddings)
        if hidden_act != "silu":
            raise ModelError("hidden_act %r is not supported (LLaMA's MLP "
                             "is SiLU-gated: 'silu')" % (hidden_act,))
        self.hidden_act = hidden_act
        self.rope_freq_factors = None
        if rope_freq_factors is not None:
            if self.rope_scaling is not None:
                raise ModelError("rope_freq_factors and rope_scaling are two "
                                 "forms of the same scaling: give one")
            factors = np.asarray(rope_freq_factors, np.float64).reshape(-1)
            if factors.size != self.head_dim // 2 or not np.all(
                    np.isfinite(factors) & (factors > 0)):
                raise ModelError("rope_freq_factors must be %d positive "
                                 "numbers" % (self.head_dim // 2))
            self.rope_freq_factors = [float(f) for f in factors]

    @staticmethod
    def _check_scaling(scaling):
        if scaling is None:
            return None
        if not isinstance(scaling, dict):
            raise ModelError("rope_scaling must be a dict or None, got %r"
                             % (scaling,))
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind == "default":
            return None
        if kind != "llama3":
            raise ModelError("rope_scaling type %r is not supported (only "
                             "LLaMA 3's 'llama3')" % (kind,))
        out = {"rope_type": "llama3"}
        for key in ("factor", "low_freq_factor", "high_freq_factor"):
            if key not in scaling:
                raise ModelError("rope_scaling lacks %r" % key)
            out[key] = _finite(scaling[key], "rope_scaling." + key)
        if out["high_freq_factor"] <= out["low_freq_factor"]:
            raise ModelError("rope_scaling: high_freq_factor must exceed "
                             "low_freq_factor")
        if "original_max_position_embeddings" not in scaling:
            raise ModelError("rope_scaling lacks "
                             "'original_max_position_embeddings'")
        out["original_max_position_embeddings"] = _positive(
            scaling["original_max_position_embeddings"],
            "rope_scaling.original_max_position_embeddings")
        return out

    _FIELDS = ("vocab_size", "hidden_size", "intermediate_size",
               "num_hidden_layers", "num_attention_heads",
               "num_key_value_heads", "head_dim", "rms_norm_eps",
               "rope_theta", "rope_scaling", "max_position_embeddings",
               "tie_word_embeddings", "hidden_act")
    _REQUIRED = _FIELDS[:5]

    @classmethod
    def from_dict(cls, d):
        """From the dict of a Hugging Face config.json (other keys, such as
        torch_dtype, are ignored)."""
        if not isinstance(d, dict):
            raise ModelError("a model configuration is a JSON object")
        arch = d.get("model_type")
        if arch not in (None, "llama"):
            raise ModelError("model_type %r is not supported (only 'llama')"
                             % (arch,))
        missing = [k for k in cls._REQUIRED if k not in d]
        if missing:
            raise ModelError("the configuration lacks %s"
                             % ", ".join(missing))
        return cls(**{k: d[k] for k in cls._FIELDS if k in d})

    @classmethod
    def from_json(cls, path):
        """From a Hugging Face config.json file."""
        try:
            with open(path) as f:
                d = json.load(f)
        except ValueError as e:
            raise ModelError("%s is not JSON: %s" % (path, e))
        return cls.from_dict(d)

    @classmethod
    def from_gguf(cls, metadata, vocab_size=None):
        """From GGUF metadata ({key: value}, general.architecture llama).
        vocab_size: the rows of token_embd.weight where the metadata has
        no llama.vocab_size."""
        arch = metadata.get("general.architecture")
        if arch != "llama":
            raise ModelError("general.architecture is %r; only 'llama' is "
                             "supported" % (arch,))

        def get(key, default=None, required=True):
            full = "llama." + key
            if full in metadata:
                return metadata[full]
            if required and default is None:
                raise ModelError("the GGUF metadata lacks %s" % full)
            return default

        heads = get("attention.head_count")
        hidden = get("embedding_length")
        vocab = get("vocab_size", vocab_size,
                    required=vocab_size is None)
        if vocab is None:
            tokens = metadata.get("tokenizer.ggml.tokens")
            if tokens is None:
                raise ModelError("the GGUF metadata lacks llama.vocab_size "
                                 "and tokenizer.ggml.tokens")
            vocab = len(tokens)
        return cls(
            vocab_size=vocab, hidden_size=hidden,
            intermediate_size=get("feed_forward_length"),
            num_hidden_layers=get("block_count"),
            num_attention_heads=heads,
            num_key_value_heads=get("attention.head_count_kv", heads),
            head_dim=get("attention.key_length", None, required=False),
            rms_norm_eps=get("attention.layer_norm_rms_epsilon", 1e-5),
            rope_theta=get("rope.freq_base", 10000.0),
            max_position_embeddings=get("context_length", 2048))

    def to_dict(self):
        """The fields, as config.json writes them (model_type llama)."""
        d = {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}
        d.update({k: getattr(self, k) for k in self._FIELDS})
        if self.rope_freq_factors is not None:
            d["rope_freq_factors"] = self.rope_freq_factors
        return d

    def __eq__(self, other):
        return (isinstance(other, LlamaConfig)
                and self.to_dict() == other.to_dict())

    def __repr__(self):
        return "LlamaConfig(%s)" % ", ".join(
            "%s=%r" % (k, getattr(self, k)) for k in self._FIELDS)

    @property
    def q_size(self):
        return self.num_attention_heads * self.head_dim

    @property
    def kv_size(self):
        return self.num_key_value_heads * self.head_dim

    def projection_shapes(self):
        """{name: (out_features, in_features)} of one layer's projections,
        in the order the compiled functions take them."""
        h, i = self.hidden_size, self.intermediate_size
        return {"q_proj": (self.q_size, h), "k_proj": (self.kv_size, h),
                "v_proj": (self.kv_size, h), "o_proj": (h, self.q_size),
                "gate_proj": (i, h), "up_proj": (i, h),
                "down_proj": (h, i)}

    def inverse_frequencies(self):
        """RoPE's head_dim / 2 inverse frequencies (float64), with LLaMA 3's
        scaling where the configuration has it (as transformers computes
        them)."""
        half = self.head_dim // 2
        inv = self.rope_theta ** (-np.arange(half, dtype=np.float64) / half)
        if self.rope_freq_factors is not None:
            return inv / np.asarray(self.rope_freq_factors)
        s = self.rope_scaling
        if s is None:
            return inv
        low_wavelen = s["original_max_position_embeddings"] / \
            s["low_freq_factor"]
        high_wavelen = s["original_max_position_embeddings"] / \
            s["high_freq_factor"]
        wavelen = 2 * np.pi / inv
        scaled = np.where(wavelen > low_wavelen, inv / s["factor"], inv)
        smooth = (s["original_max_position_embeddings"] / wavelen
                  - s["low_freq_factor"]) / (s["high_freq_factor"]
                                             - s["low_freq_factor"])
        smoothed = (1 - smooth) * scaled / s["factor"] + smooth * scaled
        medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
        return np.where(medium, smoothed, scaled)

    def parameter_count(self):
        """(projection weights, other parameters: embeddings, lm_head and
        norms)."""
        per_layer = sum(m * k for m, k in self.projection_shapes().values())
        embed = self.vocab_size * self.hidden_size
        other = embed * (1 if self.tie_word_embeddings else 2)
        other += (2 * self.num_hidden_layers + 1) * self.hidden_size
        return per_layer * self.num_hidden_layers, other
