#!/usr/bin/env bash
# Installs sherry-mlir from BUILD_DIR into a scratch prefix, builds the
# out-of-tree consumer in examples/embedding against the installed package
# (find_package(SherryMLIR)), and runs its lit test.
#
#   utils/test-embedding.sh BUILD_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "$1" && pwd)"
work="$build/embedding"
rm -rf "$work"
cmake --install "$build" --prefix "$work/install" >/dev/null
cmake -G Ninja -S "$root/examples/embedding" -B "$work/build" \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DLLVM_USE_LINKER=lld \
  -DSherryMLIR_DIR="$work/install/lib/cmake/SherryMLIR" >/dev/null
cmake --build "$work/build" >/dev/null
/usr/lib/llvm-22/bin/lit -v "$work/build/test"
