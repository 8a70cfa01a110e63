# -*- Python -*-
# lit configuration for sherry-mlir.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "SHERRY"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "README.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.sherry_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
# A PATH with our tools and LLVM's first, for scripts that call them by name.
config.substitutions.append((
    "%tool_path", os.pathsep.join([config.sherry_tools_dir,
                                   config.llvm_tools_dir,
                                   config.environment["PATH"]])))
# Debian's Python, which has numpy; the first python3 on PATH may not.
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%sherry_src_root", config.sherry_src_root))
# The format library's core sources, for tests that compile it for another
# target (lib/Format/CMakeLists.txt has them all; files and GGUF are not
# needed there).
config.substitutions.append((
    "%sherry_format_sources",
    " ".join(os.path.join(config.sherry_src_root, "lib", "Format", f)
             for f in ["Codebook.cpp", "Half.cpp", "Layout.cpp",
                       "TableLayout.cpp", "Ternarize.cpp", "Pack.cpp",
                       "Reference.cpp"])))
# The C compiler of our LLVM, for tests that link compiled objects into C
# programs.
config.substitutions.append(
    ("%clang", os.path.join(config.llvm_tools_dir, "clang")))

# Running compiled code: mlir-runner's support libraries (printing) and the
# OpenMP runtime (threaded code) from Debian's LLVM.
mlir_lib_dir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
config.substitutions.append((
    "%runner_libs",
    "-shared-libs=" + ",".join(
        os.path.join(mlir_lib_dir, lib)
        for lib in ["libmlir_c_runner_utils.so", "libmlir_runner_utils.so",
                    "libomp.so"])))

config.substitutions.append(("%sherry_build_dir", config.sherry_obj_root))
config.substitutions.append((
    "%sherry_capi_library",
    os.path.join(config.sherry_obj_root, "lib", "libSherryCAPI.so")))
# The plugin a stock mlir-opt loads (lib/Plugin). It needs an mlir-opt
# linked with libMLIR.so, as Debian's is, and no sanitizer (the tool has
# no sanitizer runtime for it): feature `mlir-opt-plugins`.
config.substitutions.append((
    "%sherry_plugin",
    os.path.join(config.sherry_obj_root, "lib", "SherryPlugin.so")))
if (os.path.exists(os.path.join(mlir_lib_dir, "libMLIR.so"))
        and not config.sherry_sanitize):
    config.available_features.add("mlir-opt-plugins")

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# Our tools first, then LLVM's (FileCheck, not, mlir-runner, llc, ...).
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.sherry_tools_dir, append_path=True)

tool_dirs = [config.sherry_tools_dir, config.llvm_tools_dir]
tools = ["sherry-compile", "sherry-opt", "sherry-pack", "mlir-opt", "mlir-translate", "mlir-runner", "llc"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# CPU features of this machine, for tests that run target-specific code.
try:
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split()
                      for line in f if line.startswith("flags")), [])
except OSError:
    flags = []
if {"avx512f", "avx512bw", "avx512vbmi", "avx512_vnni"} <= set(flags):
    config.available_features.add("avx512-vnni")
if {"avx512f", "avx512bw"} <= set(flags):
    config.available_features.add("avx512-bw")
if "avx2" in flags:
    config.available_features.add("avx2")

# Cross-compiled AArch64 code run under user-mode qemu: the feature
# `qemu-aarch64` needs qemu-aarch64 (Debian: qemu-user) and a clang that
# links static AArch64 C++ programs (Debian: libc6-dev-arm64-cross and
# libstdc++-12-dev-arm64-cross, found by clang under /usr/aarch64-linux-gnu
# and /usr/lib/gcc-cross), with lld.
#   %aarch64_cxx   clang++ for aarch64-linux-gnu (compiles)
#   %aarch64_link  the same, linking a static executable with lld
#   %qemu_aarch64  qemu-aarch64 with the cross sysroot (add -cpu NAME)
def _aarch64_cross():
    import shutil
    import subprocess
    qemu = shutil.which("qemu-aarch64")
    clangxx = shutil.which("clang++", path=config.llvm_tools_dir)
    lld = shutil.which("ld.lld", path=config.llvm_tools_dir)
    if not (qemu and clangxx and lld):
        return None
    target = "--target=aarch64-linux-gnu"
    for lib in ["libc.a", "libstdc++.a", "libm.a"]:
        try:
            found = subprocess.run([clangxx, target, "-print-file-name=" + lib],
                                   capture_output=True, text=True,
                                   timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
        if not os.path.isabs(found) or not os.path.exists(found):
            return None
    sysroot = "/usr/aarch64-linux-gnu"
    return (f"{clangxx} {target}", f"{clangxx} {target} -fuse-ld=lld -static",
            f"{qemu} -L {sysroot}" if os.path.isdir(sysroot) else qemu)


_cross = _aarch64_cross()
if _cross:
    config.available_features.add("qemu-aarch64")
    config.substitutions.append(("%aarch64_cxx", _cross[0]))
    config.substitutions.append(("%aarch64_link", _cross[1]))
    config.substitutions.append(("%qemu_aarch64", _cross[2]))
