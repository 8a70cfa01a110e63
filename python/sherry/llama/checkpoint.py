"""Checkpoints of LLaMA models: Hugging Face directories (config.json and
safetensors) and llama.cpp GGUF files, read into (LlamaConfig, {name:
array}) in Hugging Face's names, and written as Sherry GGUF files."""

import json
import os

import numpy as np

from .. import gguf as gguf_format
from .. import safetensors
from ..errors import FormatError
from ..format import PackedWeights, quantize
from .config import LlamaConfig, ModelError
from .ir import weight_arguments

# GGUF tensor names (llama.cpp's LLM_ARCH_LLAMA) of Hugging Face's.
_LAYER_NAMES = {
    "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
_GLOBAL_NAMES = {"model.embed_tokens.weight": "token_embd.weight",
                 "model.norm.weight": "output_norm.weight",
                 "lm_head.weight": "output.weight"}


def gguf_name(name):
    """The GGUF tensor name of a Hugging Face LLaMA tensor name."""
    if name in _GLOBAL_NAMES:
        return _GLOBAL_NAMES[name]
    parts = name.split(".")
    if len(parts) >= 5 and parts[:2] == ["model", "layers"] and \
            parts[-1] == "weight":
        key = ".".join(parts[3:-1])
        if key in _LAYER_NAMES:
            return "blk.%s.%s.weight" % (parts[2], _LAYER_NAMES[key])
    raise ModelError("%s has no GGUF name" % name)


def _rope_rows(heads, rows):
    """The row order llama.cpp's converter gives q_proj / k_proj (rotate-
    half pairs (i, i + D/2) made adjacent, for its RoPE on adjacent pairs):
    GGUF row r holds Hugging Face row order[r]."""
    d = rows // heads
    return (np.arange(rows).reshape(heads, 2, d // 2).swapaxes(1, 2)
            .reshape(-1))


def _permute_rows(value, order):
    if isinstance(value, PackedWeights):
        if value.layout != "stq1_0" and value.layout != "sherry":
            raise ModelError("cannot reorder the rows of %s weights"
                             % value.layout)
        scales = None if value.layout == "stq1_0" else \
            np.asarray(value.scales)
        if scales is not None and scales.shape[0] == value.shape[0]:
            scales = scales[order]
        elif scales is not None and value.granularity != "tensor":
            raise ModelError("cannot reorder the rows of weights with %s "
                             "scales" % value.granularity)
        return PackedWeights.from_arrays(
            np.asarray(value.data)[order], scales, value.shape, value.layout,
            value.granularity, value.group_size)
    return np.asarray(value)[order]


def gguf_carried_metadata(path, stq1_0_type=None):
    """{key: (value, type)} of a GGUF file's metadata that a converted file
    keeps: everything but general.architecture, general.alignment,
    general.file_type and the llama.* hyperparameters (the tokenizer,
    general.name, ...)."""
    g = gguf_format.load(path, stq1_0_type)
    skip = ("general.architecture", "general.alignment", "general.file_type")
    return {k: (g.metadata[k], g.metadata_type(k)) for k in g.keys()
            if k not in skip and not k.startswith("llama.")}


def hf_tokenizer_metadata(directory):
    """GGUF tokenizer metadata ({key: (value, type)}) of a Hugging Face
    directory's tokenizer.json where it is byte-level BPE (LLaMA 3's);
    {} where there is none. Other tokenizers are an error."""
    path = os.path.join(directory, "tokenizer.json")
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            tok = json.load(f)
        model = tok["model"]
    except (ValueError, KeyError, TypeError) as e:
        raise ModelError("%s: not a tokenizer.json (%s)" % (path, e))
    if model.get("type") != "BPE" or not isinstance(model.get("vocab"),
                                                    dict):
        raise ModelError("%s: a %s tokenizer; only byte-level BPE converts"
                         % (path, model.get("type")))
    vocab = dict(model["vocab"])
    for added in tok.get("added_tokens") or []:
        vocab[added["content"]] = added["id"]
    size = max(vocab.values()) + 1
    tokens = ["[PAD%d]" % i for i in range(size)]
    for text, i in vocab.items():
        tokens[i] = text
    merges = [m if isinstance(m, str) else " ".join(m)
              for m in model.get("merges") or []]
    meta = {"tokenizer.ggml.model": ("gpt2", "string"),
            "tokenizer.ggml.pre": ("llama-bpe", "string"),
            "tokenizer.ggml.tokens": (tokens, "array[string]"),
            "tokenizer.ggml.merges": (merges, "array[string]")}
    config = os.path.join(directory, "config.json")
    with open(config) as f:
        hf = json.load(f)
    for key in ("bos_token_id", "eos_token_id"):
        value = hf.get(key)
        if isinstance(value, list):      # LLaMA 3.1+: several end tokens
            value = value[0] if value else None
        if isinstance(value, int):
            meta["tokenizer.ggml." + key] = (value, "u32")
    return meta


def load_gguf(path, stq1_0_type=None):
    """(LlamaConfig, {Hugging Face name: array or PackedWeights}) of a
    llama.cpp GGUF file of architecture llama: F16 tensors as float16
    arrays, F32 and BF16 tensors as float32 arrays, STQ1_0 tensors (type id
    `stq1_0_type`, default ``sherry.gguf.STQ1_0_TYPE``) as PackedWeights
    (layout stq1_0); q and k rows back in Hugging Face's order."""
    try:
        g = gguf_format.load(path, stq1_0_type)
    except FormatError as e:
        raise ModelError("%s: %s" % (path, e))
    metadata = g.metadata
    if "token_embd.weight" not in g:
        raise ModelError("%s has no token_embd.weight" % path)
    config = LlamaConfig.from_gguf(
        metadata, vocab_size=g.tensor("token_embd.weight").shape[0])
    if "rope_freqs.weight" in g:
        # LLaMA 3's RoPE scaling, as llama.cpp's converter writes it.
        try:
            fields = {k: getattr(config, k) for k in LlamaConfig._FIELDS}
            config = LlamaConfig(
                rope_freq_factors=g.numpy("rope_freqs.weight"), **fields)
        except (FormatError, TypeError) as e:
            raise ModelError("%s: rope_freqs.weight: %s" % (path, e))
    if "output.weight" not in g:
        config.tie_word_embeddings = True
    weights = {}
    known = {"rope_freqs.weight"}
    present = set(g.tensor_names)
    for _, name, shape, projection in weight_arguments(config):
        gname = gguf_name(name)
        known.add(gname)
        if gname not in g:
            raise ModelError("%s lacks %s (%s)" % (path, gname, name))
        info = g.tensor(gname)
        if info.type in ("f16", "f32"):
            # As stored, the file's bytes moved, not copied: no float32 copy
            # of the largest tensors, and never two copies of one.
            value = g.take_raw(gname).view(
                "<f2" if info.type == "f16" else "<f4").reshape(info.shape)
        elif info.type == "bf16":
            value = g.numpy(gname)
        elif projection:
            try:
                value = g.packed(gname)
            except FormatError as e:
                raise ModelError("%s: %s: %s" % (path, gname, e))
        else:
            raise ModelError("%s: %s is %s; it must be f32, f16 or bf16"
                             % (path, gname, info.type))
        if tuple(value.shape) != tuple(shape):
            raise ModelError("%s: %s has shape %s; this configuration needs "
                             "%s" % (path, gname, tuple(value.shape),
                                     tuple(shape)))
        if name.endswith(("q_proj.weight", "k_proj.weight")):
            heads = (config.num_attention_heads if "q_proj" in name
                     else config.num_key_value_heads)
            order = np.argsort(_rope_rows(heads, shape[0]))
            value = _permute_rows(value, order)
        weights[name] = value
        # The file's copy goes as soon as the tensor has its own: the file
        # and the weights are not both held at once.
        g.remove_tensor(gname)
    extra = sorted(present - known)
    if extra:
        raise ModelError("%s has tensors a llama model does not use: %s"
                         % (path, ", ".join(extra[:4])))
    return config, weights


def save_gguf(path, config, weights, projections="stq1_0",
              dense_type="f16", metadata=None, stq1_0_type=None):
    """Writes a LLaMA checkpoint as a llama.cpp GGUF file: projections as
    STQ1_0 (ternarized here from float arrays) or as `dense_type`
    (projections="dense"); embeddings, norms and lm_head as `dense_type`
    ('f16' or 'f32'; norms always f32). general.architecture, the llama.*
    hyperparameters and general.file_type are set as llama.cpp's converter
    and llama-quantize set them; `metadata` ({key: value or (value, type
    name)}) adds or overrides keys (a tokenizer's, for one). STQ1_0
    tensors get type id `stq1_0_type` (default ``sherry.gguf.STQ1_0_TYPE``;
    ``sherry.gguf.stq1_0_type_collision`` says where another ggml gives it
    to another type)."""
    if projections not in ("stq1_0", "dense"):
        raise ValueError("projections must be 'stq1_0' or 'dense'")
    if dense_type not in ("f16", "f32"):
        raise ValueError("dense_type must be 'f16' or 'f32'")
    g = gguf_format.GgufFile(stq1_0_type)
    c = config
    g.set_metadata("general.architecture", "llama")
    g.set_metadata("general.alignment", 32, "u32")
    for key, value, kind in [
            ("vocab_size", c.vocab_size, "u32"),
            ("context_length", c.max_position_embeddings, "u32"),
            ("embedding_length", c.hidden_size, "u32"),
            ("block_count", c.num_hidden_layers, "u32"),
            ("feed_forward_length", c.intermediate_size, "u32"),
            ("attention.head_count", c.num_attention_heads, "u32"),
            ("attention.head_count_kv", c.num_key_value_heads, "u32"),
            ("attention.key_length", c.head_dim, "u32"),
            ("attention.value_length", c.head_dim, "u32"),
            ("rope.dimension_count", c.head_dim, "u32"),
            ("attention.layer_norm_rms_epsilon", c.rms_norm_eps, "f32"),
            ("rope.freq_base", c.rope_theta, "f32")]:
        g.set_metadata("llama." + key, value, kind)
    stq = False
    for _, name, shape, projection in weight_arguments(c):
        if name not in weights:
            raise ModelError("the checkpoint lacks %s" % name)
        value = weights[name]
        gname = gguf_name(name)
        if name.endswith(("q_proj.weight", "k_proj.weight")):
            heads = (c.num_attention_heads if "q_proj" in name
                     else c.num_key_value_heads)
            value = _permute_rows(value, _rope_rows(heads, shape[0]))
        if projection and (projections == "stq1_0" or
                           isinstance(value, PackedWeights)):
            try:
                packed = value if isinstance(value, PackedWeights) else \
                    quantize(np.asarray(value, np.float32), "stq1_0")
            except FormatError as e:
                raise ModelError("%s: %s" % (name, e))
            if packed.layout != "stq1_0":
                raise ModelError("%s is packed as %s; GGUF takes stq1_0"
                                 % (name, packed.layout))
            g.set_packed(gname, packed)
            stq = True
        else:
            array = np.asarray(value, np.float32)
            if array.shape != tuple(shape):
                raise ModelError("%s has shape %s; this configuration needs "
                                 "%s" % (name, array.shape, tuple(shape)))
            g.set_array(gname, array, "f32" if array.ndim == 1
                        else dense_type)
    if config.rope_scaling is not None or \
            config.rope_freq_factors is not None:
        # LLaMA 3's RoPE scaling as llama.cpp's converter stores it: the
        # divisors of the plain inverse frequencies.
        half = c.head_dim // 2
        plain = c.rope_theta ** (-np.arange(half, dtype=np.float64) / half)
        g.set_array("rope_freqs.weight",
                    (plain / c.inverse_frequencies()).astype(np.float32),
                    "f32")
    # llama_ftype: MOSTLY_STQ1_0 as the published models number it (41
    # under type id 42), else mostly f16 / all f32.
    if stq:
        file_type = 41 if g.stq1_0_type == 42 else 42
    else:
        file_type = 1 if dense_type == "f16" else 0
    g.set_metadata("general.file_type", file_type, "u32")
    for key, value in (metadata or {}).items():
        # (value, GGUF type name) keeps a type; a bare value infers one.
        if isinstance(value, tuple):
            g.set_metadata(key, *value)
        else:
            g.set_metadata(key, value)
    g.save(path)


def load_checkpoint(directory):
    """(LlamaConfig, {name: array}) of a Hugging Face model directory:
    config.json and model.safetensors, or the shards that
    model.safetensors.index.json names. Arrays are memory-mapped."""
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
