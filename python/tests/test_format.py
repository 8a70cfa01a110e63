"""sherry.quantize and PackedWeights against sherry-pack and against the
format definition (docs/format.md)."""

import struct
import subprocess

import numpy as np
import pytest

import reference
import sherry

# (layout, sherry-pack options, quantize keywords)
CASES = [
    ("sherry", [], {}),
    ("sherry", ["--granularity=tensor"], {"granularity": "tensor"}),
    ("sherry", ["--granularity=row"], {"granularity": "row"}),
    ("sherry", ["--granularity=group"], {"granularity": "group"}),
    ("sherry", ["--group-size=32"], {"group_size": 32}),
    ("sherry", ["--granularity=group", "--group-size=256"],
     {"granularity": "group", "group_size": 256}),
    ("stq1_0", [], {}),
    ("stq1_0", ["--granularity=tensor"], {"granularity": "tensor"}),
    ("stq1_0", ["--granularity=row"], {"granularity": "row"}),
    ("stq1_0", ["--group-size=512"], {"group_size": 512}),
]


def _weights(rng, m=6, k=512, dtype=np.float32):
    w = rng.normal(0, 0.05, size=(m, k)).astype(dtype)
    w[0, :4] = 0.0            # a group of zeros: sign(0) = +1, lane 0 zero
    w[1, 4:8] = [0.5, -0.5, 0.5, -0.5]   # ties: the lowest lane
    w[2, :] *= 30.0           # rows of very different magnitude
    return w


def _case_id(case):
    return "-".join([case[0]] + [o.lstrip("-") for o in case[1]])


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_bytes_equal_sherry_pack(case, dtype, rng, tmp_path, sherry_pack):
    layout, options, kwargs = case
    w = _weights(rng, dtype=dtype)
    npy = tmp_path / "w.npy"
    np.save(npy, w)
    cli_file = tmp_path / "cli.sherry"
    report = subprocess.run(
        [sherry_pack, "pack", str(npy), "-o", str(cli_file),
         "--layout=" + layout] + options,
        check=True, capture_output=True, text=True).stdout
    packed = sherry.quantize(w, layout=layout, **kwargs)
    py_file = tmp_path / "py.sherry"
    packed.save(py_file)
    assert py_file.read_bytes() == cli_file.read_bytes()

    fields = dict(line.split(": ", 1) for line in report.splitlines())
    assert fields["bits-per-weight"] == "%.4f" % packed.bits_per_weight
    assert fields["relative-l2-error"] == "%.6f" % packed.projection_error
    assert fields["layout"] == packed.layout
    assert int(fields["data-bytes"]) == packed.bytes.size


@pytest.mark.parametrize("layout,granularity,group_size", [
    ("sherry", "tensor", None), ("sherry", "row", None),
    ("sherry", "group", 64), ("stq1_0", "row", None),
    ("stq1_0", "group", 256)])
def test_matches_format_definition(layout, granularity, group_size, rng):
    w = _weights(rng)
    m, k = w.shape
    packed = sherry.quantize(w, layout=layout, granularity=granularity,
                             group_size=group_size)
    t, scales = reference.ternarize(w, layout, granularity, group_size)

    # Ternary values: exactly the projection of section 1.
    np.testing.assert_array_equal(packed.unpack(), t)
    # 3:4 sparsity in every group of the layout.
    groups = packed.unpack()[:, reference.group_elements(layout, k)]
    assert np.all(np.sum(groups == 0, axis=2) == 1)
    # The bytes decode (sections 2, 3) to the same values.
    assert packed.data.shape == (m, packed.row_bytes)
    if layout == "sherry":
        assert packed.row_bytes == 5 * k // 32
        np.testing.assert_array_equal(
            reference.decode_sherry_rows(packed.data, k), t)
        assert packed.scales.dtype == np.float32
        np.testing.assert_allclose(packed.scales.reshape(-1), scales,
                                   rtol=1e-6)
        expected_shape = {"tensor": (1,), "row": (m,),
                          "group": (m, k // (group_size or 1))}[granularity]
        assert packed.scales.shape == expected_shape
    else:
        assert packed.row_bytes == 42 * k // 256
        decoded, d = reference.decode_stq1_0_rows(packed.data, k)
        np.testing.assert_array_equal(decoded, t)
        # One f16 scale per block: the L2 scale of its region, rounded.
        region = reference.scale_region(granularity, group_size, m, k)
        block_scales = scales[region[:, ::256]]
        np.testing.assert_array_equal(d, block_scales.astype(np.float16))
        np.testing.assert_array_equal(packed.scales, d.astype(np.float16))
        assert packed.granularity == "group" and packed.group_size == 256

    # Dequantized: W'[m, k] = scale(m, k) * T[m, k], exactly.
    region = reference.scale_region(packed.granularity, packed.group_size,
                                    m, k)
    scale_of = np.asarray(packed.scales, np.float32).reshape(-1)[region]
    np.testing.assert_array_equal(packed.dequantize(),
                                  scale_of * t.astype(np.float32))
    # The projection error is that of the dequantized weights.
    err = np.linalg.norm(w.astype(np.float64) - packed.dequantize()) \
        / np.linalg.norm(w.astype(np.float64))
    assert packed.projection_error == pytest.approx(err, rel=1e-5)


def test_codes_follow_section_2(rng):
    # Every one of the 32 codes, through the packer: the slot nibble and
    # the sign bit of each group are its code.
    groups = []
    for z in range(4):
        for signs in range(8):
            t = [0] * 4
            lanes = [p for p in range(4) if p != z]
            for bit, p in enumerate(lanes):
                t[p] = -1 if (signs >> bit) & 1 else 1
            groups.append(t)
    t = np.array(groups, dtype=np.float32).reshape(1, 128)
    packed = sherry.quantize(t)
    data = packed.data[0]
    for g, group in enumerate(groups):
        slot = (data[g // 2] >> (4 * (g % 2))) & 0xF
        sign = (data[16 + g // 8] >> (g % 8)) & 1
        code = (sign << 4) | slot
        assert code == reference.encode_group(group)
        assert reference.decode_code(code) == group


def test_f16_scales(rng):
    w = _weights(rng, k=256)
    f32 = sherry.quantize(w, granularity="group", group_size=64)
    f16 = sherry.quantize(w, granularity="group", group_size=64,
                          scale_type="f16")
    assert f16.scale_type == "f16" and f16.scales.dtype == np.float16
    np.testing.assert_array_equal(f16.scales, f32.scales.astype(np.float16))
    np.testing.assert_array_equal(f16.data, f32.data)
    m, k = w.shape
    bits = (f16.bytes.size * 8 + 16 * f16.scales.size) / (m * k)
    assert f16.bits_per_weight == pytest.approx(bits)
    assert f32.bits_per_weight == pytest.approx(
        (f32.bytes.size * 8 + 32 * f32.scales.size) / (m * k))


def test_save_load_round_trip(rng, tmp_path):
    for layout, kwargs in [("sherry", {"group_size": 128}),
                           ("sherry", {"granularity": "tensor"}),
                           ("stq1_0", {})]:
        packed = sherry.quantize(_weights(rng), layout=layout, **kwargs)
        path = tmp_path / ("%s.sherry" % layout)
        packed.save(path)
        raw = path.read_bytes()
        # Section 6.1: the header.
        magic, version, lay, gran, reserved, m, k, g, nbytes, nscales = \
            struct.unpack("<8sIIIIqqqQQ", raw[:64])
        assert magic == b"SHERRYW\0" and version == 1 and reserved == 0
        assert lay == sherry.LAYOUTS.index(packed.layout)
        assert gran == sherry.GRANULARITIES.index(packed.granularity)
        assert (m, k) == packed.shape and g == (packed.group_size or 0)
        assert raw[64:64 + nbytes] == packed.bytes.tobytes()
        assert len(raw) == 64 + nbytes + 4 * nscales

        loaded = sherry.load(path)
        assert loaded.shape == packed.shape
        assert loaded.layout == packed.layout
        assert loaded.granularity == packed.granularity
        assert loaded.group_size == packed.group_size
        assert loaded.projection_error is None
        np.testing.assert_array_equal(loaded.data, packed.data)
        np.testing.assert_array_equal(loaded.scales, packed.scales)
        np.testing.assert_array_equal(loaded.unpack(), packed.unpack())
        np.testing.assert_array_equal(loaded.dequantize(),
                                      packed.dequantize())


def test_from_arrays_and_convert(rng):
    w = _weights(rng, k=256)
    packed = sherry.quantize(w, granularity="row")
    rebuilt = sherry.PackedWeights.from_arrays(
        packed.data.view(np.int8), packed.scales, packed.shape)
    np.testing.assert_array_equal(rebuilt.dequantize(), packed.dequantize())

    # Ternary values that obey both groupings convert both ways.
    # In each 64-element chunk, the zero of sherry group b (K 4b..4b+3) at
    # 4b + b // 4 is alone in its stq1_0 group too (K = l + 16p).
    t = np.where(rng.random((4, 256)) < 0.5, -1.0, 1.0).astype(np.float32)
    b = np.arange(64)
    t[:, 4 * b + (b % 16) // 4] = 0.0
    t[1] *= 2.0
    both = sherry.quantize(t, granularity="row")
    stq = both.convert("stq1_0")
    assert stq.layout == "stq1_0"
    np.testing.assert_array_equal(stq.unpack(), both.unpack())
    back = stq.convert("sherry")
    np.testing.assert_array_equal(back.dequantize(), both.dequantize())
    # Random weights do not: the groupings choose different zeros.
    with pytest.raises(sherry.FormatError, match="zero"):
        packed.convert("stq1_0")


def test_torch_tensor(rng):
    torch = pytest.importorskip("torch")
    w = _weights(rng, k=256)
    from_torch = sherry.quantize(torch.from_numpy(w).to(torch.bfloat16))
    from_numpy = sherry.quantize(
        torch.from_numpy(w).to(torch.bfloat16).float().numpy())
    np.testing.assert_array_equal(from_torch.data, from_numpy.data)


@pytest.mark.parametrize("layout,k,needed", [("sherry", 48, "32"),
                                             ("stq1_0", 288, "256")])
def test_bad_k(layout, k, needed):
    with pytest.raises(sherry.FormatError, match="multiple of " + needed):
        sherry.quantize(np.ones((2, k), np.float32), layout=layout)


def test_bad_weights():
    w = np.ones((3, 64), np.float32)
    w[2, 17] = np.nan
    with pytest.raises(sherry.FormatError, match="NaN weight at row 2, "
                                                 "column 17"):
        sherry.quantize(w)
    w[2, 17] = np.inf
    with pytest.raises(sherry.FormatError, match="infinite"):
        sherry.quantize(w)
    with pytest.raises(sherry.FormatError, match="2-D"):
        sherry.quantize(np.ones(64, np.float32))
    with pytest.raises(TypeError, match="floating point"):
        sherry.quantize(np.ones((2, 64), np.int32))
    with pytest.raises(sherry.FormatError):
        sherry.quantize(np.ones((0, 64), np.float32))


def test_bad_options():
    w = np.ones((2, 256), np.float32)
    with pytest.raises(ValueError, match="unknown layout"):
        sherry.quantize(w, layout="q4_0")
    with pytest.raises(ValueError, match="unknown granularity"):
        sherry.quantize(w, granularity="column")
    with pytest.raises(ValueError, match="needs granularity='group'"):
        sherry.quantize(w, granularity="row", group_size=64)
    with pytest.raises(sherry.FormatError, match="100"):
        sherry.quantize(w, group_size=100)
    with pytest.raises(sherry.FormatError):
        sherry.quantize(w, layout="stq1_0", group_size=128)
    with pytest.raises(ValueError, match="f16"):
        sherry.quantize(w, layout="stq1_0", scale_type="f32")


def test_bad_files(tmp_path, rng):
    with pytest.raises(FileNotFoundError):
        sherry.load(tmp_path / "missing.sherry")
    good = tmp_path / "good.sherry"
    sherry.quantize(_weights(rng, k=256)).save(good)
    raw = good.read_bytes()
    for name, data in [
            ("truncated", raw[:-3]),
            ("magic", b"NOTSHERY" + raw[8:]),
            ("version", raw[:8] + struct.pack("<I", 7) + raw[12:]),
            ("layout", raw[:12] + struct.pack("<I", 9) + raw[16:]),
            ("short", raw[:20]),
            ("empty", b"")]:
        path = tmp_path / (name + ".sherry")
        path.write_bytes(data)
        with pytest.raises(sherry.FormatError) as info:
            sherry.load(path)
        assert name + ".sherry" in str(info.value)
    with pytest.raises(sherry.FormatError):
        sherry.quantize(_weights(rng, k=256)).save(tmp_path / "no" / "dir")
    with pytest.raises(sherry.FormatError, match="data bytes"):
        sherry.PackedWeights.from_arrays(np.zeros(7, np.uint8),
                                         np.ones(2, np.float32), (2, 32))


@pytest.mark.parametrize("order,block", [("lanes", 4), ("pairs", 1),
                                         ("words", 8)])
@pytest.mark.parametrize("grouping", ["sherry", "stq1_0"])
def test_tables_layout(order, block, grouping, rng, tmp_path, sherry_pack):
    # The table kernels' order: the same values, the bytes sherry-pack
    # writes, a file that reads back, and the canonical bytes again.
    w = rng.normal(size=(45, 512)).astype(np.float32)
    canonical = sherry.quantize(w, layout=grouping)
    tables = sherry.quantize(w, layout="tables", grouping=grouping,
                             table_order=order, tile_block=block)
    assert (tables.layout, tables.grouping, tables.table_order,
            tables.tile_block) == ("tables", grouping, order, block)
    assert tables.row_bytes is None and tables.data.ndim == 1
    np.testing.assert_array_equal(tables.unpack(), canonical.unpack())
    np.testing.assert_array_equal(tables.dequantize(),
                                  canonical.dequantize())
    back = tables.convert(grouping)
    np.testing.assert_array_equal(back.data, canonical.data)
    path = tmp_path / "w.sherry"
    canonical.save(path)
    cli = tmp_path / "w.tables"
    subprocess.run([sherry_pack, "convert", str(path), "-o", str(cli),
                    "--layout=tables", "--table-order=" + order,
                    "--tile-block=%d" % block], check=True,
                   capture_output=True)
    tables.save(tmp_path / "py.tables")
    assert (tmp_path / "py.tables").read_bytes() == cli.read_bytes()
    loaded = sherry.load(cli)
    assert loaded.layout == "tables" and loaded.table_order == order
    np.testing.assert_array_equal(loaded.data, tables.data)
    again = sherry.PackedWeights.from_arrays(
        tables.data, tables.scales, tables.shape, layout="tables",
        granularity=tables.granularity, group_size=tables.group_size,
        grouping=grouping, table_order=order, tile_block=block)
    np.testing.assert_array_equal(again.unpack(), canonical.unpack())


def test_tables_layout_errors(rng):
    p = sherry.quantize(rng.normal(size=(8, 96)).astype(np.float32))
    with pytest.raises(sherry.FormatError, match="tile block is 0"):
        p.convert("tables", tile_block=0)
    with pytest.raises(sherry.FormatError,
                       match="multiples of 64; got K = 96"):
        p.convert("tables", "words")
    with pytest.raises(ValueError, match="unknown table order 'nibbles'"):
        p.convert("tables", "nibbles")
    t = p.convert("tables")
    bad = t.data.copy()
    bad[-1] ^= 1          # the last row count of negative groups
    with pytest.raises(sherry.FormatError,
                       match="count of negative groups of row 31"):
        sherry.PackedWeights.from_arrays(bad, t.scales, t.shape,
                                         layout="tables")
    with pytest.raises(sherry.FormatError, match="expected 512 data bytes"):
        sherry.PackedWeights.from_arrays(bad[:-1], t.scales, t.shape,
                                         layout="tables")
