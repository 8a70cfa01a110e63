#!/usr/bin/env bash
# The main job: a LLaMA-3.2-1B-shaped decoder block, written as plain
# func + linalg IR, brought into the sherry dialect with sherry-sparsify,
# compiled for this CPU, run, checked and timed against the dense f32 path.
#
#   examples/llama-block/run.sh [--quick] [--weights DIR] [--work DIR] ...
#
# Needs the build of utils/setup.sh (build/bin, build/lib/libSherryCAPI.so;
# SHERRY_BIN and SHERRY_CAPI_LIBRARY point elsewhere). `--help` lists the
# options; docs/getting-started.md explains every step.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$here/run_block.py" "$@"
