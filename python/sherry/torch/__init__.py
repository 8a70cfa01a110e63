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

The package's modules: ``linear`` (SherryLinear), ``qat`` (projections and
schedules for training), ``surgery`` (whole models and state dicts) and
``export`` (export_mlir).
"""

from .export import export_mlir
from .linear import (MODES, WEIGHTS, SherryLinear, packed_from_state,
                     unsupported_reason)
from .qat import (arenas_lambda, fake_quant_reference, quantize_activations,
                  ternary_projection)
from .surgery import (SherrifyReport, load_sherrified, sherrify,
                      sherrify_state_dict)

__all__ = [
    "MODES", "WEIGHTS", "arenas_lambda",
    "SherryLinear", "SherrifyReport", "export_mlir", "fake_quant_reference",
    "load_sherrified", "packed_from_state", "quantize_activations",
    "sherrify", "sherrify_state_dict", "ternary_projection",
    "unsupported_reason",
]
