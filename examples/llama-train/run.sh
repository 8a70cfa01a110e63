#!/usr/bin/env bash
# Trains a small LLaMA on Debian's fortunes with the Sherry paper's QAT
# (3:4 ternary STQ1_0 projection, straight-through estimator, Arenas),
# writes it as a Sherry GGUF with its byte-level BPE tokenizer, compiles it
# and samples text, and reports held-out perplexity of the dense model, the
# QAT model and post-training ternarization.
#
#   examples/llama-train/run.sh [--fast] [--out DIR] [--json PATH] ...
#
# Needs python3-torch and fortunes-min / fortunes (utils/setup.sh installs
# them) and the build (build/lib/libSherryCAPI.so). `--help` lists the
# options; docs/models.md, "Training a small model here", explains it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$here/train_fortunes.py" "$@"
