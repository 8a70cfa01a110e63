#!/usr/bin/env bash
# Sets up a Debian 12 machine for sherry-mlir and builds it.
#
#   utils/setup.sh [--no-install] [--build-dir DIR] [--build-type TYPE]
#
# Installs every Debian package the project uses (idempotent: apt-get skips
# what is there), configures with clang-22 + lld against the system MLIR 22,
# and builds everything, tests included.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$root/build"
build_type=Release
install=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) install=0 ;;
    --build-dir) build_dir="$2"; shift ;;
    --build-type) build_type="$2"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

packages=(
  # Compiler toolchain and MLIR 22.
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22
  libomp-22-dev libclang-rt-22-dev cmake ninja-build
  # Libraries LLVM's CMake package expects to find.
  zlib1g-dev libzstd-dev libedit-dev libxml2-dev libcurl4-openssl-dev
  # Tests and benchmarks (bench/run.sh: OpenBLAS baseline, gnuplot charts).
  libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev gnuplot-nox
  # Python package and its tests (scikit-learn: the digits of examples/qat;
  # fortunes: the text examples/llama-train trains a model on).
  python3 python3-numpy python3-pytest python3-pybind11 python3-torch
  python3-sklearn fortunes-min fortunes
  # pip install ./python into a virtual environment, offline.
  python3-venv python3-pip python3-setuptools python3-wheel
  # AArch64 cross compilation and emulation.
  qemu-user libc6-dev-arm64-cross libgcc-12-dev-arm64-cross
  libstdc++-12-dev-arm64-cross
)

if [ "$install" = 1 ]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "==> Installing: ${missing[*]}"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
      --no-install-recommends "${missing[@]}"
  fi
fi

echo "==> Configuring $build_dir ($build_type)"
cmake -G Ninja -S "$root" -B "$build_dir" \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DLLVM_USE_LINKER=lld \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null

echo "==> Building"
cmake --build "$build_dir"
