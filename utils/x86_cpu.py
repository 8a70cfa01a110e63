"""The x86 targets' CPU needs, shared by utils/difftest.py and
bench/gen_kernels.py: which /proc/cpuinfo flags each target's code needs to
run natively (the CPU and features --sherry-to-llvm pins for it,
docs/targets.md), and this CPU's flags."""

TARGET_FLAGS = {
    "portable": set(),
    "avx512-vnni": {"avx512f", "avx512bw", "avx512vbmi", "avx512_vnni"},
    "avx512-bw": {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"},
    "avx2": {"avx2", "fma", "bmi2", "f16c"},
    "host": set(),
}


def cpu_flags():
    """The flags of the first CPU in /proc/cpuinfo (empty where unreadable)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def missing_flags(target, flags):
    """The flags `target` needs that `flags` lacks (empty: it runs)."""
    return TARGET_FLAGS.get(target, set()) - flags
