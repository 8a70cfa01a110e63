#!/usr/bin/env bash
# Quantization-aware training on Sherry 1.25-bit weights, end to end: a small
# MLP trained on scikit-learn's digits with the paper's method (3:4 ternary
# projection, straight-through estimator, Arenas' annealed residual),
# compiled with sherry.torch / sherry-sparsify, run and reported against the
# dense model and post-training ternarization.
#
#   examples/qat/run.sh [--fast] [--seed N] [--threads N] [--json PATH] ...
#
# Needs python3-sklearn and python3-torch (utils/setup.sh installs them) and
# the build (build/lib/libSherryCAPI.so; build/bin/sherry-opt for the
# whole-model path). `--help` lists the options; docs/python.md,
# "Quantization-aware training", explains every step.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$here/train_digits.py" "$@"
