"""sherry.gguf: GGUF files in and out, STQ1_0 tensors as PackedWeights."""

import os
import subprocess
import sys

import numpy as np
import pytest

import reference
import sherry
import sherry.gguf
from conftest import ROOT
from test_compile import _call, build

MAKE_GGUF = os.path.join(ROOT, "test", "sherry-pack", "Inputs",
                         "make_gguf.py")
STQ_TENSORS = ("blk.0.attn_q.weight", "blk.0.ffn_up.weight")


def make_gguf(path, *options):
    """A llama.cpp-like GGUF written independently of sherry (the lit
    tests' helper)."""
    subprocess.run([sys.executable, MAKE_GGUF, str(path), *options],
                   check=True)
    return path


@pytest.fixture
def model(tmp_path):
    return make_gguf(tmp_path / "model.gguf")


def test_load_lists_everything(model):
    g = sherry.gguf.load(model)
    assert g.version == 3 and g.alignment == 32
    assert g.stq1_0_type == sherry.gguf.STQ1_0_TYPE == 42
    md = g.metadata
    assert md["general.architecture"] == "llama"
    assert md["general.name"] == "sherry test \u2581model"
    assert md["llama.block_count"] == 1
    assert md["test.i64"] == -(1 << 50) and md["test.bool"] is True
    assert md["tokenizer.ggml.tokens"] == ["<s>", "</s>", "\u2581the", ""]
    np.testing.assert_array_equal(md["tokenizer.ggml.scores"],
                                  [0.0, -1.5, -2.25, -3.0])
    assert md["tokenizer.ggml.token_type"].dtype == np.int32
    assert [list(a) for a in md["test.nested"]] == [[1, 2], ["x"]]
    assert g.metadata_type("test.u16") == "u16"
    assert g.metadata_type("tokenizer.ggml.tokens") == "array[string]"
    assert g.metadata_type("test.nested") == "array[array]"
    info = {t.name: t for t in g.tensors}
    q = info["blk.0.attn_q.weight"]
    assert (q.type, q.type_id, q.dims, q.shape, q.nbytes) == \
        ("stq1_0", 42, (512, 16), (16, 512), 16 * 2 * 42)
    assert info["output.weight"].type == "q8_0"
    assert "token_embd.weight" in g and "nothing" not in g


def test_round_trip_through_sherry_files_keeps_bytes(model, tmp_path):
    """GGUF -> .sherry files (and .npy-like arrays) -> GGUF, same bytes."""
    g = sherry.gguf.load(model)
    for name in STQ_TENSORS:
        path = tmp_path / (name + ".sherry")
        g.packed(name).save(path)
        g.set_packed(name, sherry.load(path))
    emb = g.numpy("token_embd.weight")
    g.set_array("token_embd.weight", emb.astype(np.float16))
    g.set_array("blk.0.attn_norm.weight", g.numpy("blk.0.attn_norm.weight"))
    g.set_raw("output.weight", (64, 4), 8, g.raw("output.weight"))
    g.save(tmp_path / "out.gguf")
    assert (tmp_path / "out.gguf").read_bytes() == model.read_bytes()


def test_from_scratch_matches_independent_writer(tmp_path):
    """The same tensors added to an empty file give the independent
    writer's bytes."""
    plain = sherry.gguf.load(make_gguf(tmp_path / "plain.gguf",
                                       "--no-metadata", "--no-q8"))
    g = sherry.gguf.GgufFile()
    for info in plain.tensors:
        if info.type == "stq1_0":
            g.set_packed(info.name, plain.packed(info.name))
        else:
            g.set_raw(info.name, info.dims, info.type_id,
                      plain.raw(info.name))
    g.save(tmp_path / "again.gguf")
    assert (tmp_path / "again.gguf").read_bytes() == \
        (tmp_path / "plain.gguf").read_bytes()


def test_take_raw_moves_the_bytes_out(model, tmp_path):
    g = sherry.gguf.load(model)
    want = g.raw("token_embd.weight")
    taken = g.take_raw("token_embd.weight")
    np.testing.assert_array_equal(taken, want)
    assert taken.flags.owndata is False and taken.base is not None
    # The tensor stays, with no bytes: the file cannot be saved with it.
    assert "token_embd.weight" in g and g.raw("token_embd.weight").size == 0
    with pytest.raises(sherry.FormatError):
        g.save(tmp_path / "out.gguf")
    g.remove_tensor("token_embd.weight")
    g.save(tmp_path / "out.gguf")
    # The array outlives the file it came from.
    del g
    np.testing.assert_array_equal(taken, want)
    with pytest.raises(KeyError, match="no tensor named 'nothing'"):
        sherry.gguf.load(model).take_raw("nothing")


def test_packed_weights_from_gguf_equal_the_bytes(model):
    g = sherry.gguf.load(model)
    p = g.packed("blk.0.ffn_up.weight")
    assert p.layout == "stq1_0" and p.shape == (24, 256)
    assert p.scale_type == "f16" and p.scales.shape == (24, 1)
    raw = g.raw("blk.0.ffn_up.weight")
    np.testing.assert_array_equal(p.bytes, raw)
    # The block scales are the f16 d at bytes 40..41 of each block.
    d = raw.reshape(24, 42)[:, 40:42].copy().view(np.float16)
    np.testing.assert_array_equal(p.scales, d)


def test_stq_tensor_of_a_gguf_compiles(model, rng):
    """A published-style STQ1_0 tensor runs through sherry.compile and
    matches the reference bit for bit (int8 mode)."""
    packed = sherry.gguf.load(model).packed("blk.0.attn_q.weight")
    m, k = packed.shape
    x = rng.normal(0, 1, size=(2, k)).astype(np.float32)
    init = np.zeros((2, m), np.float32)
    module = sherry.compile(build(packed, x, init, None, "<stq1_0>", "int8"))
    y = _call(module, packed, x, init, None)
    np.testing.assert_array_equal(
        y, reference.matmul_reference(x, packed, "int8", init, None))


def test_write_quantized_model(tmp_path, rng, sherry_pack):
    w = rng.normal(0, 1, size=(32, 512)).astype(np.float32)
    packed = sherry.quantize(w, layout="stq1_0")
    g = sherry.gguf.GgufFile()
    g.set_metadata("general.architecture", "llama")
    g.set_metadata("llama.block_count", 1)
    g.set_metadata("general.alignment", 64)
    g.set_packed("blk.0.attn_q.weight", packed)
    norm = rng.normal(1, 0.1, size=512).astype(np.float32)
    g.set_array("blk.0.attn_norm.weight", norm)
    path = tmp_path / "new.gguf"
    g.save(path)
    assert g.alignment == 64

    back = sherry.gguf.load(path)
    assert back.metadata_type("llama.block_count") == "u32"
    assert back.metadata["general.alignment"] == 64
    q = back.packed("blk.0.attn_q.weight")
    np.testing.assert_array_equal(q.data, packed.data)
    np.testing.assert_array_equal(q.dequantize(), packed.dequantize())
    np.testing.assert_array_equal(back.numpy("blk.0.attn_norm.weight"), norm)
    # sherry-pack reads what Python wrote.
    out = subprocess.run([sherry_pack, "gguf-list", str(path)], check=True,
                         capture_output=True, text=True).stdout
    assert "alignment: 64" in out
    assert "blk.0.attn_q.weight: stq1_0 [512, 32], 2688 bytes" in out


VALUES = [
    ("u8", 255), ("i8", -128), ("u16", 65535), ("i16", -32768),
    ("u32", 4000000000), ("i32", -7), ("f32", 0.5), ("bool", False),
    ("string", "h\u00e9llo"), ("u64", 1 << 63), ("i64", -(1 << 63)),
    ("f64", 1e300), ("array[u8]", np.array([1, 2], np.uint8)),
    ("array[i16]", np.array([-1], np.int16)),
    ("array[f64]", np.array([0.25, 2.0])),
    ("array[bool]", np.array([True, False])),
    ("array[string]", ["a", "", "\u2581b"]),
    ("array[u64]", np.zeros(0, np.uint64)),
]


def test_metadata_of_every_type(tmp_path):
    g = sherry.gguf.GgufFile()
    for i, (type_name, value) in enumerate(VALUES):
        g.set_metadata("k%d" % i, value, type_name)
    g.set_metadata("nested", [("array[u32]", [1, 2]),
                              ("array[string]", ["z"])], "array[array]")
    g.save(tmp_path / "md.gguf")
    back = sherry.gguf.load(tmp_path / "md.gguf")
    md = back.metadata
    for i, (type_name, value) in enumerate(VALUES):
        key = "k%d" % i
        assert back.metadata_type(key) == type_name
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(md[key], value)
            assert md[key].dtype == value.dtype
        else:
            assert md[key] == value
    assert [list(a) for a in md["nested"]] == [[1, 2], ["z"]]
    # Inferred types.
    g.set_metadata("n", 3)
    g.set_metadata("neg", -3)
    g.set_metadata("x", 1.5)
    g.set_metadata("s", ["a"])
    assert [g.metadata_type(k) for k in ("n", "neg", "x", "s")] == \
        ["u32", "i64", "f32", "array[string]"]
    g.set_metadata("n", 4, "u8")
    assert g.metadata["n"] == 4 and g.metadata_type("n") == "u8"
    assert g.keys()[-4] == "n"
    g.remove_metadata("n")
    assert "n" not in g.keys()


def test_tensor_editing(model):
    g = sherry.gguf.load(model)
    names = g.tensor_names
    g.set_array("blk.0.attn_norm.weight", np.ones((2, 8), np.float32))
    assert g.tensor_names == names
    assert g.tensor("blk.0.attn_norm.weight").dims == (8, 2)
    g.remove_tensor("output.weight")
    assert "output.weight" not in g
    with pytest.raises(KeyError):
        g.remove_tensor("output.weight")


def test_other_stq1_0_type(tmp_path):
    path = make_gguf(tmp_path / "t43.gguf", "--stq-type", "43")
    with pytest.raises(sherry.FormatError, match="unknown ggml type 43"):
        sherry.gguf.load(path)
    g = sherry.gguf.load(path, stq1_0_type=43)
    assert g.tensor("blk.0.attn_q.weight").type == "stq1_0"
    assert g.packed("blk.0.attn_q.weight").shape == (16, 512)
    with pytest.raises(sherry.FormatError, match="upstream ggml's q6_K"):
        sherry.gguf.GgufFile(stq1_0_type=14)


def test_stq1_0_type_collision():
    # 42 is upstream ggml's Q2_0 since July 2026; 43 is no type upstream.
    assert sherry.gguf.stq1_0_type_collision(42) == (
        "q2_0 in ggml since July 2026 (GGML_TYPE_Q2_0), blocks of 64 "
        "weights in 18 bytes where STQ1_0 has 256 in 42")
    assert sherry.gguf.stq1_0_type_collision(43) is None


def test_bad_files(model, tmp_path):
    data = model.read_bytes()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUX" + data[4:])
    with pytest.raises(sherry.FormatError, match="not a GGUF file"):
        sherry.gguf.load(bad)
    bad.write_bytes(data[:3000])
    with pytest.raises(sherry.FormatError,
                       match="truncated: the tensor data ends at byte"):
        sherry.gguf.load(bad)
    bad.write_bytes(data[:400])
    with pytest.raises(sherry.FormatError, match="truncated at byte"):
        sherry.gguf.load(bad)
    bad.write_bytes(data + b"\0" * 32)
    with pytest.raises(sherry.FormatError, match="32 unexpected bytes"):
        sherry.gguf.load(bad)
    # Every prefix of the header fails cleanly.
    for n in range(0, 600, 7):
        bad.write_bytes(data[:n])
        with pytest.raises(sherry.FormatError):
            sherry.gguf.load(bad)
    with pytest.raises(FileNotFoundError):
        sherry.gguf.load(tmp_path / "missing.gguf")
    nan = make_gguf(tmp_path / "nan.gguf", "--nan-scale")
    with pytest.raises(sherry.FormatError,
                       match="row 0, block 0 is NaN"):
        sherry.gguf.load(nan).packed("blk.0.attn_q.weight")


def test_bad_calls(model, tmp_path, rng):
    g = sherry.gguf.load(model)
    with pytest.raises(KeyError, match="no tensor named 'x'"):
        g.packed("x")
    with pytest.raises(KeyError):
        g.metadata_type("x")
    with pytest.raises(sherry.FormatError, match="has type f32, not stq1_0"):
        g.packed("blk.0.attn_norm.weight")
    with pytest.raises(sherry.FormatError, match="only f32, f16 and bf16"):
        g.numpy("output.weight")
    sherry_layout = sherry.quantize(rng.normal(size=(4, 64)))
    with pytest.raises(sherry.FormatError,
                       match="the weights are in the sherry layout"):
        g.set_packed("w", sherry_layout)
    with pytest.raises(TypeError):
        g.set_packed("w", np.zeros(3))
    with pytest.raises(sherry.FormatError,
                       match="has 10 data bytes; its dims and type need 8"):
        g.set_raw("r", (2,), 0, np.zeros(10, np.uint8))
    with pytest.raises(sherry.FormatError, match="unknown ggml type 99"):
        g.set_raw("r", (2,), 99, np.zeros(8, np.uint8))
    with pytest.raises(ValueError, match="unknown GGUF value type 'u128'"):
        g.set_metadata("k", 1, "u128")
    with pytest.raises(ValueError, match="does not fit GGUF type u8"):
        g.set_metadata("k", 300, "u8")
    with pytest.raises(TypeError, match="cannot infer a GGUF type"):
        g.set_metadata("k", object())
    with pytest.raises(TypeError):
        g.set_array("a", np.zeros(3, np.int32))
    g.set_metadata("general.alignment", 48)
    with pytest.raises(sherry.FormatError,
                       match="general.alignment = 48 is not a power of two"):
        g.save(tmp_path / "never.gguf")
    assert not (tmp_path / "never.gguf").exists()


def test_names_that_are_not_utf8_round_trip_as_bytes(model, tmp_path):
    # GGUF asks for UTF-8, but a file need not keep to it: a key and a
    # tensor name with a byte that is not UTF-8 come back as bytes, look
    # themselves up, and write back unchanged.
    data = model.read_bytes()
    key, name = b"test.u16", b"blk.0.attn_q.weight"
    bad_key, bad_name = b"test.\xff16", b"blk.0.attn_\xfe.weight"
    assert data.count(key) == 1 and data.count(name) == 1
    patched = data.replace(key, bad_key).replace(name, bad_name)
    path = tmp_path / "bytes.gguf"
    path.write_bytes(patched)
    g = sherry.gguf.load(path)
    assert bad_key in g.keys() and "test.u16" not in g.keys()
    assert g.metadata_type(bad_key) == "u16"
    assert g.metadata[bad_key] == sherry.gguf.load(model).metadata["test.u16"]
    assert bad_name in g.tensor_names and bad_name in g
    assert g.tensor(bad_name).type == "stq1_0"
    original = sherry.gguf.load(model)
    np.testing.assert_array_equal(g.raw(bad_name), original.raw(name.decode()))
    np.testing.assert_array_equal(g.packed(bad_name).data,
                                  original.packed(name.decode()).data)
    g.save(tmp_path / "again.gguf")
    assert (tmp_path / "again.gguf").read_bytes() == patched
    g.remove_metadata(bad_key)
    g.remove_tensor(bad_name)
    assert bad_key not in g.keys() and bad_name not in g


def test_alignment_past_the_bound_is_refused(tmp_path):
    # 108 bytes, no tensors, general.alignment = 2^31: the writer once
    # padded the header to 2 GiB.
    path = os.path.join(ROOT, "test", "sherry-pack", "Inputs",
                        "alignment-2gib.gguf")
    with pytest.raises(sherry.FormatError,
                       match="general.alignment = 2147483648 is more than "
                             "the 2097152 bytes this library accepts"):
        sherry.gguf.load(path)
    g = sherry.gguf.GgufFile()
    g.set_metadata("general.alignment", 1 << 22)
    with pytest.raises(sherry.FormatError, match="more than the 2097152"):
        g.save(tmp_path / "never.gguf")
    assert not (tmp_path / "never.gguf").exists()
