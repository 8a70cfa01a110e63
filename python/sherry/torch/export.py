"""export_mlir: Linear + activation stacks as func + linalg IR.

What ``sherry-sparsify`` takes: the module's Linear layers and activations
(ReLU, SiLU, GELU) as linalg ops with their weights as dense resources.
"""

import re

import numpy as np
import torch
from torch import nn

from .linear import _tensor_type


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
