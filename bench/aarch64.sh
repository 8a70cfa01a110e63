#!/usr/bin/env bash
# Static cost of the AArch64 kernels (llvm-mca; AArch64 is not timed here):
# writes OUT/aarch64_mca.json and, with --md, the AArch64 section of that
# page (docs/performance.md).
#
#   bench/aarch64.sh [--out DIR] [--md PAGE] [--peers PEERS.json]
#                    [--sherry-opt BIN] [--smoke]
#
#   --out DIR     where the kernels and the JSON go (build-bench/aarch64)
#   --md PAGE     write the page's AArch64 section
#   --peers JSON  peer kernels' assembly, measured in the same run
#                 (bench/aarch64_mca.py says what the JSON holds); they are
#                 built outside the repository
#   --smoke       one small matmul, no tables kernel
#
# bench/run.sh runs it; run it alone to refresh the section without timing
# anything.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/build-bench/aarch64"
md=""
peers=""
smoke=0
sherry_opt="$root/build/bin/sherry-opt"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift ;;
    --md) md="$2"; shift ;;
    --peers) peers="$2"; shift ;;
    --sherry-opt) sherry_opt="$2"; shift ;;
    --smoke) smoke=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "aarch64.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
for tool in "$sherry_opt" /usr/lib/llvm-22/bin/mlir-translate \
            /usr/lib/llvm-22/bin/llc /usr/lib/llvm-22/bin/llvm-mca; do
  command -v "$tool" >/dev/null ||
    { echo "aarch64.sh: '$tool' not found" >&2; exit 2; }
done
mkdir -p "$out/kernels"

# kernel NAME M K N [TABLES]: the matmul's MLIR, with weights as arguments
# (in the tables layout, lanes order, tile block 1, with TABLES).
kernel() {
  /usr/bin/python3 - "$@" <<PY
import sys
sys.path.insert(0, "$root/bench")
import gen_kernels as g
name, m, k, n = sys.argv[1], *map(int, sys.argv[2:5])
tables = ("lanes", 1) if len(sys.argv) > 5 else None
sys.stdout.write(g.sherry_kernel(name, m, k, n, tables=tables))
PY
}
lower() {  # lower MLIR TARGET LL
  "$sherry_opt" "$1" --sherry-to-llvm="target=$2 threads=1" |
    /usr/lib/llvm-22/bin/mlir-translate --mlir-to-llvmir -o "$3"
}

shape=2048x2048
[ "$smoke" = 1 ] && shape=64x256
m=${shape%x*}; k=${shape#*x}
inputs=()
for n in 1 128; do
  for t in portable neon-dotprod neon; do
    name="sherry_${t//-/}_t1_${shape}_n$n"
    kernel "$name" "$m" "$k" "$n" >"$out/kernels/$name.mlir"
    lower "$out/kernels/$name.mlir" "$t" "$out/kernels/$name.ll"
    inputs+=("$out/kernels/$name.ll")
  done
done
# The NEON table kernel on run-time weights in the tables layout (tbl is
# Armv8.0: the same code for both NEON targets): one step of one tile, 512
# weights, per iteration.
if [ "$smoke" = 0 ]; then
  name="sherry_neonrtables_t1_${shape}_n1"
  kernel "$name" "$m" "$k" 1 tables >"$out/kernels/$name.mlir"
  lower "$out/kernels/$name.mlir" neon "$out/kernels/$name.ll"
  inputs+=("$out/kernels/$name.ll=512")
fi

args=(--json "$out/aarch64_mca.json")
[ -n "$peers" ] && args+=(--peers "$peers")
if [ -n "$md" ]; then
  commit=$(git -C "$root" rev-parse --short=10 HEAD 2>/dev/null || echo "?")
  llvm=$(/usr/lib/llvm-22/bin/llvm-mca --version |
    sed -n 's/.*LLVM version \([0-9.]*\).*/LLVM \1/p' | head -1)
  page=$(realpath --relative-to="$root" "$md")
  invocation="bench/aarch64.sh"
  [ "$smoke" = 1 ] && invocation+=" --smoke"
  invocation+=" --md $page${peers:+ --peers PEERS.json}"
  args+=(--md "$md" --sitting "Run of $(date -u '+%Y-%m-%d %H:%M') UTC \
(sherry-mlir $commit, $llvm): \`$invocation\`.")
fi
/usr/bin/python3 "$root/bench/aarch64_mca.py" "${inputs[@]}" "${args[@]}"
