"""Whole LLaMA models (sherry.llama): the compiled model against the numpy
reference of the same ternary model, generation, checkpoints, bad input."""

import json
import os
import struct

import numpy as np
import pytest

import sherry
from sherry import safetensors
from sherry.llama import (LlamaConfig, LlamaModel, ModelError,
                          load_checkpoint, load_gguf, reference, sample,
                          save_gguf)
from sherry.llama.__main__ import main as cli_main, synthetic_weights
from sherry.llama.ir import weight_arguments

# Sizes chosen so that no dimension is a multiple of the kernels' tiles:
# 3 query heads per KV head, 96 hidden, MLP 160, vocabulary 101.
TINY = dict(vocab_size=101, hidden_size=96, intermediate_size=160,
            num_hidden_layers=2, num_attention_heads=6,
            num_key_value_heads=2, max_position_embeddings=64,
            rope_theta=10000.0)


def tiny_config(**changes):
    return LlamaConfig(**dict(TINY, **changes))


def weights_for(config, seed=0):
    w = synthetic_weights(config, seed)
    # Activations large enough to overflow a 16-bit accumulator: int8
    # codes of 127 summed over K = 160 in one row exceed 2^15.
    w["model.embed_tokens.weight"] *= np.float32(50)
    return w


def dequantized(config, weights, granularity="row", dense_type="f16"):
    """The weights the model computes with: projections ternary, the
    embeddings and lm_head rounded to `dense_type`."""
    ref = dict(weights)
    for _, name, shape, projection in weight_arguments(config):
        if projection:
            ref[name] = sherry.quantize(weights[name], "sherry",
                                        granularity).dequantize()
        elif len(shape) == 2:
            ref[name] = weights[name].astype(
                {"f16": np.float16, "f32": np.float32}[dense_type]).astype(
                np.float32)
    return ref


def relative(got, want):
    return float(np.abs(got - want).max() / np.abs(want).max())


@pytest.fixture(scope="module")
def exact_model():
    config = tiny_config()
    return LlamaModel(config, weights_for(config), max_context=40, chunk=5,
                      mode="exact", all_logits=True)


@pytest.fixture(scope="module")
def int8_model():
    config = tiny_config(tie_word_embeddings=True)
    return LlamaModel(config, weights_for(config), max_context=40, chunk=5, mode="int8",
                      all_logits=True)


def check_against_reference(model, weights, tolerance, rng, ref=None):
    """A prefill of 12 tokens (two chunks and two single steps) and 16
    decode steps, each position's logits against the reference (of `ref`,
    by default the ternary weights the model computes with)."""
    config = model.config
    if ref is None:
        ref = dequantized(config, weights, model.granularity,
                          model.dense_type)
    model.reset()
    k = np.zeros(model.k_cache.shape)
    v = np.zeros_like(k)
    prompt = rng.integers(0, config.vocab_size, 12)
    kv_type = model.kv_type
    got = model.forward(prompt)
    want = reference.forward(config, ref, prompt, 0, k, v, kv_type)
    assert got.shape == (12, config.vocab_size)
    assert relative(got, want) < tolerance
    for _ in range(16):
        token = int(rng.integers(0, config.vocab_size))
        pos = model.position
        got = model.forward([token])
        want = reference.forward(config, ref, [token], pos, k, v, kv_type)
        assert relative(got, want) < tolerance, pos
    assert model.position == 28
    np.testing.assert_allclose(model.k_cache[:, :, :28], k[:, :, :28],
                               rtol=0, atol=tolerance * np.abs(k).max())


def test_exact_matches_reference(exact_model, rng):
    # Float activations: the reference's float64 within f32 rounding.
    check_against_reference(exact_model, weights_for(exact_model.config),
                            1e-4, rng)


def test_int8_matches_reference(int8_model, rng):
    # int8 activations (one absmax scale per row and matmul) against float64
    # on the same ternary weights: errors of about 1% in the logits.
    check_against_reference(int8_model, weights_for(int8_model.config),
                            5e-2, rng)


def test_dense_baseline_matches_reference(rng):
    # projections='dense': the same model with f16 projections through the
    # vectorized upstream lowering, no sherry op anywhere.
    config = tiny_config()
    weights = weights_for(config)
    model = LlamaModel(config, weights, max_context=40, chunk=5,
                       all_logits=True, projections="dense")
    assert model.sparse_text is None
    assert "sherry.weights" not in model.module_text()
    ref = {k: v.astype(np.float16).astype(np.float32) if v.ndim == 2 else v
           for k, v in weights.items()}
    check_against_reference(model, weights, 1e-4, rng, ref)
    projections = sum(m * k for m, k in config.projection_shapes().values())
    assert model.packed_bytes == 0
    norms = 4 * (2 * config.num_hidden_layers + 1) * config.hidden_size
    assert model.dense_bytes == 2 * (config.num_hidden_layers * projections
                                     + 2 * config.vocab_size
                                     * config.hidden_size) + norms
    with pytest.raises(ValueError, match="projections must be 'sherry' or "
                       "'dense'"):
        LlamaModel(config, weights, projections="f16")


@pytest.mark.parametrize("mode, tolerance", [("exact", 1e-4),
                                             ("int8", 5e-2)])
def test_f16_kv_cache_matches_reference(mode, tolerance, rng):
    # kv_type='f16': keys and values rounded to f16 as they are stored
    # (the reference rounds them the same way), half the cache's bytes.
    config = tiny_config()
    weights = weights_for(config)
    model = LlamaModel(config, weights, max_context=40, chunk=5, mode=mode,
                       all_logits=True, kv_type="f16")
    assert model.k_cache.dtype == np.float16
    assert model.cache_bytes == 2 * 2 * config.num_hidden_layers * \
        config.num_key_value_heads * 40 * config.head_dim
    check_against_reference(model, weights, tolerance, rng)
    with pytest.raises(ValueError, match="kv_type must be 'f32' or 'f16'"):
        LlamaModel(config, weights, kv_type="bf16")


def test_table_kernels_on_run_time_weights(int8_model):
    # This CPU's table kernel takes the projections at run time.
    if sherry.preferred_table_layout(96) is None:
        pytest.skip("target=host has no table kernel here")
    assert int8_model.table_layout is not None
    assert "argument-layout=tables" in int8_model.sparsify_options()
    # One layer's 7 projections, for calls of 1 token and of a chunk.
    assert int8_model.sparse_text.count("sherry.matmul") == 14


def test_whole_model_function_equals_split_layers(int8_model, rng):
    # One function with every layer inlined computes what the per-layer
    # functions chained from Python do, bit for bit.
    config = int8_model.config
    whole = LlamaModel(config, weights_for(config), max_context=40,
                       chunk=5, mode="int8", all_logits=True,
                       split_layers=False)
    assert whole.sparse_text.count("sherry.matmul") == 28
    int8_model.reset()
    ids = rng.integers(0, config.vocab_size, 7)
    assert np.array_equal(whole.forward(ids), int8_model.forward(ids))
    assert np.array_equal(whole.forward([5]), int8_model.forward([5]))
    # (Positions after 8 hold what earlier tests left in the fixture's.)
    assert np.array_equal(whole.k_cache[:, :, :8],
                          int8_model.k_cache[:, :, :8])


def test_compiled_once_runs_another_checkpoint(exact_model, rng):
    config = exact_model.config
    other = weights_for(config, seed=7)
    exact_model.load_weights(other)
    prompt = rng.integers(0, config.vocab_size, 6)
    got = exact_model.forward(prompt)
    k = np.zeros(exact_model.k_cache.shape)
    want = reference.forward(config, dequantized(config, other), prompt, 0,
                             k, np.zeros_like(k))
    assert relative(got, want) < 1e-4
    exact_model.load_weights(weights_for(config))


def test_load_weights_release_empties_the_checkpoint(int8_model, rng):
    # With release, each tensor leaves the dict as it is loaded; the model
    # computes what it computes from a checkpoint it only reads.
    config = int8_model.config
    ids = rng.integers(0, config.vocab_size, 6)
    kept = weights_for(config, seed=3)
    int8_model.load_weights(kept)
    want = int8_model.forward(ids)
    released = weights_for(config, seed=3)
    released["not.a.weight"] = np.zeros(1)
    int8_model.strict = False
    try:
        int8_model.load_weights(released, release=True)
    finally:
        int8_model.strict = True
    assert list(released) == ["not.a.weight"]
    assert len(kept) > 1
    assert np.array_equal(int8_model.forward(ids), want)
    int8_model.load_weights(weights_for(config))


def test_generate_greedy_follows_argmax(exact_model):
    model = exact_model
    model.reset()
    result = model.generate([1, 2, 3, 4, 5, 6, 7], 6)
    assert len(result.tokens) == 6
    # The same chain, step by step.
    model.reset()
    logits = model.forward([1, 2, 3, 4, 5, 6, 7])[-1]
    chain = []
    for _ in range(6):
        chain.append(int(np.argmax(logits)))
        logits = model.forward(chain[-1:])[-1]
    assert chain == result.tokens
    assert result.prefill_tokens_per_second > 0
    assert result.decode_tokens_per_second > 0


def test_generate_sampling_is_seeded(exact_model):
    runs = []
    for seed in (3, 3, 4):
        exact_model.reset()
        runs.append(exact_model.generate([5, 6, 7], 12, temperature=1.5,
                                         top_k=40, top_p=0.95,
                                         seed=seed).tokens)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_generate_stops_at_stop_token(exact_model):
    exact_model.reset()
    first = exact_model.generate([9, 8], 1).tokens[0]
    exact_model.reset()
    result = exact_model.generate([9, 8], 10, stop_tokens={first})
    assert result.tokens == [first]


def test_sample():
    rng = np.random.default_rng(0)
    logits = np.array([0.0, 5.0, 1.0, 4.9])
    assert sample(logits) == 1
    assert {sample(logits, 1.0, top_k=1, rng=rng) for _ in range(20)} == {1}
    # top_p keeps the fewest tokens reaching it: here tokens 1 and 3.
    drawn = {sample(logits, 1.0, top_p=0.9, rng=rng) for _ in range(200)}
    assert drawn == {1, 3}
    with pytest.raises(ValueError, match="temperature"):
        sample(logits, -1.0)
    with pytest.raises(ValueError, match="NaN"):
        sample([np.nan, 1.0])


def test_bad_tokens_and_lengths(exact_model):
    m = exact_model
    m.reset()
    with pytest.raises(ModelError, match="token id 101 at index 1"):
        m.forward([3, 101])
    with pytest.raises(ModelError, match="token id -1"):
        m.forward([-1])
    with pytest.raises(ModelError, match="do not fit the cache of 40"):
        m.forward(np.zeros(41, np.int64))
    with pytest.raises(ModelError, match="need 49 positions; the cache has"
                       " 40"):
        m.generate(list(range(30)), 20)
    with pytest.raises(ValueError, match="top_p"):
        m.generate([1], 2, temperature=1.0, top_p=0)
    assert m.position == 0        # nothing ran


def test_bad_checkpoints():
    config = tiny_config()
    w = weights_for(config)
    missing = dict(w)
    del missing["model.layers.1.mlp.down_proj.weight"]
    with pytest.raises(ModelError, match="lacks "
                       "model.layers.1.mlp.down_proj.weight"):
        LlamaModel(config, missing, max_context=8, chunk=1, mode="exact")
    bad = dict(w)
    bad["model.layers.0.self_attn.k_proj.weight"] = np.zeros((32, 32))
    with pytest.raises(ModelError, match=r"k_proj.weight has shape \(32, "
                       r"32\); this configuration needs \(32, 96\)"):
        LlamaModel(config, bad, max_context=8, chunk=1, mode="exact")
    extra = dict(w, **{"model.layers.0.self_attn.rotary_emb.inv_freq":
                       np.ones(8), "model.extra.weight": np.ones(3)})
    with pytest.raises(ModelError, match="does not use: model.extra"):
        LlamaModel(config, extra, max_context=8, chunk=1, mode="exact")
    nan = dict(w)
    nan["model.norm.weight"] = np.full(96, np.nan, np.float32)
    with pytest.raises(ModelError, match="model.norm.weight holds NaN"):
        LlamaModel(config, nan, max_context=8, chunk=1, mode="exact")
    # One infinity among finite values, in an f16 tensor kept as f16.
    inf = dict(w)
    embed = np.array(w["model.embed_tokens.weight"], np.float16)
    embed[3, 5] = -np.inf
    inf["model.embed_tokens.weight"] = embed
    with pytest.raises(ModelError, match="embed_tokens.weight holds NaN or "
                       "infinity"):
        LlamaModel(config, inf, max_context=8, chunk=1, mode="exact")


def test_bad_configurations():
    with pytest.raises(ModelError, match="model_type 'gpt2'"):
        LlamaConfig.from_dict(dict(TINY, model_type="gpt2"))
    with pytest.raises(ModelError, match="lacks hidden_size"):
        LlamaConfig.from_dict({k: v for k, v in TINY.items()
                               if k != "hidden_size"})
    with pytest.raises(ModelError, match="multiple of num_key_value_heads"):
        tiny_config(num_key_value_heads=4)
    with pytest.raises(ModelError, match="rope_scaling type 'yarn'"):
        tiny_config(rope_scaling={"rope_type": "yarn", "factor": 4.0})
    with pytest.raises(ModelError, match="hidden_size must be positive"):
        tiny_config(hidden_size=0)
    with pytest.raises(ModelError, match="general.architecture is 'gpt2'"):
        LlamaConfig.from_gguf({"general.architecture": "gpt2"})
    with pytest.raises(ModelError, match="lacks llama.block_count"):
        LlamaConfig.from_gguf({"general.architecture": "llama",
                               "llama.attention.head_count": 6,
                               "llama.embedding_length": 96,
                               "llama.feed_forward_length": 160,
                               "llama.vocab_size": 101})


def test_projections_not_multiple_of_32():
    config = tiny_config(hidden_size=72, num_attention_heads=6)
    with pytest.raises(ModelError, match="q_proj: in_features 72 is not a "
                       "multiple of 32"):
        LlamaModel(config, synthetic_weights(config, 0), max_context=4,
                   chunk=1, mode="exact")


def test_llama3_rope_scaling():
    # transformers' _compute_llama3_parameters on LLaMA-3.2-1B's values.
    config = tiny_config(head_dim=64, rope_theta=500000.0, rope_scaling={
        "rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
    inv = config.inverse_frequencies()
    plain = 500000.0 ** (-np.arange(32) / 32)
    wavelen = 2 * np.pi / plain
    assert np.array_equal(inv[wavelen < 2048], plain[wavelen < 2048])
    assert np.allclose(inv[wavelen > 8192], plain[wavelen > 8192] / 32)
    mid = (wavelen >= 2048) & (wavelen <= 8192)
    assert mid.any()
    assert np.all(inv[mid] < plain[mid]) and np.all(inv[mid] >
                                                    plain[mid] / 32)


def test_safetensors_round_trip_and_bf16(tmp_path):
    path = str(tmp_path / "t.safetensors")
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
              "b": np.array([1, -2], np.int8)}
    safetensors.save(path, arrays, {"format": "pt"})
    back = safetensors.load(path)
    assert set(back) == {"a", "b"}
    assert np.array_equal(back["a"], arrays["a"])
    assert safetensors.read_metadata(path) == {"format": "pt"}
    # BF16 by hand: 1.5 and -2.0.
    header = json.dumps({"x": {"dtype": "BF16", "shape": [2],
                               "data_offsets": [0, 4]}}).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        f.write(np.array([0x3FC0, 0xC000], np.uint16).tobytes())
    assert safetensors.load(path)["x"].tolist() == [1.5, -2.0]


@pytest.mark.parametrize("header, message", [
    (b"{", "not JSON"),
    (b"[]", "not a JSON object"),
    (b'{"x": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}',
     "dtype 'F8'"),
    (b'{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}',
     "span 4 bytes"),
    (b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
     "past the end"),
    (b'{"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}',
     "bad shape"),
])
def test_safetensors_bad_files(tmp_path, header, message):
    path = str(tmp_path / "bad.safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
    with pytest.raises(sherry.FormatError, match=message):
        safetensors.load(path)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 1 << 40))
    with pytest.raises(sherry.FormatError, match="header length"):
        safetensors.load(path)


def write_checkpoint(directory, config, weights, shards=1):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config.to_dict(), f)
    names = sorted(weights)
    if shards == 1:
        safetensors.save(os.path.join(directory, "model.safetensors"),
                         weights)
        return
    weight_map = {}
    for i in range(shards):
        part = {n: weights[n] for n in names[i::shards]}
        file = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
        safetensors.save(os.path.join(directory, file), part)
        weight_map.update({n: file for n in part})
    with open(os.path.join(directory, "model.safetensors.index.json"),
              "w") as f:
        json.dump({"weight_map": weight_map}, f)


def test_checkpoint_directory_and_cli(tmp_path, exact_model, capsys):
    config = exact_model.config
    w = weights_for(config)
    write_checkpoint(str(tmp_path / "one"), config, w)
    write_checkpoint(str(tmp_path / "sharded"), config,
                     {k: v.astype(np.float16) if v.ndim == 2 else v
                      for k, v in w.items()}, shards=3)
    for d in ("one", "sharded"):
        got_config, got = load_checkpoint(str(tmp_path / d))
        assert got_config == config
        assert set(got) == set(w)
    exact_model.reset()
    want = exact_model.generate([4, 5, 6], 5).tokens
    cli_main(["--model", str(tmp_path / "one"), "--prompt-ids", "4,5,6",
              "-n", "5", "--mode", "exact", "--chunk", "2", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["tokens"] == want
    assert report["prompt_tokens"] == 3
    assert report["packed_bytes"] > 0
    assert report["peak_rss_bytes"] > report["packed_bytes"]
    with pytest.raises(SystemExit, match="lacks model.norm.weight"):
        os.remove(str(tmp_path / "one" / "model.safetensors"))
        safetensors.save(str(tmp_path / "one" / "model.safetensors"),
                         {k: v for k, v in w.items()
                          if k != "model.norm.weight"})
        cli_main(["--model", str(tmp_path / "one"), "--prompt-ids", "1",
                  "-n", "1", "--mode", "exact"])


def test_run_passes():
    text = ("func.func @f(%x: tensor<1x64xf32>, %w: tensor<32x64xf32> "
            "{sherry.weights}) -> tensor<1x32xf32> {\n"
            "  %z = arith.constant dense<0.0> : tensor<1x32xf32>\n"
            "  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> "
            "(m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k)"
            " -> (m, n)>] ins(%x, %w : tensor<1x64xf32>, tensor<32x64xf32>)"
            " outs(%z : tensor<1x32xf32>) -> tensor<1x32xf32>\n"
            "  return %y : tensor<1x32xf32>\n}\n")
    out = sherry.run_passes(
        text, "builtin.module(sherry-sparsify{mode=int8},canonicalize)")
    assert "sherry.matmul" in out and "linalg.matmul" not in out
    with pytest.raises(sherry.CompilerError, match="'nope' does not refer "
                       "to a registered pass"):
        sherry.run_passes(text, "builtin.module(nope)")
    with pytest.raises(sherry.CompilerError, match="it runs on 'func.func'"):
        sherry.run_passes(text, "func.func(canonicalize)")
    with pytest.raises(sherry.CompilerError, match="failed to add "
                       "`sherry-sparsify` with options `mode=bogus`"):
        sherry.run_passes(text, "builtin.module(sherry-sparsify{mode=bogus})")
    with pytest.raises(sherry.CompilerError, match="input:1:"):
        sherry.run_passes("func.func @f(", "builtin.module(canonicalize)")


GGUF_CONFIG = dict(vocab_size=101, hidden_size=256, intermediate_size=512,
                   num_hidden_layers=1, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=64)


def test_gguf_round_trip(tmp_path):
    # A Sherry GGUF (STQ1_0 projections, f32 elsewhere) runs exactly as the
    # float checkpoint packed to stq1_0 at load.
    config = LlamaConfig(**GGUF_CONFIG)
    w = synthetic_weights(config, 0)
    path = str(tmp_path / "m.gguf")
    save_gguf(path, config, w, dense_type="f32")
    g = sherry.gguf.load(path)
    assert g.metadata["general.architecture"] == "llama"
    assert g.metadata["general.file_type"] in (41, 42)
    assert g.metadata["llama.block_count"] == 1
    assert g.tensor("blk.0.attn_q.weight").type_id == sherry.gguf.STQ1_0_TYPE
    # llama.cpp's converter order of q rows: each head's rotate-half pairs
    # made adjacent.
    q = w["model.layers.0.self_attn.q_proj.weight"]
    ref = q.reshape(4, 2, 32, 256).swapaxes(1, 2).reshape(256, 256)
    assert np.array_equal(g.packed("blk.0.attn_q.weight").dequantize(),
                          sherry.quantize(ref, "stq1_0").dequantize())
    loaded_config, loaded = load_gguf(path)
    assert loaded_config.num_key_value_heads == 2
    assert loaded_config.head_dim == 64
    assert abs(loaded_config.rms_norm_eps - 1e-5) < 1e-9
    assert loaded["model.layers.0.self_attn.k_proj.weight"].layout == \
        "stq1_0"
    for mode in ("exact", "int8"):
        a = LlamaModel(config, w, max_context=16, chunk=4, mode=mode,
                       layout="stq1_0")
        b = LlamaModel(loaded_config, loaded, max_context=16, chunk=4,
                       mode=mode)
        assert b.layout == "stq1_0"
        ids = [1, 2, 3, 4, 5, 6]
        assert np.array_equal(a.forward(ids), b.forward(ids)), mode


def test_gguf_bad_files(tmp_path):
    config = LlamaConfig(**GGUF_CONFIG)
    w = synthetic_weights(config, 0)
    path = str(tmp_path / "m.gguf")
    save_gguf(path, config, w, projections="dense", dense_type="f16")
    g = sherry.gguf.load(path)
    assert g.metadata["general.file_type"] == 1
    g.remove_tensor("blk.0.ffn_down.weight")
    g.save(path)
    with pytest.raises(ModelError, match="lacks blk.0.ffn_down.weight"):
        load_gguf(path)
    g.set_metadata("general.architecture", "gpt2")
    g.save(path)
    with pytest.raises(ModelError, match="general.architecture is 'gpt2'"):
        load_gguf(path)
    with open(path, "wb") as f:
        f.write(b"GGUF")
    with pytest.raises(ModelError, match="m.gguf"):
        load_gguf(path)
    with pytest.raises(ModelError, match="lacks model.norm.weight"):
        save_gguf(path, config, {k: v for k, v in w.items()
                                 if k != "model.norm.weight"})


def test_cli_reads_gguf(tmp_path, capsys):
    config = LlamaConfig(**GGUF_CONFIG)
    path = str(tmp_path / "m.gguf")
    save_gguf(path, config, synthetic_weights(config, 0))
    cli_main(["--model", path, "--prompt-ids", "7 8 9", "-n", "3",
              "--json"])
    report = json.loads(capsys.readouterr().out)
    assert len(report["tokens"]) == 3
    assert report["kernel_layout"] != ""


def test_convert_keeps_tokenizer(tmp_path, capsys):
    from sherry.llama.convert import main as convert_main
    config = LlamaConfig(**GGUF_CONFIG)
    w = synthetic_weights(config, 0)
    source = str(tmp_path / "f16.gguf")
    save_gguf(source, config, w, projections="dense", metadata={
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": (["t%d" % i for i in range(101)],
                                  "array[string]"),
        "general.name": "tiny"})
    out = str(tmp_path / "sherry.gguf")
    convert_main([source, out, "--dense-type", "f32"])
    assert "wrote" in capsys.readouterr().out
    g = sherry.gguf.load(out)
    assert g.metadata["tokenizer.ggml.tokens"][:2] == ["t0", "t1"]
    assert g.metadata_type("tokenizer.ggml.tokens") == "array[string]"
    assert g.metadata["general.name"] == "tiny"
    assert g.metadata["general.file_type"] in (41, 42)
    assert g.tensor("blk.0.ffn_up.weight").type_id == \
        sherry.gguf.STQ1_0_TYPE
    assert g.tensor("token_embd.weight").type == "f32"
    # The same model as the float checkpoint packed to stq1_0 at load (the
    # f16 source rounded the projections first).
    config2, w2 = load_gguf(source)
    a = LlamaModel(config2, w2, max_context=8, chunk=1, mode="exact",
                   layout="stq1_0")
    b = LlamaModel(*load_gguf(out), max_context=8, chunk=1, mode="exact")
    assert np.array_equal(a.forward([3, 4]), b.forward([3, 4]))
    with pytest.raises(SystemExit, match="no-such"):
        convert_main([str(tmp_path / "no-such"), out])


def test_convert_stq1_0_type(tmp_path, capsys):
    # The default id, 42, is upstream ggml's Q2_0 since July 2026: convert
    # warns. --stq1_0-type=43 writes 43 (file type 42, as llama-quantize
    # numbers it), and a GGUF source with 43 reads with the same option.
    from sherry.llama.convert import main as convert_main
    config = LlamaConfig(**GGUF_CONFIG)
    source = str(tmp_path / "f16.gguf")
    save_gguf(source, config, synthetic_weights(config, 0),
              projections="dense")
    out42, out43 = str(tmp_path / "42.gguf"), str(tmp_path / "43.gguf")
    convert_main([source, out42])
    err = capsys.readouterr().err
    assert "warning: %s holds STQ1_0 tensors under type id 42, which is " \
        "q2_0 in ggml since July 2026" % out42 in err
    convert_main([source, out43, "--stq1_0-type", "43"])
    assert "warning" not in capsys.readouterr().err
    with pytest.raises(sherry.FormatError, match="unknown ggml type 43"):
        sherry.gguf.load(out43)
    g = sherry.gguf.load(out43, stq1_0_type=43)
    assert g.tensor("blk.0.ffn_up.weight").type == "stq1_0"
    assert g.metadata["general.file_type"] == 42
    again = str(tmp_path / "again.gguf")
    convert_main([out43, again, "--stq1_0-type", "43"])
    c43, w43 = load_gguf(out43, stq1_0_type=43)
    c42, w42 = load_gguf(out42)
    for name in w42:
        a, b = w42[name], w43[name]
        if hasattr(a, "data"):
            assert np.array_equal(a.data, b.data), name
        else:
            assert np.array_equal(a, b), name


def test_threads_give_the_same_logits(int8_model, rng):
    # Two OpenMP threads split the projections' rows (every matmul, however
    # small: table-part-weights=0), with work stealing: the same numbers.
    config = int8_model.config
    threaded = LlamaModel(config, weights_for(config), max_context=40,
                          chunk=5, mode="int8", all_logits=True,
                          pipeline_options="target=host threads=2 "
                          "table-part-weights=0")
    int8_model.reset()
    ids = rng.integers(0, config.vocab_size, 6)
    assert np.array_equal(threaded.forward(ids), int8_model.forward(ids))
    assert np.array_equal(threaded.forward([9]), int8_model.forward([9]))


def test_cli_text_prompt(tmp_path, capsys):
    from sherry.llama.tokenizer import _BYTE_TO_CHAR
    tokens = [_BYTE_TO_CHAR[b] for b in range(256)] + ["Ġt", "he", "Ġthe",
                                                      "<|begin|>", "<|end|>"]
    config = LlamaConfig(**dict(GGUF_CONFIG, vocab_size=len(tokens)))
    path = str(tmp_path / "chat.gguf")
    save_gguf(path, config, synthetic_weights(config, 0), metadata={
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "llama-bpe",
        "tokenizer.ggml.tokens": (tokens, "array[string]"),
        "tokenizer.ggml.merges": (["Ġ t", "h e", "Ġt he"], "array[string]"),
        "tokenizer.ggml.bos_token_id": (259, "u32"),
        "tokenizer.ggml.eos_token_id": (260, "u32")})
    cli_main(["--model", path, "--prompt", "the the", "-n", "6", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["prompt_tokens"] == 4          # BOS, t, he, Ġthe
    bpe = sherry.llama.ByteLevelBPE.from_gguf(sherry.gguf.load(path).metadata)
    assert report["text"] == bpe.decode(report["tokens"])
    assert 260 not in report["tokens"][:-1]     # stops at the end token
    with pytest.raises(SystemExit, match="--prompt needs a GGUF file"):
        cli_main(["--config", path, "--random-weights", "0", "--prompt",
                  "x"])


def test_convert_hf_tokenizer(tmp_path, capsys):
    from sherry.llama.convert import main as convert_main
    from sherry.llama.tokenizer import _BYTE_TO_CHAR
    vocab = {_BYTE_TO_CHAR[b]: b for b in range(256)}
    vocab.update({"Ġt": 256, "he": 257})
    config = LlamaConfig(**dict(GGUF_CONFIG, vocab_size=260))
    d = tmp_path / "hf"
    write_checkpoint(str(d), config, synthetic_weights(config, 0))
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(bos_token_id=258, eos_token_id=[259, 1])
    (d / "config.json").write_text(json.dumps(cfg))
    (d / "tokenizer.json").write_text(json.dumps({
        "model": {"type": "BPE", "vocab": vocab,
                  "merges": [["Ġ", "t"], "h e"]},
        "added_tokens": [{"id": 258, "content": "<|begin_of_text|>"},
                         {"id": 259, "content": "<|end_of_text|>"}]}))
    out = str(tmp_path / "out.gguf")
    convert_main([str(d), out])
    capsys.readouterr()
    bpe = sherry.llama.ByteLevelBPE.from_gguf(sherry.gguf.load(out).metadata)
    assert (bpe.bos_id, bpe.eos_id) == (258, 259)
    assert bpe.tokens[258] == "<|begin_of_text|>"
    assert [bpe.tokens[i] for i in bpe.encode(" the", add_bos=False)] == [
        "Ġt", "he"]
    (d / "tokenizer.json").write_text(json.dumps({"model": {
        "type": "Unigram", "vocab": []}}))
    with pytest.raises(SystemExit, match="a Unigram tokenizer"):
        convert_main([str(d), out])


def test_gguf_llama3_rope_scaling(tmp_path):
    # LLaMA 3's scaling goes to GGUF as rope_freqs.weight (divisors of the
    # plain frequencies) and comes back as the same model.
    config = LlamaConfig(**dict(GGUF_CONFIG, rope_theta=500000.0,
                                rope_scaling={
                                    "rope_type": "llama3", "factor": 32.0,
                                    "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0,
                                    "original_max_position_embeddings": 8}))
    w = synthetic_weights(config, 0)
    path = str(tmp_path / "l3.gguf")
    save_gguf(path, config, w, dense_type="f32")
    assert sherry.gguf.load(path).tensor("rope_freqs.weight").shape == (32,)
    loaded_config, loaded = load_gguf(path)
    assert loaded_config.rope_scaling is None
    np.testing.assert_allclose(loaded_config.inverse_frequencies(),
                               config.inverse_frequencies(), rtol=1e-6)
    assert not np.allclose(loaded_config.inverse_frequencies(),
                           LlamaConfig(**GGUF_CONFIG).inverse_frequencies())
    a = LlamaModel(config, w, max_context=24, chunk=1, mode="exact",
                   layout="stq1_0", dense_type="f32")
    b = LlamaModel(loaded_config, loaded, max_context=24, chunk=1,
                   mode="exact", dense_type="f32")
    ids = list(range(20))
    assert relative(b.forward(ids), a.forward(ids)) < 1e-4
    with pytest.raises(ModelError, match="two forms of the same scaling"):
        LlamaConfig(rope_freq_factors=[1.0] * 32, **dict(
            GGUF_CONFIG, rope_scaling=config.rope_scaling))
    with pytest.raises(ModelError, match="32 positive numbers"):
        LlamaConfig(rope_freq_factors=[1.0, 0.0], **GGUF_CONFIG)
