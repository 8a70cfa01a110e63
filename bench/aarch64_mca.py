#!/usr/bin/env python3
"""Static cost of the AArch64 kernels' hot loops (llvm-mca).

AArch64 cannot be timed on this machine, so this compiles the LLVM IR of a
sherry kernel (a portable one, the same IR the x86 figures run, or one
lowered for target=neon-dotprod or neon, whose functions pin their own
features) with `llc -mtriple=aarch64-linux-gnu -mattr=+neon,+dotprod`,
takes its hot loop
(the innermost loop with the most instructions; where the kernel's loop nest
is outlined, `sherry-outline-kernel-loops`, the one in an outlined
`__sherry_kernel_loop_*` function, since the loop around its call holds only
per-block set-up) and asks llvm-mca for its throughput on Neoverse N1 and
Cortex-A76.

Weights per iteration come from the loop's own loads of packed weights: the
loads narrower than 16 bytes that are neither stack spills nor constant-pool
reads (8-byte slot and 2-byte sign loads: 1.25 bits per weight). The load
breakdown is printed so that the figure can be checked by eye.

The table kernels load their weights as whole q registers next to their
tables, so for them the weights per iteration come from the loop's
structure instead: KERNEL.ll=WEIGHTS (one step of one tile is 32 rows x 16
K elements = 512 weights).

Usage: aarch64_mca.py KERNEL.ll[=WEIGHTS] [...] --json OUT.json
"""
import argparse
import json
import os
import re
import subprocess
import tempfile

LLC = "/usr/lib/llvm-22/bin/llc"
MCA = "/usr/lib/llvm-22/bin/llvm-mca"
CPUS = ["neoverse-n1", "cortex-a76"]
LOAD_BYTES = {"b": 1, "h": 2, "s": 4, "d": 8, "q": 16}


def innermost_loops(asm):
    """(function, label, [instruction lines]) of every innermost loop of the
    asm."""
    lines = asm.splitlines()
    loops = []
    function = ""
    for i, line in enumerate(lines):
        m = re.match(r"^([A-Za-z_]\w*):", line)
        if m:
            function = m.group(1)
        if "Inner Loop Header" not in line:
            continue
        # The header label is on this line or the closest one above.
        j = i
        while j >= 0 and not re.match(r"^\.?\w+:", lines[j]):
            j -= 1
        label = lines[j].split(":")[0]
        body = []
        for line2 in lines[j + 1:]:
            text = line2.split("//")[0].strip()
            if not text or text.endswith(":") or text.startswith("."):
                continue
            body.append(text)
            if re.search(r"(?<![\w.])" + re.escape(label) + r"(?!\w)", text):
                break
        loops.append((function, label, body))
    return loops


def packed_bytes(body):
    """Bytes the loop loads from memory other than the stack and constants,
    split into narrow (< 16 bytes: packed weights) and wide loads."""
    narrow, wide = [], 0
    for ins in body:
        m = re.match(r"(ldur|ldr|ldp|ld1)\s+(.*)", ins)
        if not m or "[sp" in ins or ":lo12:" in ins:
            continue
        regs = re.findall(r"\b([bhsdq])\d+\b", m.group(2).split("[")[0])
        nbytes = sum(LOAD_BYTES[r] for r in regs)
        if m.group(1) in ("ldr", "ldur") and len(regs) == 1 and nbytes < 16:
            narrow.append(nbytes)
        else:
            wide += nbytes
    return narrow, wide


def mca(body, cpu):
    with tempfile.NamedTemporaryFile("w", suffix=".s", delete=False) as f:
        f.write("\n".join(body) + "\n")
        path = f.name
    try:
        out = subprocess.run(
            [MCA, "-mtriple=aarch64-linux-gnu", f"-mcpu={cpu}",
             "-iterations=200", path],
            capture_output=True, text=True, check=True).stdout
    finally:
        os.remove(path)
    get = {}
    for key in ("Iterations", "Instructions", "Total Cycles",
                "Block RThroughput", "IPC"):
        m = re.search(rf"^{key}:\s+([\d.]+)", out, re.M)
        get[key] = float(m.group(1)) if m else None
    return {"cycles_per_iter": get["Total Cycles"] / get["Iterations"],
            "block_rthroughput": get["Block RThroughput"],
            "ipc": get["IPC"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kernels", nargs="+")
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    results = []
    for arg in a.kernels:
        ll, _, given = arg.partition("=")
        asm = subprocess.run(
            [LLC, "-O3", "-mtriple=aarch64-linux-gnu",
             "-mattr=+neon,+dotprod", ll, "-o", "-"],
            capture_output=True, text=True, check=True).stdout
        loops = innermost_loops(asm)
        if not loops:
            continue
        outlined = [lp for lp in loops
                    if lp[0].startswith("__sherry_kernel_loop_")]
        _, label, body = max(outlined or loops, key=lambda lp: len(lp[2]))
        narrow, wide = packed_bytes(body)
        weights = float(given) if given else sum(narrow) * 8 / 1.25
        spills = sum(1 for ins in body if "[sp" in ins)
        rec = {"kernel": os.path.basename(ll)[:-3],
               "instructions_per_iter": len(body),
               "stack_accesses_per_iter": spills,
               "packed_loads_bytes": narrow,
               "other_load_bytes": wide,
               "weights_per_iter": weights,
               "weights_from": "loop structure" if given else "loads"}
        if weights:
            rec["instructions_per_256_weights"] = len(body) * 256 / weights
        for cpu in CPUS:
            r = mca(body, cpu)
            if weights:
                r["cycles_per_256_weights"] = (r["cycles_per_iter"] * 256
                                               / weights)
            rec[cpu] = r
        results.append(rec)
        print(f"aarch64_mca.py: {rec['kernel']}: {len(body)} instructions, "
              f"{weights:.0f} weights per iteration")
    with open(a.json, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
