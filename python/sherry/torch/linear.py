"""SherryLinear: an nn.Linear on Sherry's packed kernels.

The layer, the custom op ``sherry::linear`` it dispatches through, the
sherry.matmul function text it compiles, and the conversions between its
state dict entries and ``sherry.PackedWeights``.
"""

import itertools
import weakref

import numpy as np
import torch
import torch.fx
from torch import nn

from .. import compiler
from .. import errors as _errors
from .. import format as _format


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
        from .qat import fake_quant_reference  # it checks for SherryLinear

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
