#!/usr/bin/env bash
# The quickstart: pack a LLaMA-3.2-1B-shaped weight matrix into the Sherry
# format with sherry-pack, check the packed bytes from outside, and verify a
# sherry-dialect module that consumes them with sherry-opt.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${SHERRY_BIN:-$root/build/bin}"
py=/usr/bin/python3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
here="$root/examples/quickstart"

echo "==> [1/5] Seeded 2048 x 2048 f32 weights"
$py "$here/make_weights.py" "$work/w.npy" --rows 2048 --cols 2048

echo "==> [2/5] sherry-pack pack (sherry layout, per-row scales)"
"$bin/sherry-pack" pack "$work/w.npy" -o "$work/w.sherry" \
  --layout=sherry --granularity=row

echo "==> [3/5] sherry-pack pack (stq1_0, llama.cpp's block layout)"
"$bin/sherry-pack" pack "$work/w.npy" -o "$work/w.stq" --layout=stq1_0

echo "==> [4/5] Unpack and check the projection from outside"
"$bin/sherry-pack" unpack "$work/w.sherry" -o "$work/t.npy" --values=ternary
$py "$here/check_unpacked.py" "$work/w.npy" "$work/t.npy"
ls -l "$work/w.npy" "$work/w.sherry" "$work/w.stq" | awk '{print $5, $NF}' |
  sed "s|$work/||"

echo "==> [5/5] sherry-opt: parse, verify and print the model"
"$bin/sherry-opt" "$here/model.mlir" --canonicalize

echo "quickstart: OK"
