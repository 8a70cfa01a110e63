#!/usr/bin/env bash
# Times the kernels of the --sherry-to-llvm pipeline and writes
# docs/performance.md, docs/performance/results.json and the charts.
#
#   bench/run.sh [--quick | --smoke] [--peer CMD] [--peer-aarch64 JSON]
#                [--build-dir DIR]
#                [--sherry-opt BIN] [--no-mlir-f32] [--variants V,...]
#
#   (default)  every shape, N = 1 and 128, every variant; about 5 to 10
#              minutes on 2 cores. Writes docs/performance.md and
#              docs/performance/.
#   --quick    the same kernels, fewer and shorter repetitions; also writes
#              the docs (marked quick).
#   --smoke    one tiny shape, one repetition; writes only under the build
#              directory and checks that the report parses (a few seconds
#              once built).
#   --peer CMD a peer implementation timed in the same sitting, after ours:
#              `CMD --threads T [--quick]` for T = 1, 2 must print JSON
#              {"impl", "commit", "build", "method", "results": [{"type",
#              "m", "k", "n", "threads", "median_us"}], "decode": [{"type",
#              "threads", "median_us", "weight_bytes"}]}. Nothing of the peer
#              is kept in the repository; docs/performance.md records its
#              "impl", "commit", "build" and "method".
#   --peer-aarch64 JSON
#              peer AArch64 kernels' assembly for the static AArch64 section
#              (bench/aarch64.sh; bench/aarch64_mca.py says what the JSON
#              holds), measured in the same run as ours.
#
# Builds under build-bench/<mode>/ (never touches build/), with
# build/bin/sherry-opt, mlir-translate and clang-22 from LLVM 22, Google
# Benchmark, OpenBLAS (pthreads) and libomp.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=full
peer=""
peer_aarch64=""
build_dir="$root/build-bench"
sherry_opt="$root/build/bin/sherry-opt"
gen_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;
    --peer) peer="$2"; shift ;;
    --peer-aarch64) peer_aarch64="$2"; shift ;;
    --build-dir) build_dir="$2"; shift ;;
    --sherry-opt) sherry_opt="$2"; shift ;;
    --no-mlir-f32) gen_args+=(--no-mlir-f32) ;;
    --variants) gen_args+=(--variants "$2"); shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

for tool in "$sherry_opt" /usr/lib/llvm-22/bin/mlir-translate clang-22 \
            clang++-22 ninja /usr/bin/python3; do
  command -v "$tool" >/dev/null ||
    { echo "run.sh: '$tool' not found (utils/setup.sh installs it)" >&2;
      exit 2; }
done

out="$build_dir/$mode"
results="$out/results"
mkdir -p "$out"
rm -rf "$results"
mkdir -p "$results"

case "$mode" in
  full) reps=9; min_time=0.08; peer_args=() ;;
  quick) reps=3; min_time=0.02; peer_args=(--quick) ;;
  smoke) reps=2; min_time=0.001; peer_args=(--quick); gen_args+=(--smoke) ;;
esac

start=$(date +%s)
echo "==> Generating kernels into $out"
/usr/bin/python3 "$root/bench/gen_kernels.py" "$out" --root "$root" \
  --sherry-opt "$sherry_opt" "${gen_args[@]}"
echo "==> Compiling (sherry-opt, mlir-translate, clang-22 -O3 -march=native)"
ninja -C "$out" >"$out/ninja.log" 2>&1 ||
  { tail -30 "$out/ninja.log" >&2; exit 1; }

# The AArch64 section: static, so it runs first and writes its part of the
# page, which report.py keeps.
if [ "$mode" = smoke ]; then
  md="$out/performance.md"
  figs="$out/performance"
else
  md="$root/docs/performance.md"
  figs="$root/docs/performance"
fi
if command -v /usr/lib/llvm-22/bin/llc >/dev/null &&
   command -v /usr/lib/llvm-22/bin/llvm-mca >/dev/null; then
  echo "==> AArch64 hot-loop analysis (llc, llvm-mca)"
  aarch64_args=(--out "$out/aarch64" --md "$md" --sherry-opt "$sherry_opt")
  [ "$mode" = smoke ] && aarch64_args+=(--smoke)
  [ -n "$peer_aarch64" ] && aarch64_args+=(--peers "$peer_aarch64")
  "$root/bench/aarch64.sh" "${aarch64_args[@]}" >"$out/aarch64.log"
  cp "$out/aarch64/aarch64_mca.json" "$results/"
fi

bench_args=(--reps="$reps" --min-time="$min_time"
            --benchmark_enable_random_interleaving=true
            --benchmark_out_format=json)
[ "$mode" = smoke ] && bench_args+=(--smoke)
families=(bw sherry blas mlirf32 decode)
# The decode step needs the LLaMA shapes, which --smoke does not build.
[ "$mode" = smoke ] && families=(bw sherry blas mlirf32)
for fam in "${families[@]}"; do
  echo "==> Timing: $fam"
  cat /proc/loadavg >"$results/$fam.loadavg"
  ps -eo pcpu,comm --sort=-pcpu | sed -n '2,6p' >"$results/$fam.ps"
  if ! "$out/sherry-bench" --family="$fam" "${bench_args[@]}" \
      --benchmark_out="$results/$fam.json" >"$results/$fam.txt" \
      2>"$results/$fam.err"; then
    cat "$results/$fam.err" >&2
    exit 1
  fi
  grep '^sherry-bench:' "$results/$fam.err" || true
done
if [ -n "$peer" ] && [ "$mode" != smoke ]; then
  for t in 1 2; do
    echo "==> Timing the peer: $peer --threads $t"
    cat /proc/loadavg >"$results/peer_t$t.loadavg"
    ps -eo pcpu,comm --sort=-pcpu | sed -n '2,6p' >"$results/peer_t$t.ps"
    # shellcheck disable=SC2086
    $peer --threads "$t" "${peer_args[@]}" >"$results/peer_t$t.json"
  done
fi
echo "$(( $(date +%s) - start ))" >"$results/elapsed_s"

echo "==> Writing $md"
check=()
[ "$mode" = smoke ] && check=(--check)
/usr/bin/python3 "$root/bench/report.py" --results "$results" \
  --manifest "$out/manifest.json" --mode "$mode" --md "$md" --figs "$figs" \
  "${check[@]}"
