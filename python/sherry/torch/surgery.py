"""Model surgery: swap a model's nn.Linear layers for SherryLinear.

``sherrify`` (and its ``SherrifyReport``), ``sherrify_state_dict`` and
``load_sherrified``.
"""

import fnmatch

import torch
from torch import nn

from .. import errors as _errors
from .. import format as _format
from .linear import (SherryLinear, _state_of, packed_from_state,
                     unsupported_reason)


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
