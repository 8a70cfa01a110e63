#!/usr/bin/env bash
# The main job: a whole LLaMA model on Sherry 1.25-bit weights, from a GGUF
# checkpoint (a synthetic bitnet_b1_58-large-shaped one by default) to
# generated tokens: checked against a float64 reference, timed (prefill and
# decode tokens/s), and measured against the same model in f16.
#
#   examples/llama/run.sh [--quick] [--model FILE.gguf] [--threads N] ...
#
# Needs the build of utils/setup.sh (build/lib/libSherryCAPI.so, or
# SHERRY_CAPI_LIBRARY). `--help` lists the options; docs/getting-started.md
# explains every step.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$here/run_model.py" "$@"
