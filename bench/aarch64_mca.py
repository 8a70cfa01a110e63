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
per-block set-up) and asks llvm-mca for its throughput on Neoverse N1, V1
and V2 (LLVM's Cortex-A76 model is its Cortex-A57 one, so no A76 figure).

Weights per iteration come from the loop itself. The NEON decode kernels
look up each 16 weights with one `tbl` from a two-register table, so they
count those; where the hot loop multiplies a panel of weights that another
loop decoded (sdot at N >= 8), it covers what one iteration of that loop
decodes. Elsewhere they come from the loop's loads of packed weights:
the loads narrower than 16 bytes that are neither stack spills nor
constant-pool reads (8-byte slot and 2-byte sign loads: 1.25 bits per
weight). The load breakdown is printed so that the figure can be checked by
eye.

The table kernels load their weights as whole q registers next to their
tables, so for them the weights per iteration come from the loop's
structure instead: KERNEL.ll=WEIGHTS (one step of one tile is 32 rows x 16
K elements = 512 weights).

Usage: aarch64_mca.py KERNEL.ll[=WEIGHTS] [...] --json OUT.json
                      [--peers PEERS.json] [--md PAGE.md] [--sitting TEXT]
                      [--ghz 3.0] [--gbps 20]

--peers adds peer kernels, compiled outside the repository (nothing of
them is kept here), measured the same way in the same run. PEERS.json:
{"source": "what and which commit", "build": "how it was compiled",
"reference": NAME, "kernels": [{"name", "asm": an AArch64 assembly file,
"function": its symbol, "weights_per_iter", "bits_per_weight", "covers":
what one iteration of its hot loop covers}]}. The peer named "reference"
gets a ratio column.

--md writes the AArch64 section of the page (between its markers), with a
static estimate of one decode step of LLaMA-3.2-1B's linear layers at a
stated clock (--ghz) and weight stream bandwidth (--gbps). bench/aarch64.sh
runs all of this for the repository's kernels.
"""
import argparse
import json
import os
import re
import subprocess
import tempfile

from gen_kernels import LAYER_SHAPES, LAYERS
from page_sections import markers, replace_section

LLC = "/usr/lib/llvm-22/bin/llc"
MCA = "/usr/lib/llvm-22/bin/llvm-mca"
CPUS = ["neoverse-n1", "neoverse-v1", "neoverse-v2"]
LOAD_BYTES = {"b": 1, "h": 2, "s": 4, "d": 8, "q": 16}
BEGIN, END = markers("aarch64", "bench/aarch64.sh")



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


def two_register_lookups(body):
    """The loop's `tbl` instructions with a two-register table: the NEON
    decode kernels (lane-major) look up 16 weights with each, whatever the
    loads' widths."""
    return sum(1 for ins in body
               if re.match(r"tbl\s+v\d+\.16b,\s*\{\s*v\d+\.16b,\s*"
                           r"v\d+\.16b\s*\}", ins))


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


def function_bodies(asm):
    """{function: [instruction lines]} of the asm's functions, each up to
    its first `ret`: the block of a function without loops."""
    bodies, function, done = {}, None, True
    for line in asm.splitlines():
        m = re.match(r"^([A-Za-z_]\w*):", line)
        if m:
            function, done = m.group(1), False
            bodies[function] = []
            continue
        text = line.split("//")[0].strip()
        if (done or not text or text.endswith(":")
                or text.startswith(".")):
            continue
        bodies[function].append(text)
        done = text == "ret"
    return bodies


def panel_lookups(asm):
    """The most two-register lookups of one innermost loop of the asm: in a
    panel kernel, those of the loop that decodes the panel."""
    return max((two_register_lookups(body)
                for _, _, body in innermost_loops(asm)), default=0)


def hot_block(asm, function=None):
    """The block llvm-mca measures: the innermost loop with the most
    instructions (of `function` where given; in an outlined
    `__sherry_kernel_loop_*` function where there is one), or the whole
    body of `function` where it has no loop (fully unrolled kernels)."""
    loops = innermost_loops(asm)
    if function:
        loops = [lp for lp in loops if lp[0] == function]
        if not loops:
            body = function_bodies(asm).get(function)
            return ("function", body) if body else None
    if not loops:
        return None
    outlined = [lp for lp in loops
                if lp[0].startswith("__sherry_kernel_loop_")]
    _, label, body = max(outlined or loops, key=lambda lp: len(lp[2]))
    return label, body


def analyze(name, body, given=None, panel_lookups=0):
    """The static cost record of one hot block. `panel_lookups`: the
    two-register lookups per iteration of the loop that decodes the panel
    this block multiplies, if any."""
    narrow, wide = packed_bytes(body)
    lookups = two_register_lookups(body)
    if given:
        weights, source = float(given), "loop structure"
    elif lookups:
        weights, source = 16.0 * lookups, "tbl lookups"
    elif panel_lookups and not narrow:
        # Each iteration multiplies the chunk of the rows that an iteration
        # of the panel decode decodes.
        weights, source = 16.0 * panel_lookups, "panel decode's tbl lookups"
    else:
        weights, source = sum(narrow) * 8 / 1.25, "loads"
    spills = sum(1 for ins in body if "[sp" in ins)
    # Weight x activation-row products per iteration, where the loop
    # multiplies with sdot (16) or smull/smlal (8 per instruction).
    mnemonics = [ins.split()[0] for ins in body]
    products = (16 * mnemonics.count("sdot") +
                8 * sum(mnemonics.count(m) for m in
                        ("smull", "smull2", "smlal", "smlal2")))
    rec = {"kernel": name,
           "instructions_per_iter": len(body),
           "stack_accesses_per_iter": spills,
           "packed_loads_bytes": narrow,
           "other_load_bytes": wide,
           "weights_per_iter": weights,
           "weights_from": source}
    if weights:
        rec["instructions_per_256_weights"] = len(body) * 256 / weights
        if products:
            rec["activation_rows_per_iter"] = products / weights
    for cpu in CPUS:
        r = mca(body, cpu)
        if weights:
            r["cycles_per_256_weights"] = (r["cycles_per_iter"] * 256
                                           / weights)
        rec[cpu] = r
    return rec


def cycles(rec, cpu):
    return rec.get(cpu, {}).get("cycles_per_256_weights")


def decode_step(recs, weights, ghz, gbps):
    """Static time of one decode step (N = 1) over `weights` ternary
    weights, per kernel and CPU: the larger of its compute (cycles per 256
    weights at `ghz`) and its weight stream (bits per weight at `gbps`)."""
    rows = []
    for rec in recs:
        bpw = rec.get("bits_per_weight")
        if not bpw or rec.get("n", 1) != 1:
            continue
        row = {"kernel": rec["label"], "bits_per_weight": bpw,
               "stream_ms": weights * bpw / 8 / (gbps * 1e9) * 1e3}
        for cpu in CPUS:
            c = cycles(rec, cpu)
            if c is not None:
                compute = weights * c / 256 / (ghz * 1e9) * 1e3
                row[cpu] = {"compute_ms": compute,
                            "step_ms": max(compute, row["stream_ms"])}
        rows.append(row)
    return rows


# The AArch64 kernels' targets: (our kernel's label prefix, N, CPUs, the
# most cycles per weight and activation row as a share of the reference's,
# what it says, what bounds the kernel as analyzed in the design note).
TARGETS = [
    ("neonrtables", 1, ("neoverse-n1", "neoverse-v2"), 0.5,
     "run-time-weight NEON tables, N = 1",
     "the vector pipes (2 on N1, 4 on V2): 88 vector instructions per "
     "512-weight step (24 tbl, 24 for the signs, 32 zip/add widening int8 "
     "sums to int16, 8 for the nibbles); 0.5x allows 60 on N1, 56 on V2"),
    ("neondotprod", 1, ("neoverse-n1",), 1.0, "decode kernel (sdot), N = 1",
     "N1's two vector pipes: per 128 weights 8 tbl, 8 sdot, 8 for the "
     "signs, the nibble split (ushr on one pipe)"),
    ("neondotprod", 128, ("neoverse-n1",), 0.5,
     "decode kernel (sdot), N = 128, per activation row",
     "N1's dispatch (3 uops a cycle): 16 sdot and 8 q loads of 2 uops "
     "per 16 weights of a 4 x 4 block"),
]


def targets(recs, reference):
    """The targets table: each target's ratio against the reference and
    the hot loop's stack accesses (the decode kernels must have none)."""
    w = [f"| target | CPU | required (× {reference['label']}) | ours | "
         "stack accesses | met | what bounds it |",
         "|---|---|---|---|---|---|---|"]
    for prefix, n, cpus, most, what, bound in TARGETS:
        rec = next((r for r in recs if r["label"].startswith(prefix + " ")
                    and r.get("n") == n), None)
        if not rec:
            continue
        rows = rec.get("activation_rows_per_iter") or 1
        for cpu in cpus:
            ours, ref = cycles(rec, cpu), cycles(reference, cpu)
            if ours is None or not ref:
                continue
            ratio = ours / rows / ref
            spills = rec["stack_accesses_per_iter"]
            met = ratio <= most and (prefix == "neonrtables" or spills == 0)
            w.append(f"| {what} | {cpu} | ≤ {most:.2f} | {ratio:.2f} | "
                     f"{spills} | {'yes' if met else '**no**'} | {bound} |")
    return w + ["", "What bounds each kernel is measured in "
                "[design/2026-12-07-aarch64-kernels.md](design/2026-12-07-"
                "aarch64-kernels.md) (llvm-mca's resource pressure, "
                "instruction by instruction).", ""]


def fmt(v, digits=1):
    return "–" if v is None else f"{v:.{digits}f}"


def section(recs, peers, sitting, step, ghz, gbps, weights, reference):
    """The AArch64 section of docs/performance.md."""
    w = [BEGIN, "## AArch64: static cost of the kernels (not timed)", ""]
    w.append(
        "AArch64 cannot be timed on this machine, so the kernels' hot loops "
        "are judged statically: each kernel is compiled with `llc -O3 "
        "-mtriple=aarch64-linux-gnu` (LLVM 22), its hot loop (the "
        "innermost loop with the most instructions, or the whole body of a "
        "fully unrolled kernel) goes through `llvm-mca -iterations=200` "
        "for Neoverse N1, V1 and V2, and the cycles per iteration become "
        "cycles per 256 weights. No cache misses, no frequency: per-weight "
        "compute only. " + sitting)
    w.append("")
    w.append(
        "Ours: the matmul 2048 x 2048 at N = 1 and N = 128, for "
        "`--sherry-to-llvm=\"target=neon-dotprod\"` (the decode kernel: "
        "`tbl` decode, `sdot`), `target=neon` (Armv8.0: `smull`) and "
        "`target=portable` (upstream vector ops), weights passed at run "
        "time in the `sherry` layout; and `neonrtables`, the activation-"
        "table kernel on run-time weights in the `tables` layout (one step "
        "of one tile, 32 rows x 16 K elements = 512 weights per "
        "iteration, plus the table build once per call). Weights per "
        "iteration come from the decode kernels' two-register `tbl` "
        "lookups (16 weights each; at N = 128, neondotprod's hot loop "
        "multiplies a panel of 4 rows that another loop decoded once, "
        "and covers what that loop decodes per iteration) and from the "
        "portable kernel's packed weight loads.")
    w.append("")
    if peers:
        w.append("Peers, compiled the same way in the same run (" +
                 peers.get("source", "") + "; " + peers.get("build", "") +
                 "):")
        w.append("")
        for rec in recs:
            if rec.get("peer"):
                w.append(f"- {rec['label']}: {rec['covers']}")
        w.append("")
    w.append("| kernel | N | instructions / iteration | weights / iteration "
             "| activation rows / iteration | stack spills+reloads / "
             "iteration | instructions per 256 weights | cycles per 256 "
             "weights: Neoverse N1 | V1 | V2 |"
             + (f" per weight and activation row, × {reference['label']}: "
                f"N1 | V1 | V2 |" if reference else ""))
    w.append("|---|---|---|---|---|---|---|---|---|---|"
             + ("---|---|---|" if reference else ""))
    for rec in recs:
        c = [cycles(rec, cpu) for cpu in CPUS]
        rows = rec.get("activation_rows_per_iter")
        ratios = []
        if reference:
            for cpu, v in zip(CPUS, c):
                ref = cycles(reference, cpu)
                ratios.append(v / (rows or 1) / ref if v and ref and
                              (rows or rec.get("n", 1) == 1) else None)
        w.append(f"| {rec['label']} | {rec.get('n', 1)} | "
                 f"{rec['instructions_per_iter']} | "
                 f"{rec['weights_per_iter']:.0f} | "
                 f"{fmt(rows, 0)} | "
                 f"{rec['stack_accesses_per_iter']} | "
                 f"{fmt(rec.get('instructions_per_256_weights'), 0)} | "
                 + " | ".join(fmt(v) for v in c) + " |"
                 + "".join(f" {fmt(r, 2)} |" for r in ratios))
    w.append("")
    if reference:
        w += targets(recs, reference)
    w.append(
        "Activation rows per iteration count the loop's `sdot` (16 "
        "products each) and `smull`/`smlal` (8 each) against its weights; "
        "the ratio columns divide by them, so at N = 128 they compare the "
        "cost of one weight times one activation row with the peer's at "
        "N = 1 (ggml's dot products handle one activation row a call). "
        "The portable kernel multiplies with other instructions, so it "
        "has no such count or ratio at N = 128.")
    w.append("")
    if step:
        w.append(
            f"A decode step of LLaMA-3.2-1B's 112 linear layers "
            f"({weights / 1e6:.0f} M weights, N = 1, one core) from these "
            f"figures, at a stated {ghz:g} GHz and {gbps:g} GB/s of weight "
            f"stream: the larger of compute and stream, in ms.")
        w.append("")
        w.append("| kernel | bits per weight | stream ms | N1 ms | V1 ms | "
                 "V2 ms |")
        w.append("|---|---|---|---|---|---|")
        for row in step:
            w.append(f"| {row['kernel']} | {row['bits_per_weight']:.2f} | "
                     f"{row['stream_ms']:.1f} | " +
                     " | ".join(fmt(row.get(cpu, {}).get("step_ms"))
                                for cpu in CPUS) + " |")
        w.append("")
    w.append(END)
    return "\n".join(w)


def label_of(name):
    m = re.match(r"sherry_(\w+?)_t\d+_(\d+x\d+)_n(\d+)$", name)
    if not m:
        return name, 1
    return f"{m.group(1)} {m.group(2)}", int(m.group(3))


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("kernels", nargs="+")
    ap.add_argument("--json", required=True)
    ap.add_argument("--peers", help="JSON description of the peers' "
                    "assembly (see above)")
    ap.add_argument("--md", help="write the AArch64 section of this page")
    ap.add_argument("--sitting", default="",
                    help="a sentence on where and when, for the page")
    ap.add_argument("--ghz", type=float, default=3.0)
    ap.add_argument("--gbps", type=float, default=20.0)
    a = ap.parse_args()
    recs = []
    for arg in a.kernels:
        path, _, given = arg.partition("=")
        asm = subprocess.run(
            [LLC, "-O3", "-mtriple=aarch64-linux-gnu",
             "-mattr=+neon,+dotprod", path, "-o", "-"],
            capture_output=True, text=True, check=True).stdout
        block = hot_block(asm)
        if not block:
            continue
        name = os.path.basename(path)[:-3]
        rec = analyze(name, block[1], given, panel_lookups(asm))
        rec["label"], rec["n"] = label_of(name)
        # Codes, then per row an f32 scale (and for the tables layout a
        # count byte): 2048 x 2048, row scales.
        shape = re.search(r"_\d+x(\d+)_", name)
        if shape:
            rec["bits_per_weight"] = (1.25 + (40 if "rtables" in name else 32)
                                      / int(shape.group(1)))
        recs.append(rec)
        print(f"aarch64_mca.py: {name}: {rec['instructions_per_iter']} "
              f"instructions, {rec['weights_per_iter']:.0f} weights per "
              f"iteration")
    peers = None
    if a.peers:
        with open(a.peers) as f:
            peers = json.load(f)
        for p in peers["kernels"]:
            with open(p["asm"]) as f:
                asm = f.read()
            block = hot_block(asm, p["function"])
            if not block:
                raise SystemExit(f"aarch64_mca.py: no function "
                                 f"{p['function']} in {p['asm']}")
            rec = analyze(p["name"], block[1], p["weights_per_iter"])
            rec.update(peer=True, label=p["name"], n=1,
                       covers=p["covers"],
                       bits_per_weight=p.get("bits_per_weight"))
            recs.append(rec)
            print(f"aarch64_mca.py: peer {p['name']}: "
                  f"{rec['instructions_per_iter']} instructions")
    with open(a.json, "w") as f:
        json.dump(recs, f, indent=1)
    if a.md:
        ref_name = peers.get("reference") if peers else None
        reference = next((r for r in recs if r["label"] == ref_name), None)
        weights = sum(m * k for m, k in LAYER_SHAPES) * LAYERS
        step = decode_step(recs, weights, a.ghz, a.gbps)
        replace_section(a.md, BEGIN, END, section(recs, peers, a.sitting, step, a.ghz,
                                    a.gbps, weights, reference))


if __name__ == "__main__":
    main()
