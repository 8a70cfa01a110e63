"""sherry.torch: SherryLinear, sherrify, fake_quant_reference and
export_mlir, against the independent numpy reading of docs/format.md
(reference.py) and the float fake-quant reference."""

import copy
import gc
import glob
import io
import os
import re
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import reference  # noqa: E402
import sherry  # noqa: E402
import sherry.torch as st  # noqa: E402
from conftest import ROOT  # noqa: E402

# (quantization options, K)
CONFIGS = [
    ({}, 96),
    ({"granularity": "tensor"}, 64),
    ({"group_size": 64}, 256),
    ({"group_size": 128, "scale_type": "f16"}, 256),
    ({"layout": "stq1_0"}, 512),
]
LEAD_SHAPES = [(1,), (3,), (2, 5)]


def _linear(k, m, bias, seed=0):
    torch.manual_seed(seed)
    layer = nn.Linear(k, m, bias=bias)
    with torch.no_grad():
        layer.weight.normal_(0, 1 / np.sqrt(k))
        if bias:
            layer.bias.normal_(0, 1)
    return layer


def _input(lead, k, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*lead, k, generator=g)
    flat = x.view(-1, k)
    flat[0, :] = 3.0            # every activation quantizes to +127
    if flat.shape[0] > 1:
        flat[1, 7] = 40.0       # an outlier squeezes the rest of its row
    return x


def _magnitude(layer, x):
    """|x'| |W'|^T + |b| in float64 (int8 mode: x' the dequantized int8
    activations): the scale of the rounding errors of any summation
    order, so `1e-6 * _magnitude` is a relative bound that cancellation
    cannot break."""
    q, s = st.quantize_activations(x.reshape(-1, layer.in_features))
    xd = q.double() * s.double()[:, None]
    w = torch.from_numpy(layer.packed.dequantize()).double()
    mag = xd.abs() @ w.abs().T
    if layer.bias is not None:
        mag = mag + layer.bias.double().abs()[None, :]
    return mag.reshape(*x.shape[:-1], layer.out_features)


@pytest.mark.parametrize("options,k", CONFIGS, ids=lambda v: str(v))
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_int8_matches_reference(options, k, bias):
    linear = _linear(k, 40, bias)
    layer = st.SherryLinear.from_linear(linear, mode="int8", **options)
    assert layer.in_features == k and layer.out_features == 40
    assert (layer.bias is not None) == bias
    b = None if not bias else linear.bias.detach().numpy()
    for lead in LEAD_SHAPES:        # one compilation, every batch shape
        x = _input(lead, k)
        y = layer(x)
        assert isinstance(y, torch.Tensor)
        assert y.shape == (*lead, 40) and y.dtype == torch.float32
        assert not y.requires_grad
        # Bit for bit the int8 arithmetic of docs/format.md section 7 ...
        emulated = reference.matmul_reference(
            x.reshape(-1, k).numpy(), layer.packed, "int8", None, b)
        np.testing.assert_array_equal(y.reshape(-1, 40).numpy(), emulated)
        # ... and within 1e-6 (relative to the magnitude of the sum) of
        # the fake-quant float reference, with the weights quantized anew
        # from the nn.Linear.
        ref = st.fake_quant_reference(linear, x, mode="int8", **options)
        assert ref.shape == y.shape and ref.dtype == torch.float32
        err = (y.double() - ref.double()).abs()
        assert torch.all(err <= 1e-6 * _magnitude(layer, x))


@pytest.mark.parametrize("options,k", CONFIGS, ids=lambda v: str(v))
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_exact_matches_reference(options, k, bias):
    linear = _linear(k, 24, bias)
    layer = st.SherryLinear.from_linear(linear, mode="exact", **options)
    for lead in LEAD_SHAPES:
        x = _input(lead, k)
        y = layer(x)
        assert y.shape == (*lead, 24)
        ref = st.fake_quant_reference(linear, x, mode="exact", **options)
        assert torch.all((y - ref).abs() <= 1e-4 * (1 + ref.abs()))
        # The layer's own reference is the same computation.
        torch.testing.assert_close(layer.reference(x), ref, rtol=0, atol=0)


def test_quantize_activations_is_section_7():
    x = _input((6,), 64, seed=5)
    x[3] = 0.0                      # an all-zero row: scale 0, q = 0
    x[4, :4] = torch.tensor([127.0, 2.5, 3.5, -2.5])   # mult = 1: ties
    q, s = st.quantize_activations(x)
    q_ref, s_ref = reference.quantize_activations(x.numpy())
    np.testing.assert_array_equal(q.numpy(), q_ref)
    np.testing.assert_array_equal(s.numpy(), s_ref)
    assert q.dtype == torch.int32 and s.dtype == torch.float32
    assert s[3] == 0 and torch.all(q[3] == 0)
    assert q[4, :4].tolist() == [127, 2, 4, -2]   # half to even


def test_layer_is_one_constant_weight_function():
    linear = _linear(128, 32, True)
    layer = st.SherryLinear.from_linear(linear)
    # Dynamic N, weights/scales/bias inside: x is the only input, and the
    # result is written into the caller's buffer (no copy per call).
    assert layer.mlir.startswith(
        "func.func @forward(%x: tensor<?x128xf32>, %out: memref<?x32xf32>) {")
    assert "materialize_in_destination %y in restrict writable %out" in \
        layer.mlir
    assert "layout<sherry, row> mode<int8>" in layer.mlir
    assert "SherryLinear(in_features=128, out_features=32" in repr(layer)
    assert not list(layer.parameters())
    # An empty batch, a 1-D input and another float dtype.
    assert layer(torch.zeros(0, 128)).shape == (0, 32)
    x = _input((1,), 128)
    np.testing.assert_array_equal(layer(x[0]).numpy(), layer(x)[0].numpy())
    y64 = layer(x.double())
    assert y64.dtype == torch.float64
    np.testing.assert_array_equal(y64.float().numpy(), layer(x).numpy())


def _host_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return set(re.findall(r"\S+", f.read()))
    except OSError:
        return set()


@pytest.mark.skipif(not {"avx512f", "avx512bw", "avx512vbmi",
                         "avx512_vnni"} <= _host_flags(),
                    reason="the x86 kernels need AVX-512 VBMI and VNNI")
def test_constant_weights_get_the_table_kernel():
    # Why the weights are constants: strategy=auto picks the activation
    # table kernel (vpermw on word tables: K = 256, per-row scales) for
    # constant weights, and no decode kernel.
    layer = st.SherryLinear.from_linear(_linear(256, 64, False))
    llvm = sherry.lower_to_llvm(layer.mlir, "target=host")
    assert "llvm.x86.avx512.permvar.hi.512" in llvm
    assert "llvm.x86.avx512.vpdpbusd.512" not in llvm


def test_pipeline_options_give_the_same_bits():
    linear = _linear(256, 64, True)
    x = _input((2, 5), 256)
    y = st.SherryLinear.from_linear(linear)(x)
    for options in ("", "target=host strategy=decode", "threads=2",
                    "kernel=linalg"):
        other = st.SherryLinear.from_linear(linear, pipeline_options=options)
        np.testing.assert_array_equal(other(x).numpy(), y.numpy())


@pytest.mark.parametrize("options,k", CONFIGS, ids=lambda v: str(v))
@pytest.mark.parametrize("mode", st.MODES)
def test_weights_as_arguments_give_the_same_bits(options, k, mode):
    # weights='arguments': the same function on weights passed at run time
    # (in int8 mode in the table kernel's tables layout where the target
    # has one), bit for bit what the constant weights give.
    linear = _linear(k, 40, True)
    const = st.SherryLinear.from_linear(linear, mode=mode, **options)
    args = st.SherryLinear.from_linear(linear, mode=mode,
                                       weights="arguments", **options)
    for lead in LEAD_SHAPES:
        x = _input(lead, k)
        np.testing.assert_array_equal(args(x).numpy(), const(x).numpy())
    assert "arith.constant dense<\"0x" not in args.mlir
    pick = sherry.preferred_table_layout(
        k, "target=host", "group" if options.get("layout") == "stq1_0"
        else options.get("granularity", "group" if "group_size" in options
                         else "row"),
        256 if options.get("layout") == "stq1_0"
        else options.get("group_size"))
    if mode == "int8" and pick is not None:
        assert args.passed.layout == "tables"
        assert (args.passed.table_order, args.passed.tile_block) == pick
        assert "weights=arguments <tables" in repr(args)
    else:
        assert args.passed.layout == args.packed.layout


def test_weights_as_arguments_share_one_compilation():
    # Layers of one shape and layout compile once; their state is the
    # packed weights, as with constants, and loads into either kind.
    a = st.SherryLinear.from_linear(_linear(256, 64, True, seed=1),
                                    weights="arguments")
    b = st.SherryLinear.from_linear(_linear(256, 64, True, seed=2),
                                    weights="arguments")
    assert a._compiled is b._compiled and a.mlir == b.mlir
    x = _input((3,), 256)
    assert not torch.equal(a(x), b(x))
    const = st.SherryLinear.from_linear(_linear(256, 64, True, seed=3))
    const.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(const(x).numpy(), a(x).numpy())
    copied = copy.deepcopy(a)
    assert copied.weights == "arguments"
    np.testing.assert_array_equal(copied(x).numpy(), a(x).numpy())
    with pytest.raises(ValueError, match="unknown weights 'consts'"):
        st.SherryLinear(a.packed, weights="consts")


def test_preferred_table_layout():
    assert sherry.preferred_table_layout(2048, "target=portable") is None
    assert sherry.preferred_table_layout(
        2048, "target=avx2 strategy=decode") is None
    assert sherry.preferred_table_layout(2048, "target=avx2") == ("lanes", 2)
    assert sherry.preferred_table_layout(
        2048, "target=avx2 tile-block=3") == ("lanes", 3)
    assert sherry.preferred_table_layout(2048, "target=neon") == ("lanes", 1)
    assert sherry.preferred_table_layout(2048, "target=avx512-vnni") == (
        "words", 16)
    assert sherry.preferred_table_layout(
        2048, "target=avx512-vnni table-build=call") == ("words", 8)
    # Scale segments of 32 elements: no word tables.
    assert sherry.preferred_table_layout(
        2048, "target=avx512-vnni", "group", 32) == ("pairs", 8)
    assert sherry.preferred_table_layout(
        2048, "target=avx512-bw", "group", 32) == ("lanes", 4)
    with pytest.raises(sherry.CompilerError, match="unknown target 'avx3'"):
        sherry.preferred_table_layout(2048, "target=avx3")
    with pytest.raises(sherry.CompilerError, match="group size"):
        sherry.preferred_table_layout(2048, "target=avx2", "group", 100)
    with pytest.raises(ValueError, match="unknown granularity"):
        sherry.preferred_table_layout(2048, "target=avx2", "rows")


def test_no_autograd():
    layer = st.SherryLinear.from_linear(_linear(64, 8, True))
    x = torch.randn(2, 64, requires_grad=True)
    with pytest.raises(RuntimeError, match="inference-only"):
        layer(x)
    with torch.no_grad():
        y = layer(x)
    assert not y.requires_grad
    layer.eval()
    y2 = layer(x)                   # detached in eval mode
    assert not y2.requires_grad
    np.testing.assert_array_equal(y.numpy(), y2.numpy())


def test_bad_inputs():
    with pytest.raises(ValueError, match="not a multiple of 32"):
        st.SherryLinear.from_linear(nn.Linear(48, 8))
    with pytest.raises(ValueError, match="not a multiple of 256"):
        st.SherryLinear.from_linear(nn.Linear(96, 8), layout="stq1_0")
    with pytest.raises(ValueError, match="group size 128"):
        st.SherryLinear.from_linear(nn.Linear(96, 8), granularity="group")
    with pytest.raises(ValueError, match="unknown mode"):
        st.SherryLinear.from_linear(nn.Linear(32, 8), mode="int4")
    with pytest.raises(TypeError, match="nn.Linear"):
        st.SherryLinear.from_linear(nn.ReLU())
    layer = st.SherryLinear.from_linear(nn.Linear(32, 8))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 32\)"):
        layer(torch.zeros(2, 31))
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.zeros(2, 32, dtype=torch.int32))


class Block(nn.Module):
    """A model with nested modules, a layer K = 48 (not a multiple of 32)
    and a small head."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.mlp = nn.Sequential(nn.Linear(64, 128), nn.SiLU(),
                                 nn.Linear(128, 48), nn.ReLU())
        self.proj = nn.Linear(48, 64)
        self.head = nn.Linear(64, 16, bias=False)

    def forward(self, x):
        return self.head(self.proj(self.mlp(x)))


def _chain(model, x, linear_fn):
    """`model`'s forward with every nn.Linear computed by `linear_fn`."""
    def run(module, h):
        if isinstance(module, (nn.Linear, st.SherryLinear)):
            return linear_fn(module, h)
        return module(h)
    h = x
    for layer in model.mlp:
        h = run(layer, h)
    return run(model.head, run(model.proj, h))


def test_sherrify_int8():
    model = Block()
    original = copy.deepcopy(model)
    report = st.sherrify(model)
    assert report.model is model
    assert report.replaced == [("mlp.0", 64, 128), ("mlp.2", 128, 48),
                               ("head", 64, 16)]
    assert report.left == [("proj", "in_features = 48 is not a multiple "
                            "of 32, which the sherry layout requires")]
    assert "left proj: in_features = 48" in str(report)
    assert isinstance(model.mlp[0], st.SherryLinear)
    assert type(model.proj) is nn.Linear
    x = _input((2, 3), 64)
    with torch.no_grad():
        y = model(x)
        # Every layer as the section-7 emulation of its packed bytes, the
        # rest in torch: the same bits.
        packed = {id(original.mlp[0]): model.mlp[0],
                  id(original.mlp[2]): model.mlp[2],
                  id(original.head): model.head}

        def emulate(linear, h):
            if id(linear) not in packed:
                return linear(h)
            layer = packed[id(linear)]
            b = None if linear.bias is None else linear.bias.numpy()
            flat = h.reshape(-1, linear.in_features).numpy()
            out = reference.matmul_reference(flat, layer.packed, "int8",
                                             None, b)
            return torch.from_numpy(out).reshape(*h.shape[:-1], -1)
        expected = _chain(original, x, emulate)
    assert y.shape == (2, 3, 16)
    np.testing.assert_array_equal(y.numpy(), expected.numpy())


def test_sherrify_exact_against_fake_quant_chain():
    model = Block()
    original = copy.deepcopy(model)
    st.sherrify(model, mode="exact")
    x = _input((4,), 64)

    def fake(linear, h):
        if type(linear) is nn.Linear and linear.in_features % 32:
            return linear(h)
        return st.fake_quant_reference(linear, h, mode="exact")
    with torch.no_grad():
        y = model(x)
        expected = _chain(original, x, fake)
    assert torch.all((y - expected).abs() <= 1e-4 * (1 + expected.abs()))


def test_sherrify_options():
    model = Block()
    report = st.sherrify(model, min_features=32, exclude=["mlp.2"],
                         layout="stq1_0")
    assert report.replaced == []
    assert dict(report.left) == {
        "mlp.0": "in_features = 64 is not a multiple of 256, which the "
                 "stq1_0 layout requires",
        "mlp.2": "excluded",
        "proj": "in_features = 48 is not a multiple of 256, which the "
                "stq1_0 layout requires",
        "head": "16 x 64 is below min_features = 32"}
    # A bare nn.Linear is replaced by a new module; subclasses are left.
    report = st.sherrify(nn.Linear(32, 8), mode="exact")
    assert isinstance(report.model, st.SherryLinear)
    assert report.model.mode == "exact"
    shared = nn.Linear(32, 32)      # one module in two places: one layer
    tied = nn.Sequential(shared, nn.ReLU(), shared)
    report = st.sherrify(tied)
    assert report.replaced == [("0", 32, 32)]
    assert tied[0] is tied[2] and isinstance(tied[0], st.SherryLinear)
    attention = nn.MultiheadAttention(64, 4)
    report = st.sherrify(attention)
    assert report.replaced == []
    assert report.left[0][0] == "out_proj"
    assert "subclass of nn.Linear" in report.left[0][1]


def _sherry_opt():
    path = os.environ.get("SHERRY_OPT")
    if path:
        return path
    pack = os.environ.get("SHERRY_PACK")
    candidates = [os.path.join(os.path.dirname(pack), "sherry-opt")] \
        if pack else []
    candidates += [os.path.join(b, "bin", "sherry-opt")
                   for b in sorted(glob.glob(os.path.join(ROOT, "build*")))]
    for path in candidates:
        if os.path.exists(path):
            return path
    pytest.fail("sherry-opt not found; build it or set SHERRY_OPT")


def _sparsify(text, options):
    done = subprocess.run([_sherry_opt(), "--sherry-sparsify=" + options],
                          input=text, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _mlp(*activations):
    torch.manual_seed(4)
    layers = [nn.Linear(64, 128)]
    widths = [128, 96, 32, 32]
    for i, act in enumerate(activations):
        layers += [act, nn.Linear(widths[i], widths[i + 1],
                                  bias=i % 2 == 1)]
    return nn.Sequential(*layers)


def test_export_mlir_int8_bit_exact():
    # ReLU is exact in torch and in MLIR, so the whole MLP is bit for bit
    # the chain of section-7 matmuls on what sherry.quantize packs.
    mlp = _mlp(nn.ReLU(), nn.ReLU())
    text = st.export_mlir(mlp, torch.zeros(3, 64))
    assert text.startswith("#id")
    assert "func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x32xf32>" \
        in text
    assert text.count("dense_resource<") == 5       # 3 weights, 2 biases
    sparse = _sparsify(text, "mode=int8")
    assert sparse.count("sherry.matmul") == 3
    assert "linalg.matmul" not in sparse
    module = sherry.compile(sparse, "target=host")
    for lead in ((1,), (5,)):
        x = _input(lead, 64)
        h = x.numpy()
        for layer in mlp:
            if isinstance(layer, nn.Linear):
                b = None if layer.bias is None else \
                    layer.bias.detach().numpy()
                h = reference.matmul_reference(
                    h, sherry.quantize(layer.weight), "int8", None, b)
            else:
                h = np.maximum(h, np.float32(0))
        np.testing.assert_array_equal(module.forward(x.numpy()), h)


@pytest.mark.parametrize("granularity", ["row", "group"])
def test_export_mlir_exact_with_activations(granularity):
    mlp = _mlp(nn.SiLU(), nn.GELU(), nn.GELU(approximate="tanh"))
    options = {"granularity": granularity}
    sparse_options = "mode=exact granularity=" + granularity
    if granularity == "group":
        options["group_size"] = 32
        sparse_options += " group-size=32"
    text = st.export_mlir(mlp, torch.zeros(2, 3, 64), dynamic_batch=False)
    assert "func.func @forward(%x: tensor<6x64xf32>) -> tensor<6x32xf32>" \
        in text
    sparse = _sparsify(text, sparse_options)
    assert sparse.count("sherry.matmul") == 4
    module = sherry.compile(sparse, "target=host")
    x = _input((6,), 64)
    with torch.no_grad():
        h = x
        for layer in mlp:
            if isinstance(layer, nn.Linear):
                h = st.fake_quant_reference(layer, h, mode="exact",
                                            **options)
            else:
                h = layer(h)
    y = module.forward(x.numpy())
    assert np.all(np.abs(y - h.numpy()) <= 1e-4 * (1 + np.abs(h.numpy())))


def test_export_mlir_single_linear_and_errors():
    linear = _linear(32, 8, True)
    text = st.export_mlir(linear, torch.zeros(32))
    module = sherry.compile(_sparsify(text, "mode=exact"))
    x = _input((2,), 32)
    ref = st.fake_quant_reference(linear, x, mode="exact")
    y = module.forward(x.numpy())
    assert np.all(np.abs(y - ref.numpy()) <= 1e-4 * (1 + np.abs(ref.numpy())))
    with pytest.raises(TypeError, match="LayerNorm"):
        st.export_mlir(nn.Sequential(nn.Linear(32, 8), nn.LayerNorm(8)),
                       torch.zeros(1, 32))
    with pytest.raises(ValueError, match="takes 32 features, but gets 64"):
        st.export_mlir(linear, torch.zeros(1, 64))


# --- ternary_projection: the format's projection in torch ----------------

@pytest.mark.parametrize("options,k", [
    ({}, 96),
    ({"granularity": "tensor"}, 64),
    ({"granularity": "group"}, 256),
    ({"granularity": "group", "group_size": 32}, 96),
    ({"scale_type": "f16"}, 128),
    ({"granularity": "group", "group_size": 64, "scale_type": "f16"}, 128),
], ids=lambda v: str(v))
def test_ternary_projection_is_the_format_library(options, k):
    rng = np.random.default_rng(7)
    for scale in (1.0, 1e-3, 300.0):
        w = (scale * rng.standard_normal((33, k))).astype(np.float32)
        # Ties (the lowest lane of equal magnitudes becomes the zero),
        # signed zeros (sign(0) = +1), an all-zero row and group, and a
        # row of one repeated value.
        w[0, :8] = [0.5, -0.5, 0.5, 0.5, 0.0, -0.0, 0.0, 0.0]
        w[1, 4:8] = [-1.0, 2.0, -1.0, 3.0]
        w[2] = 0.0
        w[3] = -0.25
        w[4, :k // 2] = 0.0
        expected = sherry.quantize(w, **options).dequantize()
        projected = st.ternary_projection(torch.from_numpy(w), **options)
        assert projected.dtype == torch.float32
        np.testing.assert_array_equal(projected.numpy(), expected)
    # float64 and float16 weights project as their float32 values.
    w = rng.standard_normal((8, k))
    np.testing.assert_array_equal(
        st.ternary_projection(torch.from_numpy(w), **options).numpy(),
        sherry.quantize(w.astype(np.float32), **options).dequantize())


def test_ternary_projection_onto_stq1_0_is_the_format_library():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((9, 512)).astype(np.float32)
    w[0, :64] = 0.5                 # ties across a group's 16-apart lanes
    w[1, ::3] = -0.25
    w[2, 256:] = 0.0
    expected = sherry.quantize(w, "stq1_0").dequantize()
    projected = st.ternary_projection(torch.from_numpy(w), layout="stq1_0")
    np.testing.assert_array_equal(projected.numpy(), expected)
    with pytest.raises(ValueError, match="not a multiple of 256"):
        st.ternary_projection(torch.zeros(4, 128), layout="stq1_0")
    with pytest.raises(ValueError, match="leave granularity"):
        st.ternary_projection(torch.zeros(4, 256), "tensor", layout="stq1_0")
    with pytest.raises(ValueError, match="unknown layout 'tables'"):
        st.ternary_projection(torch.zeros(4, 256), layout="tables")


def test_ternary_projection_with_the_ste_and_errors():
    w = torch.randn(16, 64, requires_grad=True)
    projected = st.ternary_projection(w)
    assert not projected.requires_grad
    # The straight-through estimator: forward alpha T, gradient identity.
    w_q = w + (projected - w).detach()
    torch.testing.assert_close(w_q, projected, rtol=0, atol=1e-6)
    w_q.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))
    with pytest.raises(ValueError, match="not a multiple of 32"):
        st.ternary_projection(torch.zeros(4, 48))
    with pytest.raises(ValueError, match="group size 128"):
        st.ternary_projection(torch.zeros(4, 64), granularity="group")
    with pytest.raises(ValueError, match="needs granularity='group'"):
        st.ternary_projection(torch.zeros(4, 64), group_size=32)
    with pytest.raises(ValueError, match="2-D"):
        st.ternary_projection(torch.zeros(64))
    with pytest.raises(TypeError, match="floating point"):
        st.ternary_projection(torch.zeros(4, 64, dtype=torch.int32))
    bad = torch.zeros(4, 64)
    bad[3, 9] = float("nan")
    with pytest.raises(ValueError, match="NaN weight at row 3, column 9"):
        st.ternary_projection(bad)
    bad[3, 9] = float("inf")
    with pytest.raises(ValueError, match="infinite weight at row 3"):
        st.ternary_projection(bad, granularity="tensor")


# --- state_dict, load_state_dict, pickling, .to() ------------------------

@pytest.mark.parametrize("options,k", CONFIGS, ids=lambda v: str(v))
def test_state_dict_round_trip(options, k):
    layer = st.SherryLinear.from_linear(_linear(k, 24, True), **options)
    state = layer.state_dict()
    assert sorted(state) == ["bias", "weight_format", "weight_packed",
                             "weight_scales"]
    p = layer.packed
    assert state["weight_packed"].dtype == torch.uint8
    np.testing.assert_array_equal(state["weight_packed"].numpy(), p.data)
    assert state["weight_scales"].dtype == torch.float32
    np.testing.assert_array_equal(state["weight_scales"].numpy(),
                                  p.scales.astype(np.float32))
    assert state["weight_format"].tolist() == [
        sherry.LAYOUTS.index(p.layout),
        sherry.GRANULARITIES.index(p.granularity), p.group_size or 0,
        sherry.SCALE_TYPES.index(p.scale_type), 24, k]
    # Loading into a layer of other weights (and, for the sherry layout,
    # another granularity) recompiles it with the saved ones.
    other = st.SherryLinear.from_linear(_linear(k, 24, True, seed=9),
                                        granularity="tensor"
                                        if "layout" not in options else None,
                                        **{o: v for o, v in options.items()
                                           if o == "layout"})
    x = _input((2, 3), k)
    assert not torch.equal(other(x), layer(x))
    result = other.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(other(x), layer(x))
    assert other.mlir == layer.mlir
    assert repr(other.packed) == repr(layer.packed)
    np.testing.assert_array_equal(other.packed.data, p.data)
    # torch.save / torch.load of the state and of the whole module.
    buffer = io.BytesIO()
    torch.save({"state": state, "model": nn.Sequential(layer, nn.ReLU())},
               buffer)
    buffer.seek(0)
    saved = torch.load(buffer)
    assert torch.equal(saved["model"](x), torch.relu(layer(x)))
    assert saved["model"][0].mode == layer.mode
    fresh = st.SherryLinear.from_linear(_linear(k, 24, True, seed=9),
                                        **options)
    fresh.load_state_dict(saved["state"])
    assert torch.equal(fresh(x), layer(x))


def test_state_dict_of_a_model():
    model = Block()
    st.sherrify(model)
    state = model.state_dict()
    assert "mlp.0.weight_packed" in state and "proj.weight" in state
    assert "head.bias" not in state             # the head has no bias
    x = _input((2, 3), 64)
    with torch.no_grad():
        y = model(x)
    other = Block()
    with torch.no_grad():
        for p in other.parameters():
            p.mul_(-1)
    st.sherrify(other)
    with torch.no_grad():
        assert not torch.equal(other(x), y)
        other.load_state_dict(state)
        assert torch.equal(other(x), y)
        assert torch.equal(copy.deepcopy(model)(x), y)


def test_load_sherrified_compiles_once_and_never_quantizes(monkeypatch):
    model = Block()
    st.sherrify(model)
    state = model.state_dict()
    single = st.SherryLinear.from_linear(_linear(64, 8, True, seed=3))
    x = _input((2, 3), 64)
    with torch.no_grad():
        y = model(x)
        y_single = single(x)
    compiles = []
    real_compile = sherry.compiler.compile
    monkeypatch.setattr(sherry.compiler, "compile",
                        lambda *a, **k: compiles.append(1) or
                        real_compile(*a, **k))

    def no_quantize(*args, **kwargs):
        raise AssertionError("load_sherrified quantized weights")
    monkeypatch.setattr(sherry.format, "quantize", no_quantize)
    # Dense layers left uninitialized: their weights are never read.
    fresh = Block()
    for name, module in list(fresh.named_modules()):
        for child_name, child in list(module.named_children()):
            if type(child) is nn.Linear:
                setattr(module, child_name, torch.nn.utils.skip_init(
                    nn.Linear, child.in_features, child.out_features,
                    bias=child.bias is not None))
    loaded = st.load_sherrified(fresh, state)
    assert loaded is fresh
    layers = [m for m in fresh.modules() if isinstance(m, st.SherryLinear)]
    assert len(compiles) == len(layers) > 0
    with torch.no_grad():
        assert torch.equal(fresh(x), y)
    # A single layer comes back as a new SherryLinear.
    one = st.load_sherrified(_linear(64, 8, True), single.state_dict())
    assert isinstance(one, st.SherryLinear)
    with torch.no_grad():
        assert torch.equal(one(x), y_single)


def test_sherrify_state_dict_matches_sherrify():
    # A dense state dict converted without building any SherryLinear gives
    # sherrify's state dict byte for byte, in the same order, and
    # load_sherrified runs it as the sherrified model runs.
    dense = Block().state_dict()
    for options in ({}, dict(layout="stq1_0", exclude=("head",)),
                    dict(granularity="group", group_size=32,
                         scale_type="f16", min_features=64)):
        expected_model = Block()
        expected = st.sherrify(expected_model, **options)
        meta = Block().to("meta")
        converted, report = st.sherrify_state_dict(dense, meta, **options)
        state = expected_model.state_dict()
        assert list(converted) == list(state)
        for key in state:
            assert torch.equal(converted[key], state[key]), key
        assert report.replaced == expected.replaced
        assert report.left == expected.left
        x = _input((3,), 64)
        loaded = st.load_sherrified(Block(), converted)
        with torch.no_grad():
            assert torch.equal(loaded(x), expected_model(x))
    # Without a model, by name; the dense dict is untouched.
    converted, report = st.sherrify_state_dict(
        dense, include=("mlp.*", "proj", "head"), exclude="mlp.2")
    assert [r[0] for r in report.replaced] == ["mlp.0", "head"]
    assert report.left == [("mlp.2", "excluded"),
                           ("proj", st.unsupported_reason(48))]
    assert "mlp.2.weight" in converted and "proj.weight" in converted
    assert "head.weight_packed" in converted
    assert "mlp.0.weight" not in converted and "mlp.0.weight" in dense
    # bf16 weights quantize as their f32 values.
    half = {k: v.to(torch.bfloat16) for k, v in dense.items()}
    converted, _ = st.sherrify_state_dict(half, include="head")
    expected = sherry.format.quantize(dense["head.weight"].to(
        torch.bfloat16).float().numpy())
    assert np.array_equal(converted["head.weight_packed"].numpy(),
                          expected.data)


def test_sherrify_state_dict_errors():
    dense = Block().state_dict()
    with pytest.raises(ValueError, match="needs `model` or `include`"):
        st.sherrify_state_dict(dense)
    partial = dict(dense)
    del partial["proj.weight"]
    with pytest.raises(ValueError, match="no proj.weight for the linear "
                                         "layer proj"):
        st.sherrify_state_dict(partial, Block())
    wrong = dict(dense, **{"proj.weight": torch.zeros(64, 64)})
    with pytest.raises(ValueError, match="proj.weight is 64x64, but the "
                                         "layer is 64 x 48"):
        st.sherrify_state_dict(wrong, Block())
    # A layer the layout cannot take is left, with the reason.
    _, report = st.sherrify_state_dict(dense, Block(), layout="stq1_0")
    assert ("mlp.0", st.unsupported_reason(64, "stq1_0")) in report.left
    nan = dict(dense, **{"head.weight": torch.full((16, 64), np.nan)})
    with pytest.raises(sherry.SherryError, match="finite|NaN"):
        st.sherrify_state_dict(nan, include="head")


def test_load_sherrified_errors():
    model = Block()
    st.sherrify(model)
    state = model.state_dict()
    with pytest.raises(RuntimeError, match='Unexpected key.*"junk"'):
        st.load_sherrified(Block(), dict(state, junk=torch.zeros(1)))
    st.load_sherrified(Block(), dict(state, junk=torch.zeros(1)),
                       strict=False)
    missing = dict(state)
    del missing["proj.weight"]
    with pytest.raises(RuntimeError, match='Missing key.*"proj.weight"'):
        st.load_sherrified(Block(), missing)
    broken = dict(state)
    broken["mlp.0.weight_packed"] = state["mlp.0.weight_packed"][:, :-1]
    with pytest.raises(RuntimeError, match="mlp.0: .*data bytes"):
        st.load_sherrified(Block(), broken)
    partial = dict(state)
    del partial["mlp.0.weight_scales"]
    with pytest.raises(RuntimeError, match="mlp.0: missing "
                                           "mlp.0.weight_scales"):
        st.load_sherrified(Block(), partial)


def test_load_state_dict_errors():
    layer = st.SherryLinear.from_linear(_linear(64, 8, True))
    x = _input((2,), 64)
    y = layer(x)
    good = layer.state_dict()
    # Another shape.
    wide = st.SherryLinear.from_linear(_linear(96, 8, True)).state_dict()
    with pytest.raises(RuntimeError, match=r"the weights are 8 x 96, but "
                                           r"the layer is 8 x 64"):
        layer.load_state_dict(wide)
    # Bytes or scales that do not fit, a bad format entry.
    bad = dict(good, weight_packed=good["weight_packed"][:, :-1])
    with pytest.raises(RuntimeError, match="While loading the SherryLinear"):
        layer.load_state_dict(bad)
    bad = dict(good, weight_scales=good["weight_scales"][:4])
    with pytest.raises(RuntimeError, match="While loading the SherryLinear"):
        layer.load_state_dict(bad)
    fmt = good["weight_format"].clone()
    fmt[0] = 7
    with pytest.raises(RuntimeError, match="layout 7"):
        layer.load_state_dict(dict(good, weight_format=fmt))
    # f16 scales that are not f16 values.
    half = st.SherryLinear.from_linear(_linear(64, 8, True),
                                       scale_type="f16").state_dict()
    half["weight_scales"] = half["weight_scales"] * (1 + 2 ** -20)
    with pytest.raises(RuntimeError, match="disagree"):
        layer.load_state_dict(half)
    # Missing and unexpected keys, strict or not.
    partial = {k: v for k, v in good.items() if k != "weight_scales"}
    with pytest.raises(RuntimeError, match="Missing key.*weight_scales"):
        layer.load_state_dict(partial)
    result = layer.load_state_dict(partial, strict=False)
    assert result.missing_keys == ["weight_scales"]     # and nothing loaded
    with pytest.raises(RuntimeError, match="Unexpected key.*weight\""):
        layer.load_state_dict(dict(good, weight=torch.zeros(8, 64)))
    nobias = st.SherryLinear.from_linear(_linear(64, 8, False))
    with pytest.raises(RuntimeError, match="Unexpected key.*bias"):
        nobias.load_state_dict(good)
    # None of that changed the layer.
    assert torch.equal(layer(x), y)


def test_to_and_friends():
    layer = st.SherryLinear.from_linear(_linear(64, 8, True),
                                        scale_type="f16")
    x = _input((3,), 64)
    y = layer(x)
    model = nn.Sequential(layer, nn.ReLU())
    assert model.to("cpu") is model
    assert model.to(torch.float32).float().cpu() is model
    model.share_memory()
    assert torch.equal(layer(x), y)
    assert layer.weight_scales.dtype == torch.float32
    assert layer.packed.scale_type == "f16"
    for move in (lambda: model.half(), lambda: model.double(),
                 lambda: model.to(torch.bfloat16),
                 lambda: layer.to("meta"),
                 lambda: layer.to("cpu", torch.float16)):
        with pytest.raises(RuntimeError,
                           match="runs compiled code on the CPU in float32"):
            move()
    if torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="cannot be moved to"):
            layer.cuda()
    # Still the same layer, on float32 CPU buffers.
    assert all(b.device.type == "cpu" for b in layer.buffers())
    assert layer.weight_scales.dtype == torch.float32
    assert torch.equal(layer(x), y)
    # Inputs of other dtypes still work (computed in float32).
    assert layer(x.double()).dtype == torch.float64


def test_tracing_records_the_op():
    # torch.jit.trace, torch.fx and torch.onnx see sherry::linear, not the
    # numpy code behind it: a traced model computes every new input (a
    # constant result once came back for every input).
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 96), nn.ReLU(), nn.Linear(96, 32))
    st.sherrify(model)
    model.eval()
    a, b = _input((3,), 64, seed=1), _input((5,), 64, seed=2)
    with torch.no_grad():
        traced = torch.jit.trace(model, a)
        assert "sherry::linear" in str(traced.inlined_graph)
        np.testing.assert_array_equal(traced(b).numpy(), model(b).numpy())
        graph = torch.fx.symbolic_trace(model)
        assert "torch.ops.sherry.linear" in graph.code
        np.testing.assert_array_equal(graph(b).numpy(), model(b).numpy())
        # No ONNX form of the op: an error, not a graph of one constant.
        with pytest.raises(Exception, match="sherry"):
            torch.onnx.export(model, a, io.BytesIO())
    # A copy calls its own compiled code, also after the original is gone.
    layer = st.SherryLinear.from_linear(_linear(64, 16, True))
    x = _input((2,), 64)
    want = layer(x)
    copied = copy.deepcopy(layer)
    assert copied._op_id != layer._op_id
    del layer
    np.testing.assert_array_equal(copied(x).numpy(), want.numpy())
    gone = st.SherryLinear.from_linear(_linear(64, 16, False))
    recorded = torch.jit.trace(gone, x)
    del gone
    gc.collect()
    # (TorchScript drops the message of an error raised in Python.)
    with pytest.raises(RuntimeError):
        recorded(x)
    with pytest.raises(RuntimeError, match="no longer exists"):
        torch.ops.sherry.linear(x, 10 ** 9)


def test_arenas_lambda():
    values = [st.arenas_lambda(s, 100) for s in range(100)]
    assert values[0] == 0.0 and values[10] == 1.0
    assert all(a >= b for a, b in zip(values[10:70], values[11:71]))
    assert values[69] > 0 and values[70:] == [0.0] * 30
    assert st.arenas_lambda(5, 100, lambda_max=2.0) == 1.0
    with pytest.raises(ValueError, match="warmup <= anneal_end"):
        st.arenas_lambda(0, 100, warmup=0.8, anneal_end=0.5)
