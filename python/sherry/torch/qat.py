"""Quantization-aware training in torch: the format's projections.

``ternary_projection`` (with a straight-through gradient),
``quantize_activations``, the Arenas schedule ``arenas_lambda`` and
``fake_quant_reference``, the float computation a SherryLinear stands for.
"""

import math

import torch
from torch import nn

from .. import format as _format
from .linear import MODES, SherryLinear, unsupported_reason


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
