"""sherry.torch: run torch.nn.Linear layers on Sherry's packed kernels.

``SherryLinear`` replaces an ``nn.Linear`` for inference: the weights are
ternarized and packed by the format library (``sherry.quantize``) and one
``sherry.matmul`` function is compiled by ``--sherry-to-llvm`` with the
packed weights, scales and bias as compile-time constants. ``sherrify``
swaps every eligible ``nn.Linear`` of a model, ``sherrify_state_dict``
converts a dense state dict without building the model, ``load_sherrified``
loads a sherrified state dict into the dense model, ``fake_quant_reference`` is
the float computation a layer stands for, ``ternary_projection`` is the
format's weight projection in torch (for quantization-aware training), and
``export_mlir`` writes Linear + activation stacks as func + linalg IR for
``sherry-sparsify``.

SherryLinear is inference only: it has no gradient (see docs/python.md,
PyTorch). Importing this module needs torch; ``import sherry`` does not.
"""

import fnmatch
import itertools
import math
import re
import weakref

import numpy as np
import torch
import torch.fx
from torch import nn

from . import compiler
from . import errors as _errors
from . import format as _format

__all__ = [
    "SherryLinear", "SherrifyReport", "export_mlir", "fake_quant_reference",
    "load_sherrified", "packed_from_state", "quantize_activations",
    "sherrify", "sherrify_state_dict", "ternary_projection",
    "unsupported_reason",
]

MODES = ("int8", "exact")

# The custom op SherryLinear dispatches through, so that torch.jit.trace,
# torch.fx and torch.onnx see a call (sherry::linear) instead of numpy
# code, which tracing records as a constant result. `layer` names the
# SherryLinear whose compiled code runs (_LAYERS); the Meta kernel gives
# the result's shape without running it.
_LAYERS = weakref.WeakValueDictionary()
_LAYER_IDS = itertools.count(1)
_OPS = torch.library.Library("sherry", "DEF")
_OPS.define("linear(Tensor x, int layer) -> Tensor")


def _layer_of(layer):
    found = _LAYERS.get(layer)
    if found is None:
        raise RuntimeError("sherry::linear: the SherryLinear this call was "
                           "recorded from (layer %d) no longer exists"
                           % layer)
    return found


def _linear_cpu(x, layer):
    """sherry::linear on the CPU: x is N x K float32, contiguous."""
    return _layer_of(layer)._run(x)


def _linear_meta(x, layer):
    return x.new_empty((x.shape[0], _layer_of(layer).out_features))


_OPS.impl("linear", _linear_cpu, "CPU")
_OPS.impl("linear", _linear_meta, "Meta")
# Where a SherryLinear's weights live in the compiled code.
WEIGHTS = ("constant", "arguments")


def _hex(array):
    """A dense elements literal holding `array`'s bytes."""
    return '"0x%s"' % np.ascontiguousarray(array).tobytes().hex().upper()


def _tensor_type(shape, element):
    dims = "x".join("?" if d is None else str(d) for d in shape)
    return "tensor<%sx%s>" % (dims, element)


def _layout_text(packed):
    """The `<...>` of `#sherry.layout` that describes `packed`."""
    if packed.layout == "stq1_0":
        return "<stq1_0>"
    name = "tables" if packed.layout == "tables" else "sherry"
    if packed.granularity == "group":
        text = "%s, group = %d" % (name, packed.group_size)
    else:
        text = "%s, %s" % (name, packed.granularity)
    if packed.scale_type == "f16":
        text += ", scale_type = f16"
    if packed.layout == "tables":
        if packed.grouping == "stq1_0":
            text += ", grouping = stq1_0"
        text += ", order = %s, tile_block = %d" % (packed.table_order,
                                                     packed.tile_block)
    return "<%s>" % text


def unsupported_reason(in_features, layout="sherry", granularity=None,
                       group_size=None):
    """Why a layer with `in_features` inputs cannot use `layout` (a
    sentence), or None where it can."""
    k = in_features
    if layout == "stq1_0":
        if k == 0 or k % 256:
            return ("in_features = %d is not a multiple of 256, which the "
                    "stq1_0 layout requires" % k)
        if group_size is not None and group_size != 256:
            return "the stq1_0 layout has one scale per 256 elements"
        return None
    if layout != "sherry":
        raise ValueError("unknown layout %r; expected 'sherry' or 'stq1_0'"
                         % (layout,))
    if k == 0 or k % 32:
        return ("in_features = %d is not a multiple of 32, which the "
                "sherry layout requires" % k)
    if granularity == "group" or group_size is not None:
        g = 128 if group_size is None else group_size
        if k % g:
            return ("in_features = %d is not a multiple of the group size "
                    "%d" % (k, g))
    return None


class SherryLinear(nn.Module):
    """y = x W'^T + b on packed 1.25-bit weights, compiled for this CPU.

    `packed` is a ``sherry.PackedWeights`` (M x K), `bias` None or M
    floats, `mode` 'int8' (activations quantized per row, bit-exact with
    the format library's reference) or 'exact' (float activations).
    With ``weights='constant'`` the weights, scales and bias are
    compile-time constants of one function taking ``tensor<?xKxf32>``: a
    single compilation serves every batch size. With
    ``weights='arguments'`` they are the function's arguments, which only
    their shapes and layout decide, so that layers of one shape share one
    compilation (a model of a billion weights is not compiled as
    constants); in int8 mode they are passed in the tables layout the
    target's activation-table kernel reads (``preferred_table_layout``),
    as fast as constants (docs/pipelines.md).

    State: the buffers ``weight_packed`` (uint8, M x row bytes),
    ``weight_scales`` (float32, the shape of ``PackedWeights.scales``),
    ``weight_format`` (int64: layout, granularity, group size or 0, scale
    type, M, K; the indices of ``sherry.LAYOUTS``, ``GRANULARITIES`` and
    ``SCALE_TYPES``) and ``bias`` (float32, M, or None) are what
    ``state_dict()`` saves; ``load_state_dict()`` rebuilds the packed
    weights from them (checked by the format library) and recompiles.
    Pickling (``torch.save(model)``, ``copy.deepcopy``) recompiles too.
    `mode`, `pipeline_options` and `weights` belong to the layer, not to
    its state.
    The buffers are a snapshot: changing them in place does not change what
    runs; load a state dict instead.

    Inference only: the layer has no parameters and no gradient. A call on
    an input that requires grad, with grad enabled and the layer in
    training mode, raises RuntimeError; otherwise the input is detached and
    the result never requires grad. Runs on the CPU in float32: ``.to()``
    (``.cuda()``, ``.half()``, ...) to another device or dtype raises
    RuntimeError; inputs of any float dtype are computed in float32 and
    returned in their dtype.
    """

    def __init__(self, packed, bias=None, mode="int8",
                 pipeline_options="target=host", weights="constant"):
        super().__init__()
        if mode not in MODES:
            raise ValueError("unknown mode %r; expected 'int8' or 'exact'"
                             % (mode,))
        if weights not in WEIGHTS:
            raise ValueError("unknown weights %r; expected 'constant' or "
                             "'arguments'" % (weights,))
        self.out_features, self.in_features = packed.shape
        self.mode = mode
        self.pipeline_options = pipeline_options
        self.weights = weights
        self._register()
        self._install(packed, bias)

    def _register(self):
        """A name of its own for sherry::linear calls."""
        self._op_id = next(_LAYER_IDS)
        _LAYERS[self._op_id] = self

    def _install(self, packed, bias):
        """Makes `packed` and `bias` the layer's weights: compiles them,
        then (only once that succeeded) sets the attributes and buffers."""
        m = packed.shape[0]
        if bias is not None:
            bias = torch.as_tensor(bias).detach().to("cpu", torch.float32)
            bias = bias.reshape(-1).clone()
            if bias.numel() != m:
                raise ValueError("bias has %d elements, expected %d"
                                 % (bias.numel(), m))
        if self.weights == "arguments":
            passed = _run_time_weights(packed, self.mode,
                                       self.pipeline_options)
            text = _linear_module_text(passed, bias, self.mode,
                                       arguments=True)
            compiled = _compile_shared(text, self.pipeline_options)
            arrays = [passed.data]
            if passed.layout != "stq1_0":
                arrays.append(passed.scales)
            if bias is not None:
                arrays.append(bias.numpy())
            # The weights' descriptors are built once, not per call.
            self._call_rows = compiled.forward._rows_caller(*arrays)
            self.passed = passed
        else:
            text = _linear_module_text(packed, bias, self.mode)
            compiled = compiler.compile(text, self.pipeline_options)
            self._call_rows = compiled.forward._rows_caller()
            self.passed = packed
        self.packed = packed
        self.mlir = text
        self._compiled = compiled
        for name, tensor in zip(self._STATE, _state_of(packed)):
            self.register_buffer(name, tensor)
        self.register_buffer("bias", bias)

    @classmethod
    def from_linear(cls, linear, layout="sherry", granularity=None,
                    group_size=None, scale_type=None, mode="int8",
                    pipeline_options="target=host", weights="constant"):
        """Quantizes `linear`'s weight with ``sherry.quantize`` (layout,
        granularity, group_size and scale_type as it takes them;
        granularity None: 'row' for sherry, per 256-block for stq1_0) and
        compiles the layer. Raises ValueError where in_features does not
        suit the layout."""
        if not isinstance(linear, nn.Linear):
            raise TypeError("from_linear needs a torch.nn.Linear, got %s"
                            % type(linear).__name__)
        reason = unsupported_reason(linear.in_features, layout, granularity,
                                    group_size)
        if reason is not None:
            raise ValueError(reason)
        packed = _format.quantize(linear.weight, layout=layout,
                                  granularity=granularity,
                                  group_size=group_size,
                                  scale_type=scale_type)
        return cls(packed, linear.bias, mode=mode,
                   pipeline_options=pipeline_options, weights=weights)

    # --- state_dict, load_state_dict, pickling, .to() ----------------------

    _STATE = ("weight_packed", "weight_scales", "weight_format")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs)
        names = list(self._STATE) + (["bias"] if self.bias is not None
                                     else [])
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and \
                        key[len(prefix):].split(".", 1)[0] not in names:
                    unexpected_keys.append(key)
        missing = [prefix + n for n in names if prefix + n not in state_dict]
        if missing:
            if strict:
                missing_keys.extend(missing)
            return
        try:
            packed = packed_from_state(state_dict[prefix + "weight_packed"],
                                       state_dict[prefix + "weight_scales"],
                                       state_dict[prefix + "weight_format"])
            if packed.shape != (self.out_features, self.in_features):
                raise ValueError(
                    "the weights are %d x %d, but the layer is %d x %d "
                    "(out_features x in_features)"
                    % (packed.shape + (self.out_features, self.in_features)))
            bias = state_dict.get(prefix + "bias") if self.bias is not None \
                else None
            self._install(packed, bias)
        except (ValueError, TypeError, _errors.SherryError) as e:
            error_msgs.append("While loading the SherryLinear %s: %s"
                              % (prefix.rstrip(".") or "(root)", e))

    def __getstate__(self):
        # The packed weights and the compiled code hold C handles; the
        # buffers hold everything needed to rebuild them.
        state = self.__dict__.copy()
        for name in ("packed", "passed", "_compiled", "_call_rows", "_op_id"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._register()
        packed = packed_from_state(self.weight_packed, self.weight_scales,
                                   self.weight_format)
        self._install(packed, self.bias)

    def _apply(self, fn):
        # .to(), .cuda(), .half(), .double(), ... all come here. The layer
        # runs compiled CPU code on float32 constants: refuse any move that
        # would take a float32 CPU tensor elsewhere, before touching
        # anything.
        probe = fn(torch.zeros(1, dtype=torch.float32))
        if not isinstance(probe, torch.Tensor) or \
                probe.device.type != "cpu" or probe.dtype != torch.float32:
            where = ("%s on %s" % (str(probe.dtype).replace("torch.", ""),
                                   probe.device)
                     if isinstance(probe, torch.Tensor) else repr(probe))
            raise RuntimeError(
                "SherryLinear runs compiled code on the CPU in float32 and "
                "cannot be moved to %s; keep it on the CPU in float32 (its "
                "inputs may have any float dtype: they are computed in "
                "float32 and the results returned in the input's dtype)"
                % where)
        return super()._apply(fn)

    def _run(self, flat):
        """The layer on `flat`, an N x in_features float32 C-contiguous CPU
        tensor: a new N x out_features float32 tensor, which the compiled
        code writes in place."""
        y = torch.empty((flat.shape[0], self.out_features))
        if flat.shape[0]:
            self._call_rows(flat.shape[0], flat.data_ptr(), y.data_ptr())
        return y

    def forward(self, x):
        # The common call first, checked as cheaply as torch allows: the
        # whole call costs about what nn.Linear's does (docs/python.md).
        if (type(x) is torch.Tensor and x.dtype is torch.float32
                and x.dim() == 2 and x.shape[1] == self.in_features
                and not x.requires_grad and x.device.type == "cpu"
                and x.is_contiguous() and not torch.jit.is_tracing()):
            return self._run(x)
        if isinstance(x, torch.fx.Proxy) or torch.jit.is_tracing():
            # Being traced: record the op (the checks below would become
            # constants of the trace, or fail on an fx.Proxy).
            flat = x.reshape(-1, self.in_features).to(torch.float32)
            y = torch.ops.sherry.linear(flat.contiguous(), self._op_id)
            return y.reshape(x.shape[:-1] + (self.out_features,)).to(x.dtype)
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(x)
        if x.requires_grad and torch.is_grad_enabled() and self.training:
            raise RuntimeError(
                "SherryLinear is inference-only and has no gradient; call "
                "it under torch.no_grad() or torch.inference_mode(), or "
                "put the model in eval mode (the input is then detached)")
        if not x.is_floating_point():
            raise TypeError("SherryLinear needs a floating-point input, "
                            "got %s" % x.dtype)
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise ValueError("SherryLinear expects inputs of shape (..., %d),"
                             " got %s" % (self.in_features, tuple(x.shape)))
        if x.device.type != "cpu":
            raise ValueError("SherryLinear runs on the CPU; the input is on "
                             "%s" % x.device)
        # Eager calls run the compiled code directly: the dispatcher's
        # round trip through sherry::linear (there for tracing) cost more
        # than a small layer's kernel.
        flat = x.detach().reshape(-1, self.in_features)
        if flat.dtype != torch.float32:
            flat = flat.to(torch.float32)
        if not flat.is_contiguous():
            flat = flat.contiguous()
        y = self._run(flat)
        if x.dim() != 2:
            y = y.reshape(x.shape[:-1] + (self.out_features,))
        return y if x.dtype == torch.float32 else y.to(x.dtype)

    def reference(self, x):
        """``fake_quant_reference(self, x)``: the float computation this
        layer stands for."""
        return fake_quant_reference(self, x)

    def extra_repr(self):
        p = self.packed
        text = ("in_features=%d, out_features=%d, bias=%s, layout=%s, "
                "mode=%s" % (self.in_features, self.out_features,
                             self.bias is not None, _layout_text(p),
                             self.mode))
        if self.weights == "arguments":
            text += ", weights=arguments %s" % _layout_text(self.passed)
        return text + ", bits_per_weight=%.4f" % p.bits_per_weight


# Modules compiled for weights passed as arguments, by text and options:
# layers of one shape and layout share one compilation.
_SHARED = {}


def _compile_shared(text, pipeline_options):
    key = (text, pipeline_options)
    if key not in _SHARED:
        _SHARED[key] = compiler.compile(text, pipeline_options)
    return _SHARED[key]


def _run_time_weights(packed, mode, pipeline_options):
    """`packed` as a compiled function takes it at run time: in int8 mode,
    in the tables layout the options' table kernel reads
    (``sherry.preferred_table_layout``), so that it runs as fast as
    constant weights; otherwise as it is (the decode kernels)."""
    if mode != "int8":
        return packed
    k = packed.shape[1]
    if packed.layout == "stq1_0":
        pick = compiler.preferred_table_layout(k, pipeline_options, "group",
                                               256)
    else:
        pick = compiler.preferred_table_layout(k, pipeline_options,
                                               packed.granularity,
                                               packed.group_size)
    if pick is None:
        return packed
    return packed.convert("tables", *pick)


def _linear_module_text(p, bias, mode, arguments=False):
    """The function a SherryLinear compiles: `x` times the packed weights
    `p` plus `bias`, written into `out` (a caller's buffer: no result to
    allocate and copy per call), with the weights as constants, or with
    `arguments` as the function's arguments after `out` (weights, scales
    unless stq1_0, bias if any), which only their shapes and layout then
    decide."""
    m, k = p.shape
    x_type = _tensor_type((None, k), "f32")
    y_type = _tensor_type((None, m), "f32")
    out_type = y_type.replace("tensor<", "memref<", 1)
    w_type = _tensor_type(p.data.shape, "i8")
    args = ["%%x: %s" % x_type, "%%out: %s" % out_type]
    lines = []

    def operand(name, array, type_):
        if arguments:
            args.append("%%%s: %s" % (name, type_))
        else:
            lines.append("%%%s = arith.constant dense<%s> : %s"
                         % (name, _hex(array), type_))

    operand("w", p.data, w_type)
    operands = ""
    if p.layout != "stq1_0":
        s_type = _tensor_type(p.scales.shape, p.scale_type)
        operand("s", p.scales, s_type)
        operands += " scales(%%s : %s)" % s_type
    if bias is not None:
        b_type = _tensor_type((m,), "f32")
        operand("b", bias.numpy(), b_type)
        operands += " bias(%%b : %s)" % b_type
    lines += [
        "%c0 = arith.constant 0 : index",
        "%%n = tensor.dim %%x, %%c0 : %s" % x_type,
        "%%e = tensor.empty(%%n) : %s" % y_type,
        "%zero = arith.constant 0.0 : f32",
        "%%acc = linalg.fill ins(%%zero : f32) outs(%%e : %s) -> %s"
        % (y_type, y_type),
        "%%y = sherry.matmul ins(%%x, %%w : %s, %s)%s outs(%%acc : %s) "
        "layout%s mode<%s> -> %s" % (x_type, w_type, operands, y_type,
                                     _layout_text(p), mode, y_type),
        "bufferization.materialize_in_destination %%y in restrict writable "
        "%%out : (%s, %s) -> ()" % (y_type, out_type),
        "return",
    ]
    return ("func.func @forward(%s) {\n  %s\n}\n"
            % (", ".join(args), "\n  ".join(lines)))


def _state_of(packed):
    """The tensors a SherryLinear keeps for `packed` in its state, in the
    order of SherryLinear._STATE; ``packed_from_state`` reads them back."""
    fmt = torch.tensor(
        [_format.LAYOUTS.index(packed.layout),
         _format.GRANULARITIES.index(packed.granularity),
         packed.group_size or 0,
         _format.SCALE_TYPES.index(packed.scale_type),
         packed.shape[0], packed.shape[1]], dtype=torch.int64)
    return (torch.from_numpy(packed.data.copy()),
            torch.from_numpy(packed.scales.astype(np.float32)), fmt)


def packed_from_state(data, scales, fmt):
    """``PackedWeights`` from the three buffers of a SherryLinear's state
    (``weight_packed``, ``weight_scales``, ``weight_format``; tensors or
    arrays). The format library checks the bytes; f16 scales and the
    stq1_0 block scales are checked against the bytes as well. Raises
    ValueError (or ``sherry.FormatError``) on anything inconsistent."""
    fmt = [int(v) for v in torch.as_tensor(fmt).reshape(-1).tolist()]
    if len(fmt) != 6:
        raise ValueError("weight_format must hold 6 integers (layout, "
                         "granularity, group size, scale type, M, K), got "
                         "%d" % len(fmt))
    layout_id, granularity_id, group, scale_type_id, m, k = fmt
    for value, names, what in ((layout_id, _format.LAYOUTS, "layout"),
                               (granularity_id, _format.GRANULARITIES,
                                "granularity"),
                               (scale_type_id, _format.SCALE_TYPES,
                                "scale type")):
        if not 0 <= value < len(names):
            raise ValueError("weight_format has %s %d; expected 0 to %d"
                             % (what, value, len(names) - 1))
    layout = _format.LAYOUTS[layout_id]
    granularity = _format.GRANULARITIES[granularity_id]
    scale_type = _format.SCALE_TYPES[scale_type_id]
    data = torch.as_tensor(data).detach().cpu()
    if data.dtype not in (torch.uint8, torch.int8):
        raise TypeError("weight_packed must be uint8 or int8, got %s"
                        % data.dtype)
    data = data.contiguous().numpy()
    scales = torch.as_tensor(scales).detach().cpu()
    if not scales.is_floating_point():
        raise TypeError("weight_scales must be floating point, got %s"
                        % scales.dtype)
    scales = scales.to(torch.float32).contiguous().numpy()
    if layout == "stq1_0":
        # The block scales live in the bytes; the buffer repeats them.
        packed = _format.PackedWeights.from_arrays(
            data, None, (m, k), layout, granularity, group or None)
    else:
        packed = _format.PackedWeights.from_arrays(
            data, scales, (m, k), layout, granularity, group or None)
        if scale_type == "f16":
            # from_arrays keeps f32 scales; quantizing the dequantized
            # weights with f16 scales gives the same bytes and scales
            # exactly when the scales are f16 values (checked below).
            packed = _format.quantize(packed.dequantize(), layout=layout,
                                      granularity=granularity,
                                      group_size=group or None,
                                      scale_type="f16")
            if not np.array_equal(packed.data, data):
                raise ValueError("weight_packed is not what the f16-scaled "
                                 "weights pack to")
    if scales.shape != packed.scales.shape or not np.array_equal(
            scales, packed.scales.astype(np.float32)):
        raise ValueError("weight_scales (shape %s) disagree with the "
                         "packed weights' scales (shape %s)"
                         % (scales.shape, packed.scales.shape))
    return packed


def quantize_activations(x):
    """docs/format.md, section 7, in torch, per row of the 2-D `x`:
    absmax, scale = absmax / 127 and q = round-half-even(x * (127 /
    absmax)) clamped to +-127, all in float32; rows where 127 / absmax
    overflows (all zero, or below about 3.7e-37) get scale 0 and q = 0.
    Returns (q as int32, scale as float32), the values the int8 kernels
    use."""
    x = torch.as_tensor(x).detach().to(torch.float32)
    absmax = x.abs().amax(dim=1)
    # Tensor-by-tensor divisions: `127 / t` would be 127 * reciprocal(t).
    c127 = torch.full_like(absmax, 127.0)
    zero = torch.isinf(torch.div(c127, absmax))
    safe = torch.where(zero, torch.ones_like(absmax), absmax)
    scale = torch.where(zero, torch.zeros_like(absmax),
                        torch.div(absmax, c127))
    mult = torch.div(c127, safe)
    q = torch.clamp(torch.round(x * mult[:, None]), -127, 127)
    q = torch.where(zero[:, None], torch.zeros_like(q), q)
    return q.to(torch.int32), scale


def ternary_projection(weight, granularity="row", group_size=None,
                       scale_type="f32", layout="sherry"):
    """docs/format.md, section 1, in torch: the exact L2 projection of the
    M x K `weight` onto the sherry layout's values, W' = alpha * T, as a
    float32 tensor on `weight`'s device. In each group of four consecutive
    K elements the smallest |w| becomes 0 (ties: the lowest lane) and the
    others sign(w) (sign(0) = +1); alpha is the mean |w| of the kept
    weights of each scale region ('tensor', 'row' or 'group' of
    `group_size` elements, default 128), summed in float64 and rounded to
    float32 (and to float16 for scale_type 'f16'), as the format library
    does. The values equal ``sherry.quantize(weight, granularity=...,
    group_size=..., scale_type=...).dequantize()`` (the tests check it).

    layout='stq1_0' projects onto llama.cpp's STQ1_0 blocks instead (what
    GGUF files hold): groups of four elements 16 apart inside each
    64-element chunk (docs/format.md, section 3.2) and one f16 scale per
    256 elements; it equals ``sherry.quantize(weight,
    'stq1_0').dequantize()`` and takes no granularity options.

    No gradient flows through it (the result is detached): for
    quantization-aware training use the straight-through estimator
    ``weight + (ternary_projection(weight) - weight).detach()``
    (examples/qat, docs/python.md)."""
    if layout == "stq1_0":
        if (granularity, group_size, scale_type) != ("row", None, "f32"):
            raise ValueError("the stq1_0 layout has one f16 scale per 256 "
                             "elements; leave granularity, group_size and "
                             "scale_type out")
        w = torch.as_tensor(weight).detach()
        if w.dim() == 2 and w.shape[1] % 256:
            raise ValueError(unsupported_reason(w.shape[1], "stq1_0"))
        order = _stq1_0_order(w.shape[1] if w.dim() == 2 else 0, w.device)
        grouped = ternary_projection(w[:, order] if w.dim() == 2 else w,
                                     "group", 256, "f16")
        return grouped[:, torch.argsort(order)]
    if layout != "sherry":
        raise ValueError("unknown layout %r; expected 'sherry' or 'stq1_0'"
                         % (layout,))
    w = torch.as_tensor(weight).detach()
    if not w.is_floating_point():
        raise TypeError("weights must be floating point, got %s" % w.dtype)
    if w.dim() != 2:
        raise ValueError("weights must be a 2-D M x K tensor, got shape %s"
                         % (tuple(w.shape),))
    if granularity not in _format.GRANULARITIES:
        raise ValueError("unknown granularity %r; expected one of %s"
                         % (granularity, ", ".join(
                             map(repr, _format.GRANULARITIES))))
    if group_size is not None and granularity != "group":
        raise ValueError("group_size=%r needs granularity='group', not %r"
                         % (group_size, granularity))
    if scale_type not in _format.SCALE_TYPES:
        raise ValueError("unknown scale type %r; expected 'f32' or 'f16'"
                         % (scale_type,))
    m, k = w.shape
    g = (128 if group_size is None else group_size) \
        if granularity == "group" else None
    reason = unsupported_reason(k, "sherry", granularity, g)
    if reason is None and g is not None and (g <= 0 or g % 4):
        reason = "group size %d is not a positive multiple of 4" % g
    if reason is not None:
        raise ValueError(reason)
    w = w.to(torch.float32)
    groups = w.reshape(m, k // 4, 4)
    magnitude = groups.abs()
    zero = magnitude.argmin(dim=2, keepdim=True)  # first minimum on ties
    keep = torch.ones_like(groups).scatter_(2, zero, 0.0)
    t = (((groups >= 0).to(torch.float32) * 2 - 1) * keep).reshape(m, k)
    kept = (magnitude * keep).reshape(m, k).to(torch.float64)
    if granularity == "tensor":
        alpha = (kept.sum() / (m * k * 3 // 4)).reshape(1, 1)
    elif granularity == "row":
        alpha = kept.sum(dim=1, keepdim=True) / (k * 3 // 4)
    else:
        alpha = kept.reshape(m, k // g, g).sum(dim=2) / (g * 3 // 4)
    # A NaN or an infinity reaches its scale (0 * inf is NaN as well).
    if not bool(torch.isfinite(alpha).all()):
        bad = (~torch.isfinite(w)).nonzero()[0].tolist()
        raise ValueError("%s weight at row %d, column %d" % (
            "NaN" if bool(torch.isnan(w[bad[0], bad[1]])) else "infinite",
            bad[0], bad[1]))
    if granularity == "group":
        alpha = alpha.repeat_interleave(g, dim=1)
    alpha = alpha.to(torch.float32)
    if scale_type == "f16":
        alpha = alpha.to(torch.float16).to(torch.float32)
    return alpha * t


def arenas_lambda(step, total, lambda_max=1.0, warmup=0.1, anneal_end=0.7):
    """Arenas' lambda_t (the Sherry paper's annealing residual synapse,
    Y = X (alpha T)^T + lambda_t X W^T) at optimizer step `step` of
    `total`: a linear rise from 0 to lambda_max over the first `warmup`
    fraction of the steps, a cosine decay to 0 that ends at the
    `anneal_end` fraction, then 0, so that the end of the training runs the
    pure 1.25-bit model that is deployed."""
    if not 0 <= warmup <= anneal_end <= 1 or total <= 0:
        raise ValueError("need 0 <= warmup <= anneal_end <= 1 and total > 0")
    t = step / total
    if t < warmup:
        return lambda_max * t / warmup
    if t >= anneal_end:
        return 0.0
    phase = (t - warmup) / (anneal_end - warmup)
    return lambda_max * 0.5 * (1.0 + math.cos(math.pi * phase))


def _stq1_0_order(k, device):
    """The K permutation that makes STQ1_0's groups (elements 64c + l + 16p,
    p = 0..3, of each 256-element block) four consecutive elements."""
    g = torch.arange(k // 4, device=device)
    block, c, lane = g // 64, (g % 64) // 16, g % 16
    first = block * 256 + c * 64 + lane
    return (first[:, None] + 16 * torch.arange(4, device=device)).reshape(-1)


def fake_quant_reference(layer, x, layout="sherry", granularity=None,
                         group_size=None, scale_type=None, mode=None):
    """The float computation a SherryLinear stands for, in float64:
    x (int8 mode: dequantized as q * scale of ``quantize_activations``)
    times the dequantized weights ``PackedWeights.dequantize()``, plus the
    bias; returned as float32 of shape (..., out_features).

    `layer` is an ``nn.Linear`` (quantized here with layout, granularity,
    group_size and scale_type; mode None means 'int8') or a
    ``SherryLinear`` (its own packed weights, bias and mode; the other
    options must be left out)."""
    if isinstance(layer, SherryLinear):
        if (layout, granularity, group_size, scale_type) != (
                "sherry", None, None, None):
            raise ValueError("a SherryLinear brings its own packed weights; "
                             "leave the quantization options out")
        packed, bias = layer.packed, layer.bias
        mode = layer.mode if mode is None else mode
    elif isinstance(layer, nn.Linear):
        packed = _format.quantize(layer.weight, layout=layout,
                                  granularity=granularity,
                                  group_size=group_size,
                                  scale_type=scale_type)
        bias = layer.bias
        mode = "int8" if mode is None else mode
    else:
        raise TypeError("fake_quant_reference needs an nn.Linear or a "
                        "SherryLinear, got %s" % type(layer).__name__)
    if mode not in MODES:
        raise ValueError("unknown mode %r; expected 'int8' or 'exact'"
                         % (mode,))
    m, k = packed.shape
    x = torch.as_tensor(x).detach()
    lead = x.shape[:-1]
    flat = x.reshape(-1, k).to(torch.float32)
    if mode == "int8":
        q, scale = quantize_activations(flat)
        xd = q.to(torch.float64) * scale.to(torch.float64)[:, None]
    else:
        xd = flat.to(torch.float64)
    w = torch.from_numpy(packed.dequantize()).to(torch.float64)
    y = xd @ w.T
    if bias is not None:
        y = y + bias.detach().to(torch.float64)[None, :]
    return y.to(torch.float32).reshape(*lead, m)


class SherrifyReport:
    """What ``sherrify`` did: `replaced`, a list of (name, in_features,
    out_features), and `left`, a list of (name, reason); `model` is the
    model (a new SherryLinear where the model itself was replaced)."""

    def __init__(self, model):
        self.model = model
        self.replaced = []
        self.left = []

    def __str__(self):
        lines = ["replaced %d linear layer(s), left %d"
                 % (len(self.replaced), len(self.left))]
        lines += ["  replaced %s (%d -> %d)" % r for r in self.replaced]
        lines += ["  left %s: %s" % r for r in self.left]
        return "\n".join(lines)

    __repr__ = __str__


def _why_left(name, linear, min_features, exclude, options,
              any_device=False):
    if type(linear) is not nn.Linear:
        return ("%s is a subclass of nn.Linear whose owner may use its "
                "weight directly" % type(linear).__name__)
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude):
        return "excluded"
    if min(linear.in_features, linear.out_features) < min_features:
        return ("%d x %d is below min_features = %d"
                % (linear.out_features, linear.in_features, min_features))
    if not any_device and linear.weight.device.type != "cpu":
        return "the weights are on %s; SherryLinear runs on the CPU" % (
            linear.weight.device)
    return unsupported_reason(linear.in_features,
                              options.get("layout", "sherry"),
                              options.get("granularity"),
                              options.get("group_size"))


def sherrify(model, min_features=0, exclude=(), **options):
    """Replaces, in place and recursively, every ``nn.Linear`` of `model`
    whose in_features the layout allows by a ``SherryLinear.from_linear``
    built with `options` (layout, granularity, group_size, scale_type,
    mode, pipeline_options, weights). Layers with fewer than `min_features` inputs
    or outputs, whose qualified name matches a pattern of `exclude`
    (fnmatch, e.g. "lm_head"), subclasses of nn.Linear and layers off the
    CPU are left as they are. Returns a ``SherrifyReport``."""
    report = SherrifyReport(model)
    if isinstance(model, nn.Linear):
        reason = _why_left("", model, min_features, exclude, options)
        if reason is None:
            report.model = SherryLinear.from_linear(model, **options)
            report.replaced.append(("", model.in_features,
                                    model.out_features))
        else:
            report.left.append(("", reason))
        return report
    done = {}           # id of a Linear met before -> its replacement

    def walk(parent, prefix):
        # _modules, not named_children(): a module shared by two names of
        # one parent must be replaced under both.
        for child_name, child in list(parent._modules.items()):
            if child is None:
                continue
            name = prefix + child_name
            if id(child) in done:           # shared: replaced once
                if done[id(child)] is not None:
                    setattr(parent, child_name, done[id(child)])
                continue
            if not isinstance(child, nn.Linear):
                walk(child, name + ".")
                continue
            reason = _why_left(name, child, min_features, exclude, options)
            if reason is not None:
                report.left.append((name, reason))
                done[id(child)] = None
                continue
            done[id(child)] = SherryLinear.from_linear(child, **options)
            setattr(parent, child_name, done[id(child)])
            report.replaced.append((name, child.in_features,
                                    child.out_features))

    walk(model, "")
    return report



def load_sherrified(model, state_dict, strict=True, mode="int8",
                    pipeline_options="target=host", weights="constant"):
    """Loads the ``state_dict()`` of a sherrified model into `model`, the
    same architecture with its dense ``nn.Linear`` layers, without
    quantizing or compiling anything twice: each ``nn.Linear`` whose
    ``<name>.weight_packed`` is in `state_dict` becomes a SherryLinear made
    from the packed weights as they are (checked by the format library)
    and compiled once, with `mode`, `pipeline_options` and `weights`
    (which the state does not hold); everything else loads as
    ``model.load_state_dict(..., strict)`` loads it. Its dense weights are
    never read, so they may be uninitialized (``torch.nn.utils.skip_init``)
    or on the meta device. Returns the model (a SherryLinear where `model`
    itself is one layer). Raises RuntimeError, as load_state_dict does,
    naming the keys missing or unexpected under `strict` and any state
    that does not load."""
    def packed_state(name):
        prefix = name + "." if name else ""
        keys = [prefix + k for k in SherryLinear._STATE]
        return keys if keys[0] in state_dict else None

    used, errors = set(), []

    def replacement(name, linear):
        keys = packed_state(name)
        if keys is None:
            return None
        prefix = name + "." if name else ""
        missing = [k for k in keys if k not in state_dict]
        if missing:
            errors.append("%s: missing %s" % (name or "(root)",
                                              ", ".join(missing)))
            return None
        try:
            packed = packed_from_state(*(state_dict[k] for k in keys))
            if packed.shape != (linear.out_features, linear.in_features):
                raise ValueError(
                    "the weights are %d x %d, but the layer is %d x %d "
                    "(out_features x in_features)"
                    % (packed.shape + (linear.out_features,
                                       linear.in_features)))
            bias = None
            if linear.bias is not None:
                if prefix + "bias" not in state_dict:
                    raise ValueError("the layer has a bias and the state "
                                     "has none")
                bias = state_dict[prefix + "bias"]
                used.add(prefix + "bias")
            layer = SherryLinear(packed, bias, mode=mode,
                                 pipeline_options=pipeline_options,
                                 weights=weights)
        except (ValueError, TypeError, _errors.SherryError) as e:
            errors.append("%s: %s" % (name or "(root)", e))
            return None
        used.update(keys)
        return layer

    if isinstance(model, nn.Linear):
        layer = replacement("", model)
        if layer is not None:
            model = layer
    else:
        done = {}

        def walk(parent, prefix):
            for child_name, child in list(parent._modules.items()):
                if child is None:
                    continue
                if id(child) in done:
                    if done[id(child)] is not None:
                        setattr(parent, child_name, done[id(child)])
                    continue
                name = prefix + child_name
                if not isinstance(child, nn.Linear):
                    walk(child, name + ".")
                    continue
                done[id(child)] = replacement(name, child)
                if done[id(child)] is not None:
                    setattr(parent, child_name, done[id(child)])

        walk(model, "")
    if errors:
        raise RuntimeError("Error(s) in loading a sherrified state_dict "
                           "into %s:\n\t%s" % (type(model).__name__,
                                                "\n\t".join(errors)))
    # The rest through load_state_dict, without the new layers' state:
    # loading it again would recompile them.
    rest = {k: v for k, v in state_dict.items() if k not in used}
    result = model.load_state_dict(rest, strict=False)
    missing = [k for k in result.missing_keys if k not in used]
    if strict and (missing or result.unexpected_keys):
        parts = []
        if result.unexpected_keys:
            parts.append("Unexpected key(s) in state_dict: %s." % ", ".join(
                '"%s"' % k for k in result.unexpected_keys))
        if missing:
            parts.append("Missing key(s) in state_dict: %s." % ", ".join(
                '"%s"' % k for k in missing))
        raise RuntimeError("Error(s) in loading a sherrified state_dict "
                           "into %s:\n\t%s" % (type(model).__name__,
                                                "\n\t".join(parts)))
    return model

def sherrify_state_dict(state_dict, model=None, include=None,
                        min_features=0, exclude=(), layout="sherry",
                        granularity=None, group_size=None, scale_type=None):
    """Converts a dense model's state dict into the one
    ``sherrify(model, ...).state_dict()`` would give, without building or
    compiling any layer: each chosen layer's ``<name>.weight`` becomes
    ``<name>.weight_packed``, ``.weight_scales`` and ``.weight_format``,
    quantized by ``sherry.quantize`` with `layout`, `granularity`,
    `group_size` and `scale_type`; every other entry is kept as it is.
    ``load_sherrified`` loads the result.

    The layers: with `model` (the dense architecture; its weights are never
    read, so it may be on the meta device), its ``nn.Linear`` layers as
    ``sherrify`` chooses them (`min_features`, `exclude`); without, the 2-D
    floating-point ``<name>.weight`` entries whose name matches a pattern
    of `include` (fnmatch, e.g. ``"*_proj"``) and none of `exclude`. With
    both, a layer must also match `include`.

    Returns ``(state_dict, report)``: a new dict in the order of the old
    one, and a ``SherrifyReport`` (``model`` None) of what was replaced and
    what was left and why. Raises ValueError where `model`'s layer has no
    weight in `state_dict`, or one of another shape."""
    if model is None and include is None:
        raise ValueError("sherrify_state_dict needs `model` or `include` "
                         "to tell linear layers' weights from other 2-D "
                         "tensors (embeddings)")
    if isinstance(include, str):
        include = (include,)
    if isinstance(exclude, str):
        exclude = (exclude,)
    options = dict(layout=layout, granularity=granularity,
                   group_size=group_size)
    report = SherrifyReport(None)

    def included(name):
        return include is None or any(
            fnmatch.fnmatchcase(name, pattern) for pattern in include)

    candidates = {}     # weight key -> (layer name, reason or None)
    if model is not None:
        for name, module in model.named_modules(remove_duplicate=False):
            if not isinstance(module, nn.Linear) or not included(name):
                continue
            key = name + ".weight" if name else "weight"
            weight = state_dict.get(key)
            if weight is None:
                raise ValueError("the state dict has no %s for the linear "
                                 "layer %s" % (key, name or "(root)"))
            shape = (module.out_features, module.in_features)
            if tuple(weight.shape) != shape:
                raise ValueError("%s is %s, but the layer is %d x %d "
                                 "(out_features x in_features)"
                                 % (key, "x".join(map(str, weight.shape)),
                                    *shape))
            # Any device: the weights come from the state.
            candidates[key] = (name, _why_left(name, module, min_features,
                                               exclude, options,
                                               any_device=True))
    else:
        for key, value in state_dict.items():
            if not (key == "weight" or key.endswith(".weight")):
                continue
            name = key[:-len(".weight")] if key != "weight" else ""
            if not included(name) or not torch.is_tensor(value) or \
                    value.dim() != 2 or not value.is_floating_point():
                continue
            layer = nn.Linear(value.shape[1], value.shape[0], bias=False,
                              device="meta")
            candidates[key] = (name, _why_left(name, layer, min_features,
                                               exclude, options,
                                               any_device=True))
    converted = {}
    for key, value in state_dict.items():
        if key not in candidates:
            converted[key] = value
            continue
        name, reason = candidates[key]
        if reason is not None:
            report.left.append((name, reason))
            converted[key] = value
            continue
        weight = torch.as_tensor(value).detach().to("cpu", torch.float32)
        packed = _format.quantize(weight.numpy(), layout=layout,
                                  granularity=granularity,
                                  group_size=group_size,
                                  scale_type=scale_type)
        prefix = name + "." if name else ""
        for state_name, tensor in zip(SherryLinear._STATE,
                                      _state_of(packed)):
            converted[prefix + state_name] = tensor
        report.replaced.append((name, packed.shape[1], packed.shape[0]))
    return converted, report


# --- export_mlir ---------------------------------------------------------

_SQRT_HALF = 0.7071067811865476
_SQRT_2_OVER_PI = 0.7978845608028654


def _f32(value):
    return "arith.constant %.9e : f32" % value


def _body_relu():
    return ["%z = " + _f32(0.0),
            "%r = arith.maximumf %a, %z : f32"]


def _body_silu():
    # torch: x * sigmoid(x) = x / (1 + exp(-x)).
    return ["%one = " + _f32(1.0),
            "%neg = arith.negf %a : f32",
            "%ex = math.exp %neg : f32",
            "%den = arith.addf %one, %ex : f32",
            "%r = arith.divf %a, %den : f32"]


def _body_gelu_tanh():
    # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    return ["%half = " + _f32(0.5),
            "%one = " + _f32(1.0),
            "%c = " + _f32(_SQRT_2_OVER_PI),
            "%k = " + _f32(0.044715),
            "%x2 = arith.mulf %a, %a : f32",
            "%x3 = arith.mulf %x2, %a : f32",
            "%kx3 = arith.mulf %k, %x3 : f32",
            "%in = arith.addf %a, %kx3 : f32",
            "%arg = arith.mulf %c, %in : f32",
            "%th = math.tanh %arg : f32",
            "%s = arith.addf %one, %th : f32",
            "%hx = arith.mulf %half, %a : f32",
            "%r = arith.mulf %hx, %s : f32"]


def _body_gelu_erf():
    # 0.5 x (1 + erf(x / sqrt 2)). The pipeline has no math.erf lowering,
    # so erf is Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7):
    # erf(u) = sign(u) (1 - poly(t) exp(-u^2)), t = 1 / (1 + p |u|).
    coefficients = (1.061405429, -1.453152027, 1.421413741, -0.284496736,
                    0.254829592)
    lines = ["%half = " + _f32(0.5),
             "%one = " + _f32(1.0),
             "%rs2 = " + _f32(_SQRT_HALF),
             "%p = " + _f32(0.3275911),
             "%u = arith.mulf %a, %rs2 : f32",
             "%au = math.absf %u : f32",
             "%pu = arith.mulf %p, %au : f32",
             "%d = arith.addf %one, %pu : f32",
             "%t = arith.divf %one, %d : f32"]
    lines.append("%%q0 = %s" % _f32(coefficients[0]))
    acc = "%q0"
    for i, c in enumerate(coefficients[1:], 1):
        lines += ["%%q%d = %s" % (i, _f32(c)),
                  "%%m%d = arith.mulf %s, %%t : f32" % (i, acc),
                  "%%h%d = arith.addf %%m%d, %%q%d : f32" % (i, i, i)]
        acc = "%%h%d" % i
    lines += ["%%poly = arith.mulf %s, %%t : f32" % acc,
              "%u2 = arith.mulf %au, %au : f32",
              "%nu2 = arith.negf %u2 : f32",
              "%ex = math.exp %nu2 : f32",
              "%pe = arith.mulf %poly, %ex : f32",
              "%e = arith.subf %one, %pe : f32",
              "%erf = math.copysign %e, %u : f32",
              "%s = arith.addf %one, %erf : f32",
              "%hx = arith.mulf %half, %a : f32",
              "%r = arith.mulf %hx, %s : f32"]
    return lines


def _activation_body(module):
    if isinstance(module, nn.ReLU):
        return _body_relu()
    if isinstance(module, nn.SiLU):
        return _body_silu()
    if isinstance(module, nn.GELU):
        if module.approximate == "tanh":
            return _body_gelu_tanh()
        return _body_gelu_erf()
    return None


def _flatten(module, prefix, out):
    """(name, module) of the layers of nested nn.Sequential containers."""
    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            _flatten(child, prefix + name + ".", out)
    else:
        out.append((prefix.rstrip(".") or "layer", module))
    return out


def _resource(name, array):
    data = np.ascontiguousarray(array, dtype="<f4").tobytes().hex()
    return '      %s: "0x04000000%s"' % (name, data)


def export_mlir(module, example_input, dynamic_batch=True,
                func_name="forward"):
    """`module` (an ``nn.Linear`` or an ``nn.Sequential``, nested or not,
    of nn.Linear, nn.ReLU, nn.SiLU, nn.GELU, nn.Identity and nn.Dropout,
    the last exported as the identity of inference) as func + linalg MLIR
    text: one function `func_name` from ``tensor<NxKxf32>`` to
    ``tensor<NxMxf32>``, each Linear in torch-mlir's form (the M x K
    weight a ``dense_resource`` constant, ``linalg.transpose``, then
    ``linalg.matmul`` accumulating into the broadcast bias, or zeros), each
    activation a ``linalg.generic``. ``sherry-opt --sherry-sparsify``
    brings the matmuls into the sherry dialect; the weights stay float
    here. N is dynamic unless `dynamic_batch` is False (then the rows of
    `example_input` flattened to 2-D); `example_input` (..., K) fixes K and
    is checked against the first layer. Other layers raise TypeError: only
    Linear layers and elementwise activations are exported."""
    layers = _flatten(module, "", [])
    x = torch.as_tensor(example_input)
    if x.dim() == 0:
        raise ValueError("example_input must have at least one dimension")
    k = x.shape[-1]
    rows = int(np.prod(x.shape[:-1], dtype=np.int64))
    n = None if dynamic_batch else rows
    n_text = "%n" if dynamic_batch else ""
    width = k
    body = ["%c0 = arith.constant 0 : index"]
    x_type = _tensor_type((n, k), "f32")
    if dynamic_batch:
        body.append("%%n = tensor.dim %%x, %%c0 : %s" % x_type)
    body.append("%zero = arith.constant 0.0 : f32")
    blobs = []
    used = set()
    current = "%x"
    for index, (name, layer) in enumerate(layers):
        ident = re.sub(r"[^A-Za-z0-9_]", "_", name)
        if not re.match(r"[A-Za-z_]", ident) or ident in used:
            ident = "layer%d_%s" % (index, ident)
        used.add(ident)
        v = "%%l%d" % index
        in_type = _tensor_type((n, width), "f32")
        if type(layer) is nn.Linear:
            m, lk = layer.out_features, layer.in_features
            if lk != width:
                raise ValueError("layer %s takes %d features, but gets %d "
                                 "(example_input or the layer before)"
                                 % (name, lk, width))
            out_type = _tensor_type((n, m), "f32")
            w = layer.weight.detach().to("cpu", torch.float32).numpy()
            blobs.append(_resource(ident + "_weight", w))
            body += [
                "%s_w = arith.constant dense_resource<%s_weight> : %s"
                % (v, ident, _tensor_type((m, lk), "f32")),
                "%s_te = tensor.empty() : %s"
                % (v, _tensor_type((lk, m), "f32")),
                "%s_t = linalg.transpose ins(%s_w : %s) outs(%s_te : %s) "
                "permutation = [1, 0]"
                % (v, v, _tensor_type((m, lk), "f32"), v,
                   _tensor_type((lk, m), "f32")),
                "%s_e = tensor.empty(%s) : %s" % (v, n_text, out_type)]
            if layer.bias is not None:
                b = layer.bias.detach().to("cpu", torch.float32).numpy()
                blobs.append(_resource(ident + "_bias", b))
                body += [
                    "%s_b = arith.constant dense_resource<%s_bias> : %s"
                    % (v, ident, _tensor_type((m,), "f32")),
                    "%s_i = linalg.broadcast ins(%s_b : %s) outs(%s_e : %s) "
                    "dimensions = [0]"
                    % (v, v, _tensor_type((m,), "f32"), v, out_type)]
            else:
                body.append("%s_i = linalg.fill ins(%%zero : f32) outs(%s_e "
                            ": %s) -> %s" % (v, v, out_type, out_type))
            body.append("%s = linalg.matmul ins(%s, %s_t : %s, %s) outs(%s_i "
                        ": %s) -> %s"
                        % (v, current, v, in_type,
                           _tensor_type((lk, m), "f32"), v, out_type,
                           out_type))
            width = m
            current = v
            continue
        if isinstance(layer, (nn.Identity, nn.Dropout)):
            continue
        inner = _activation_body(layer)
        if inner is None:
            raise TypeError(
                "export_mlir exports nn.Linear and the elementwise "
                "activations ReLU, SiLU and GELU (plus Identity and "
                "Dropout); %s is a %s" % (name, type(layer).__name__))
        body += [
            "%s_e = tensor.empty(%s) : %s" % (v, n_text, in_type),
            "%s = linalg.generic {indexing_maps = [#id, #id], "
            "iterator_types = [\"parallel\", \"parallel\"]} ins(%s : %s) "
            "outs(%s_e : %s) {" % (v, current, in_type, v, in_type),
            "^bb0(%a: f32, %out: f32):"]
        body += ["  " + line for line in inner]
        body += ["  linalg.yield %r : f32", "} -> %s" % in_type]
        current = v
    if width == k and current == "%x":
        raise ValueError("export_mlir found no layer to export")
    y_type = _tensor_type((n, width), "f32")
    body.append("return %s : %s" % (current, y_type))
    text = ("#id = affine_map<(i, j) -> (i, j)>\n\n"
            "func.func @%s(%%x: %s) -> %s {\n  %s\n}\n"
            % (func_name, x_type, y_type, "\n  ".join(body)))
    if blobs:
        text += ("\n{-#\n  dialect_resources: {\n    builtin: {\n%s\n    }\n"
                 "  }\n#-}\n" % ",\n".join(blobs))
    return text
