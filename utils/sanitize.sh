#!/usr/bin/env bash
# Builds sherry-mlir with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DSHERRY_SANITIZE=address,undefined; only our code is instrumented, not
# Debian's MLIR/LLVM libraries) and runs the unit tests and the lit suite
# under it. See docs/reliability.md.
#
#   utils/sanitize.sh [--build-dir DIR] [--subset]
#
# --build-dir DIR  build directory (default: build-asan). An existing one
#                  keeps its other cache settings (e.g. SHERRY_FUZZ=ON).
# --subset         the format and dialect unit tests and the lit tests
#                  that run every pass and kernel lowering through our
#                  instrumented tools (Conversion, Dialect, Pipelines,
#                  sherry-pack, sherry-opt, sherry-compile; no mlir-runner
#                  tests). CI runs this (ctest's sanitize-subset).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

build_dir=build-asan
subset=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --subset) subset=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "sanitize.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

cmake -G Ninja -S "$root" -B "$build_dir" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DLLVM_USE_LINKER=lld \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
  -DPython3_EXECUTABLE=/usr/bin/python3 \
  -DSHERRY_SANITIZE=address,undefined

# Only what the tests below need (not the C API, the docs or the examples).
if [[ $subset -eq 1 ]]; then
  cmake --build "$build_dir" --target sherry-opt sherry-pack sherry-compile \
    SherryFormatTests SherryDialectTests
else
  cmake --build "$build_dir" --target sherry-opt sherry-pack sherry-compile \
    SherryUnitTests
fi

# Leak checking is off: MLIR keeps process-lifetime allocations (and the
# JIT/mlir-runner tests are not ours to instrument). allow_user_poisoning=0:
# LLVM's BumpPtrAllocator poisons its slabs in inline header code (compiled
# instrumented, in our objects) and unpoisons them in libLLVM/libMLIR code
# (not instrumented), which ASan then reports as use-after-poison on every
# MLIRContext: a false positive of mixing instrumented and plain LLVM code.
# Every other report is fatal (-fno-sanitize-recover=all) and prints a stack.
export ASAN_OPTIONS="detect_leaks=0:allow_user_poisoning=0:print_summary=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

status=0
echo "== unit tests (ASan+UBSan)"
if [[ $subset -eq 1 ]]; then
  "$build_dir/unittests/Format/SherryFormatTests" --gtest_brief=1 || status=1
  "$build_dir/unittests/Dialect/SherryDialectTests" --gtest_brief=1 || status=1
else
  for t in "$build_dir"/unittests/*/Sherry*Tests; do
    [[ -x $t ]] || continue
    echo "-- $t"
    "$t" --gtest_brief=1 || status=1
  done
fi

echo "== lit (ASan+UBSan)"
lit=$(sed -n 's/^SHERRY_LIT:FILEPATH=//p' "$build_dir/CMakeCache.txt")
lit_dirs=("$build_dir/test")
if [[ $subset -eq 1 ]]; then
  lit_dirs=("$build_dir/test/Conversion" "$build_dir/test/Dialect"
            "$build_dir/test/Pipelines" "$build_dir/test/sherry-pack"
            "$build_dir/test/sherry-opt" "$build_dir/test/sherry-compile")
fi
# Examples/llama-block.test loads libSherryCAPI.so into the system Python
# through ctypes, which cannot host the ASan runtime (it would need
# LD_PRELOAD of libclang_rt.asan); the C API's code paths are the compiler's
# and the format library's, which the other tests run instrumented.
"$lit" -sv --filter-out 'Examples/llama-block' "${lit_dirs[@]}" || status=1

if [[ $status -eq 0 ]]; then
  echo "sanitize.sh: no sanitizer findings, all tests passed"
else
  echo "sanitize.sh: FAILURES (see the reports above)" >&2
fi
exit $status
