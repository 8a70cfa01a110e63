#!/usr/bin/env python3
"""Turns one bench/run.sh sitting into docs/performance.md, JSON and charts.

Reads the Google Benchmark JSON files of sherry-bench (one per family), the
optional peer JSON files and the kernel manifest; writes a markdown page, a
results.json with every figure it shows and PNG charts (gnuplot). Nothing here
is a constant result: every number comes from the files of the sitting.

Usage: report.py --results DIR --manifest FILE --mode full|quick|smoke
                 --md OUT.md --figs DIR
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import types

LAYER_SHAPES = [(2048, 2048), (512, 2048), (512, 2048), (2048, 2048),
                (8192, 2048), (8192, 2048), (2048, 8192)]
SHAPE_ROLE = {(2048, 2048): "q, o", (512, 2048): "k, v",
              (8192, 2048): "gate, up", (2048, 8192): "down"}
VARIANT_LABEL = {
    "rtables": "sherry tables (avx512-vnni, run-time weights)",
    "tables": "sherry tables (avx512-vnni, weights compiled in)",
    "calltables": "sherry tables built per call (avx512-vnni "
                  "table-build=call, weights compiled in)",
    "bytetables": "sherry tables, byte lookup (avx512-vnni "
                  "table-lookup=bytes, weights compiled in)",
    "bwrtables": "sherry tables (avx512-bw, run-time weights)",
    "bwtables": "sherry tables (avx512-bw, weights compiled in)",
    "avx2rtables": "sherry tables (avx2, run-time weights)",
    "avx2tables": "sherry tables (avx2, weights compiled in)",
    "vnni": "sherry decode (avx512-vnni, run-time weights)",
    "avx512bw": "sherry decode (avx512-bw, run-time weights)",
    "avx2": "sherry decode (avx2, run-time weights)",
    "portable": "sherry portable (run-time weights)"}
# Column order of the sherry variants.
VARIANT_ORDER = ("rtables", "tables", "vnni", "calltables", "bytetables",
                 "bwrtables", "bwtables", "avx512bw", "avx2rtables",
                 "avx2tables", "avx2", "portable")
# What --sherry-to-llvm="target=host" compiles on this CPU, best target
# first (gen_kernels.py builds only the variants this CPU runs): for weights
# passed at run time (in the tables layout where the target reads it) and
# for weights compiled in.
RUNTIME_PREFERENCE = ("rtables", "bwrtables", "avx2rtables", "vnni",
                      "avx512bw", "avx2", "portable")
COMPILE_TIME_PREFERENCE = ("tables", "bwtables", "avx2tables")
# The peers' types: label and bits per weight.
PEER_LABEL = {"ggml_i2_s": "I2_S (2 bpw)", "ggml_tl2": "TL2 (1.67 bpw)",
              "ggml_tq2_0": "TQ2_0 (2.06 bpw)",
              "ggml_tq1_0": "TQ1_0 (1.69 bpw)"}
# The peers the targets are taken against (docs/performance.md): the 2-bit
# and TL2 kernels, not TQ1_0.
TARGET_PEERS = ("ggml_i2_s", "ggml_tl2", "ggml_tq2_0")


def preferred_variant(variants, t, preference):
    """The first variant of `preference` this sitting has at t threads."""
    return next((f"{v}_t{t}" for v in preference if f"{v}_t{t}" in variants),
                None)


def peer_label(impl):
    return PEER_LABEL.get(impl, impl.replace("ggml_", "").upper())


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        return ""


def machine_info(root):
    lscpu = {}
    for line in run(["lscpu"]).splitlines():
        if ":" in line:
            key, val = line.split(":", 1)
            lscpu[key.strip()] = val.strip()
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    flags = lscpu.get("Flags", "").split()
    isa = [f for f in ("avx2", "avx512f", "avx512bw", "avx512_vnni",
                       "avx512vbmi") if f in flags]
    head = run(["git", "-C", root, "rev-parse", "--short", "HEAD"])
    dirty = run(["git", "-C", root, "status", "--porcelain",
                 "--untracked-files=no"])
    return {
        "cpu": lscpu.get("Model name", platform.processor()),
        "cpus": int(lscpu.get("CPU(s)", "0") or 0),
        "threads_per_core": lscpu.get("Thread(s) per core", ""),
        "hypervisor": lscpu.get("Hypervisor vendor", ""),
        "l2": lscpu.get("L2 cache", ""),
        "l3": lscpu.get("L3 cache", ""),
        "isa": isa,
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "clang": run(["clang-22", "--version"]).splitlines()[0:1],
        "commit": head + (" (with uncommitted changes)" if dirty else ""),
    }


def load_family(results, family):
    path = os.path.join(results, family + ".json")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None, {}
    with open(path) as f:
        data = json.load(f)
    rows = {}
    for b in data.get("benchmarks", []):
        agg = b.get("aggregate_name")
        if not agg:
            continue
        name = b["run_name"].split("/min_time")[0]
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
        entry = rows.setdefault(name, {})
        if agg == "cv":
            entry["cv"] = b["real_time"]
        else:
            entry[agg + "_us"] = b["real_time"] * scale
            entry[agg + "_cpu_us"] = b["cpu_time"] * scale
        if agg == "median":
            entry["reps"] = b.get("repetitions")
            entry["bytes_per_second"] = b.get("bytes_per_second")
            for key in ("weight_bytes", "params", "read_bytes_per_second",
                        "read_share"):
                if key in b:
                    entry[key] = b[key]
    return data.get("context", {}), rows


def loadavg(results, name):
    path = os.path.join(results, name + ".loadavg")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return float(f.read().split()[0])


def busy_others(results, name):
    """Names of the other processes that used > 20% of a CPU just before
    a family ran (ps's %CPU: average over each process's lifetime)."""
    path = os.path.join(results, name + ".ps")
    if not os.path.exists(path):
        return []
    names = []
    with open(path) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) == 2 and float(parts[0]) > 20:
                names.append(parts[1].strip())
    return names


def weight_bytes(m, k):
    return m * (k // 8 + k // 32) + 4 * m


def fmt_us(v):
    if v is None:
        return "–"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.0f}"
    return f"{v:.1f}"


def fmt_ratio(a, b):
    """a / b, as 'x.xx×'; '–' when either is missing."""
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


COLORS = {"sherry tables": "#e7298a", "sherry rtables": "#c51b7d",
          "sherry vnni": "#1b9e77",
          "sherry bwtables": "#a6761d", "sherry bwrtables": "#8c510a",
          "sherry avx2tables": "#e6ab02", "sherry avx2rtables": "#b8860b",
          "sherry bytetables": "#e78ac3", "sherry calltables": "#7f0000",
          "sherry avx2": "#1b9e77", "sherry portable": "#66c2a5",
          "TQ2_0": "#d95f02", "TQ1_0": "#fc8d62", "I2_S": "#377eb8",
          "TL2": "#4daf4a",
          "OpenBLAS f32": "#7570b3", "1 thread": "#1b9e77",
          "2 threads": "#d95f02"}


def gnuplot_bars(path, title, ylabel, labels, panels, logscale=False):
    """Clustered bars, one panel per (subtitle, series): a cluster per
    label, a bar per (name, values) of the series."""
    if not shutil.which("gnuplot"):
        return False
    script = [
        f"set terminal pngcairo size {480 * len(panels) + 120},440 "
        'font "DejaVu Sans,10"',
        f"set output '{path}'",
        "set termoption noenhanced",
        "set style data histograms",
        "set style histogram clustered gap 1",
        "set style fill solid 0.9 border -1",
        "set boxwidth 0.9",
        "set key top left",
        "set grid ytics",
        f"set yrange [{'1' if logscale else '0'}:*]",
        "set logscale y" if logscale else "",
        f'set multiplot layout 1,{len(panels)} title "{title}"',
    ]
    dats = []
    for p, (subtitle, series) in enumerate(panels):
        dat = f"{path[:-4]}.{p}.dat"
        dats.append(dat)
        with open(dat, "w") as f:
            f.write("label " + " ".join(f'"{n}"' for n, _ in series) + "\n")
            for i, lab in enumerate(labels):
                vals = ["NaN" if v[i] is None else f"{v[i]:.4g}"
                        for _, v in series]
                f.write(f'"{lab}" ' + " ".join(vals) + "\n")
        plots = []
        for i, (name, _) in enumerate(series):
            color = COLORS.get(name, "")
            lc = f" lc rgb '{color}'" if color else ""
            plots.append(f"'{dat}' using {i + 2}:xtic(1) "
                         f"title columnheader({i + 2}){lc}")
        script += [f'set title "{subtitle}"',
                   f'set ylabel "{ylabel}"' if p == 0 else "unset ylabel",
                   "plot " + ", ".join(plots)]
    script.append("unset multiplot")
    res = subprocess.run(["gnuplot"], input="\n".join(script) + "\n",
                         text=True, capture_output=True, check=False)
    for dat in dats:
        os.remove(dat)
    if res.returncode != 0:
        print("report.py: gnuplot failed:", res.stderr.strip())
        return False
    return True


# Sections other scripts write into the page (their markers' names), kept
# when the kernel sitting rewrites it: the static AArch64 analysis
# (bench/aarch64.sh) and the whole-model sitting (bench/end_to_end.py).
CARRIED_SECTIONS = ("aarch64", "end_to_end")


def carried(a):
    """What bench/end_to_end.py wrote to results.json (its keys), and the
    sections of the page that other scripts write, in page order."""
    keys, sections = {}, []
    path = os.path.join(a.figs, "results.json")
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        keys = {k: v for k, v in old.items() if k.startswith("end_to_end")}
    if os.path.exists(a.md):
        with open(a.md) as f:
            text = f.read()
        for name in CARRIED_SECTIONS:
            m = re.search(rf"<!-- {name}: .*?<!-- {name}: end -->", text,
                          re.S)
            if m:
                sections.append(m.group(0))
    return keys, "\n\n".join(sections)


def load_sitting(sit):
    """The inputs of a sitting: the results of every family, the peers, the
    manifest and this machine."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sit.carried_json, sit.carried_md = carried(sit.a)

    with open(sit.a.manifest) as f:
        manifest = json.load(f)
    sit.mach = machine_info(root)
    sit.fams = {}
    sit.contexts = {}
    for fam in ("bw", "sherry", "blas", "mlirf32", "decode"):
        ctx, rows = load_family(sit.a.results, fam)
        if ctx is None:
            continue
        sit.fams[fam] = rows
        sit.contexts[fam] = ctx
    sit.peers = {}
    for t in (1, 2):
        path = os.path.join(sit.a.results, f"peer_t{t}.json")
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                sit.peers[t] = json.load(f)
    sit.elapsed = None
    if os.path.exists(os.path.join(sit.a.results, "elapsed_s")):
        with open(os.path.join(sit.a.results, "elapsed_s")) as f:
            sit.elapsed = int(f.read().strip())

    sit.mca = []
    mca_path = os.path.join(sit.a.results, "aarch64_mca.json")
    if os.path.exists(mca_path):
        with open(mca_path) as f:
            sit.mca = json.load(f)

    sit.shapes = [tuple(s) for s in manifest["shapes"]]
    sit.batches = manifest["batches"]
    sit.variants = manifest["variants"]


def gather_records(sit):
    """One record per kernel figure, bandwidth figure and decode step."""
    sit.kernels = []  # per shape and implementation
    for name, r in sit.fams.get("sherry", {}).items():
        _, variant, shape, n = name.split("/")
        m, k = map(int, shape.split("x"))
        sit.kernels.append({
            "impl": "sherry", "variant": variant,
            "target": sit.variants[variant]["target"],
            "pipeline": sit.variants[variant]["pipeline"],
            "weights": sit.variants[variant].get("weights"),
            "layout": sit.variants[variant].get("layout"),
            "threads": sit.variants[variant]["threads"], "m": m, "k": k,
            "n": int(n[1:]), **r,
            "weight_bytes": int(r.get("weight_bytes") or
                                weight_bytes(m, k))})
    for name, r in sit.fams.get("blas", {}).items():
        _, t, shape, n = name.split("/")
        m, k = map(int, shape.split("x"))
        sit.kernels.append({"impl": "openblas_f32", "weights": "run-time",
                            "threads": int(t[1:]),
                            "m": m, "k": k, "n": int(n[1:]),
                            "weight_bytes": 4 * m * k, **r})
    for name, r in sit.fams.get("mlirf32", {}).items():
        _, t, shape, n = name.split("/")
        m, k = map(int, shape.split("x"))
        sit.kernels.append({"impl": "mlir_linalg_f32", "weights": "run-time",
                            "threads": int(t[1:]),
                            "m": m, "k": k, "n": int(n[1:]),
                            "weight_bytes": 4 * m * k, **r})
    for t, pj in sit.peers.items():
        for r in pj.get("results", []):
            sit.kernels.append({"impl": f"{pj['impl']}_{r['type']}",
                                "weights": "run-time",
                                "threads": r["threads"], "m": r["m"],
                                "k": r["k"], "n": r["n"],
                                "median_us": r["median_us"],
                                "min_us": r.get("min_us"),
                                "weight_bytes": r.get("weight_bytes")})
    for rec in sit.kernels:
        if rec.get("weight_bytes") and rec.get("median_us"):
            rec["weight_gbps"] = rec["weight_bytes"] / rec["median_us"] / 1e3

    def find(impl, threads, m, k, n, variant=None):
        for rec in sit.kernels:
            if (rec["impl"] == impl and rec["threads"] == threads
                    and (rec["m"], rec["k"], rec["n"]) == (m, k, n)
                    and (variant is None or rec.get("variant") == variant)):
                return rec.get("median_us")
        return None

    sit.bandwidth = []
    for name, r in sit.fams.get("bw", {}).items():
        _, _, size, thr = name.split("/")
        sit.bandwidth.append({"working_set": size,
                              "threads": int(thr.split(":")[1]),
                              "gbps": r["bytes_per_second"] / 1e9,
                              "min_us": r.get("min_us"),
                              "median_us": r.get("median_us"),
                              "cv": r.get("cv")})

    def bw(size, threads):
        for b in sit.bandwidth:
            if b["working_set"] == size and b["threads"] == threads:
                return b["gbps"]
        return None

    sit.decode = []
    for name, r in sit.fams.get("decode", {}).items():
        variant = name.split("/")[1]
        sit.decode.append({"impl": "sherry", "variant": variant,
                           "target": sit.variants[variant]["target"],
                           "weights": sit.variants[variant].get("weights"),
                           "threads": sit.variants[variant]["threads"],
                           "median_us": r["median_us"],
                           "min_us": r.get("min_us"),
                           "cv": r.get("cv"),
                           "weight_bytes": r.get("weight_bytes"),
                           "params": r.get("params"),
                           "paired_read_gbps":
                               (r["read_bytes_per_second"] / 1e9
                                if r.get("read_bytes_per_second") else None),
                           "paired_fraction": r.get("read_share")})
    for t, pj in sit.peers.items():
        for r in pj.get("decode", []):
            sit.decode.append({"impl": f"{pj['impl']}_{r['type']}",
                               "weights": "run-time",
                               "threads": r["threads"],
                               "median_us": r["median_us"],
                               "weight_bytes": r["weight_bytes"]})
    for d in sit.decode:
        d["tokens_per_s"] = 1e6 / d["median_us"]
        d["weight_gbps"] = d["weight_bytes"] / d["median_us"] / 1e3
        dram = bw("512MiB", d["threads"])
        if dram:
            d["dram_gbps"] = dram
            d["fraction_of_dram"] = d["weight_gbps"] / dram
            d["dram_bound_tokens_per_s"] = dram * 1e9 / d["weight_bytes"]
    sit.bw = bw
    sit.find = find


def measure_noise(sit):
    """How busy the machine was: load averages, other busy processes, the share
    of time 1-thread kernels spent off the CPU."""
    sit.loads = {fam: loadavg(sit.a.results, fam)
                 for fam in list(sit.fams) + [f"peer_t{t}" for t in sit.peers]}
    sit.ncpu = sit.mach["cpus"] or 1
    busiest = max([v for v in sit.loads.values() if v is not None], default=0)
    sit.others = sorted({p for fam in sit.loads
                         for p in busy_others(sit.a.results, fam)
                         if p not in ("sherry-bench", "ggml-peer",
                                      "bitnet-peer", "all-peers", "ps")})
    sit.noisy = busiest > 0.5 or bool(sit.others)
    # Share of wall time a 1-thread kernel was not on a CPU (descheduled).
    sit.off_cpu = []
    for rec in sit.kernels:
        if (rec["impl"] == "sherry" and rec["threads"] == 1
                and rec.get("median_cpu_us")):
            sit.off_cpu.append(1 - rec["median_cpu_us"] / rec["median_us"])
    sit.off_cpu = (sorted(sit.off_cpu)[len(sit.off_cpu) // 2]
                   if sit.off_cpu else None)


def compute_ratios(sit):
    """Time of the other / time of ours (> 1: ours faster), per shape, N and
    thread count."""
    sit.peer_impls = []
    for rec in sit.kernels + sit.decode:
        if (rec["impl"] not in ("sherry", "openblas_f32", "mlir_linalg_f32")
                and rec["impl"] not in sit.peer_impls):
            sit.peer_impls.append(rec["impl"])
    sit.peer_impls.sort(key=lambda i: (list(PEER_LABEL).index(i)
                                       if i in PEER_LABEL
                                       else len(PEER_LABEL), i))
    sit.target_peers = [i for i in sit.peer_impls if i in TARGET_PEERS]

    def fastest_peer(t, m, k, n):
        """(impl, µs) of the fastest target peer, or (None, None)."""
        times = [(sit.find(i, t, m, k, n), i) for i in sit.target_peers]
        times = [(u, i) for u, i in times if u is not None]
        if not times:
            return None, None
        u, i = min(times)
        return i, u

    sit.ratios = []
    for t in (1, 2):
        ours_v = preferred_variant(sit.variants, t, RUNTIME_PREFERENCE)
        const_v = preferred_variant(sit.variants, t, COMPILE_TIME_PREFERENCE)
        avx2_v = f"avx2rtables_t{t}" if f"avx2rtables_t{t}" in sit.variants \
            else None
        for (m, k) in sit.shapes:
            for n in sit.batches:
                ours = sit.find("sherry", t, m, k, n, ours_v)
                if ours is None:
                    continue
                row = {"variant": ours_v, "weights": "run-time",
                       "threads": t, "m": m, "k": k, "n": n,
                       "ours_us": ours}
                const = sit.find("sherry", t, m, k, n, const_v)
                if const is not None:
                    row["compile_time_variant"] = const_v
                    row["compile_time_us"] = const
                    row["run_time_over_compile_time"] = ours / const
                for other in (["openblas_f32", "mlir_linalg_f32"]
                              + sit.peer_impls):
                    o = sit.find(other, t, m, k, n)
                    if o is not None:
                        row[other + "_over_ours"] = o / ours
                fp, fu = fastest_peer(t, m, k, n)
                if fp:
                    row["fastest_peer"] = fp
                    row["fastest_peer_over_ours"] = fu / ours
                    if const is not None:
                        row["fastest_peer_over_compile_time"] = fu / const
                    avx2 = sit.find("sherry", t, m, k, n, avx2_v)
                    if avx2 is not None:
                        row["avx2_variant"] = avx2_v
                        row["fastest_peer_over_avx2"] = fu / avx2
                sit.ratios.append(row)


def check_targets(sit):
    """The targets of docs/performance.md, each with its worst case."""
    sit.targets = []

    def target(name, t, variant, key, need, rows, at_least=True):
        vals = [(r[key], f"{r['m']}×{r['k']} N={r['n']}") for r in rows
                if r.get(key) is not None]
        if not vals:
            return
        worst = min(vals) if at_least else max(vals)
        sit.targets.append({"target": name, "threads": t, "variant": variant,
                            "metric": key, "required": need,
                            "at_least": at_least, "worst": worst[0],
                            "worst_at": worst[1],
                            "met": (worst[0] >= need if at_least
                                    else worst[0] <= need)})

    for t in (1, 2):
        rows = [r for r in sit.ratios if r["threads"] == t]
        ours_v = preferred_variant(sit.variants, t, RUNTIME_PREFERENCE)
        target("run-time weights within 5% of compile-time", t, ours_v,
               "run_time_over_compile_time", 1.05, rows, at_least=False)
        need1 = 2.0 if t == 1 else 1.7
        one = [r for r in rows if r["n"] == 1]
        many = [r for r in rows if r["n"] > 1]
        avx2_v = f"avx2rtables_t{t}"
        if avx2_v in sit.variants and avx2_v != ours_v:
            target("N=1: fastest peer / ours, target=avx2", t, avx2_v,
                   "fastest_peer_over_avx2", need1, one)
            target("N=128: fastest peer / ours, target=avx2", t, avx2_v,
                   "fastest_peer_over_avx2", 2.0, many)
        target("N=1: fastest peer / ours", t, ours_v,
               "fastest_peer_over_ours", need1, one)
        target("N=128: fastest peer / ours", t, ours_v,
               "fastest_peer_over_ours", 2.0, many)
        for v in dict.fromkeys([avx2_v, ours_v]):
            d = next((d for d in sit.decode if d.get("variant") == v), None)
            if d and d.get("paired_fraction") is not None:
                sit.targets.append({
                    "target": "decode step: share of the same run's DRAM "
                              "read bandwidth", "threads": t, "variant": v,
                    "metric": "paired_fraction", "required": 0.85,
                    "at_least": True, "worst": d["paired_fraction"],
                    "worst_at": "112 matrices",
                    "met": d["paired_fraction"] >= 0.85})


def write_results_json(sit):
    """results.json: every figure of the sitting."""
    sit.out = {
        "mode": sit.a.mode,
        "date": datetime.datetime.now().astimezone().isoformat(
            timespec="seconds"),
        "machine": sit.mach,
        "elapsed_s": sit.elapsed,
        "noise": {"loadavg_1min_before_each_family": sit.loads,
                  "other_busy_processes": sit.others,
                  "noisy": sit.noisy,
                  "median_off_cpu_share_1thread_kernels": sit.off_cpu},
        "settings": {
            "repetitions": next((r.get("reps") for r in
                                 sit.fams.get("sherry", {}).values()), None),
            "min_time_s": sit.contexts.get("sherry", {}).get("min_time_s"),
            "openblas": sit.contexts.get("blas", {}).get("openblas_config"),
            "checks": {fam: c.get("checks_passed")
                       for fam, c in sit.contexts.items()},
        },
        "variants": sit.variants,
        "peer": {t: {k2: pj.get(k2) for k2 in ("impl", "commit", "build",
                                               "method")}
                 for t, pj in sit.peers.items()},
        "bandwidth": sit.bandwidth,
        "kernels": sit.kernels,
        "ratios": sit.ratios,
        "targets": sit.targets,
        "decode": sit.decode,
        "aarch64_mca": sit.mca,
    }

    os.makedirs(sit.a.figs, exist_ok=True)
    sit.out.update(sit.carried_json)
    with open(os.path.join(sit.a.figs, "results.json"), "w") as f:
        json.dump(sit.out, f, indent=1, sort_keys=False)


def draw_charts(sit):
    """The kernel and decode-step charts (gnuplot)."""
    sit.charts = []
    labels = [f"{m}x{k}" for m, k in sit.shapes]
    for n in sit.batches:
        panels = []
        for t in (1, 2):
            series = []
            for v in VARIANT_ORDER:
                if f"{v}_t{t}" in sit.variants:
                    series.append((f"sherry {v}", [
                        sit.find("sherry", t, m, k, n, f"{v}_t{t}")
                        for m, k in sit.shapes]))
            for impl, lab in ([(i, peer_label(i).split(" (")[0])
                               for i in sit.peer_impls] +
                              [("openblas_f32", "OpenBLAS f32")]):
                vals = [sit.find(impl, t, m, k, n) for m, k in sit.shapes]
                if any(v is not None for v in vals):
                    series.append((lab, vals))
            if series:
                panels.append((f"{t} thread{'s' if t > 1 else ''}", series))
        png = os.path.join(sit.a.figs, f"kernels_n{n}.png")
        if panels and gnuplot_bars(
                png, f"N={n}: median us per call, lower is better "
                f"({sit.mach['cpu']}, {sit.ncpu} cores)",
                "us per call (log scale)", labels, panels, logscale=True):
            sit.charts.append((n, os.path.basename(png)))
    sit.dec_png = None
    if sit.decode:
        dl = [(peer_label(d["impl"]).split(" (")[0] if d["impl"] != "sherry"
               else f"sherry {d['variant'].split('_')[0]}")
              for d in sit.decode]
        names = []
        for lab in dl:
            if lab not in names:
                names.append(lab)
        labs = names
        series = []
        for t in (1, 2):
            series.append((f"{t} thread{'s' if t > 1 else ''}", [
                next((d["tokens_per_s"] for d, lab in zip(sit.decode, dl)
                      if lab == nm and d["threads"] == t), None)
                for nm in names]))
        sit.dec_png = os.path.join(sit.a.figs, "decode.png")
        if not gnuplot_bars(sit.dec_png, "LLaMA-3.2-1B linear weights, one "
                            f"decode step: tokens/s, higher is better "
                            f"({sit.mach['cpu']}, {sit.ncpu} cores)",
                            "tokens/s", labs, [("", series)]):
            sit.dec_png = None


def md_this_sitting(sit):
    """The page's header and "This sitting"."""
    sit.md = []
    w = sit.md.append
    w("# Performance")
    w("")
    w("<!-- Generated by bench/run.sh (bench/report.py); do not edit. -->")
    w("")
    w("Regenerate with `bench/run.sh --peer CMD` (about 5 to 10 minutes on "
      "2 cores; `--quick` for a shorter sitting, `--smoke` to check the "
      "harness). Every figure below comes from one sitting of that "
      "command; `docs/performance/results.json` holds all of them.")
    w("")
    w("## This sitting")
    w("")
    mach = sit.mach
    w(f"- Machine: {mach['cpu']}, {sit.ncpu} cores "
      f"({mach['threads_per_core']} thread per core), "
      f"{mach['hypervisor'] + ' guest, ' if mach['hypervisor'] else ''}"
      f"L2 {mach['l2']}, L3 {mach['l3']}, {mach['memory_gib']} GiB, "
      f"{', '.join(sit.mach['isa'])}; Linux {sit.mach['kernel']}.")
    w(f"- Date {sit.out['date']}, mode `{sit.a.mode}`, sherry-mlir "
      f"{sit.mach['commit']}, {(sit.mach['clang'] or ['clang-22'])[0]}.")
    sit.sets = sit.out["settings"]
    w("- Google Benchmark (Debian libbenchmark-dev), "
      f"wall-clock time, {sit.sets['repetitions']} repetitions of at least "
      f"{float(sit.sets['min_time_s'] or 0):.3g} s each, randomly interleaved "
      "within a family; tables show the **median** repetition (each "
      "repetition is the mean of its calls). results.json also has the "
      "fastest repetition and the coefficient of variation.")
    w("- Checks before timing (kernels that match the reference): "
      + ", ".join(f"{f} {c}" for f, c in sit.sets["checks"].items() if c)
      + ". sherry kernels are compared bit for bit with the format "
      "library's int8 reference, f32 kernels within 1e-4.")
    lds = ", ".join(f"{k} {v:.1f}" for k, v in sit.loads.items()
                    if v is not None)
    if sit.noisy:
        w(f"- **The machine was noisy**: other jobs ran during the sitting "
          f"(1-minute load average before each family: {lds}, on {sit.ncpu} "
          f"CPUs"
          + (f"; busy other processes: {', '.join(sit.others)}" if sit.others
             else "")
          + "). Single-thread kernels were off the CPU for a median "
          f"{100 * (sit.off_cpu or 0):.0f}% of their wall time; 2-thread "
          "figures suffer most (a parallel region waits for its slowest "
          "thread). Compare within this page, as ratios, not with other "
          "sittings.")
    else:
        w(f"- Load average before each family: {lds} (quiet).")
    if sit.elapsed is not None:
        w(f"- The sitting took {sit.elapsed} s.")
    w("")


def md_what_is_timed(sit):
    """The section "What is timed": every variant, the baselines and the
    peers."""
    w = sit.md.append
    w("## What is timed")
    w("")
    w("- **sherry**: one call of a kernel that `--sherry-to-llvm` compiled "
      "from a `sherry.matmul` (layout `<sherry, row>`, mode int8) on "
      "operands x: N×K f32, packed weights: M×(K/8+K/32) i8, scales: M f32, "
      "accumulating into an N×M f32 output in place "
      "(`bufferization.materialize_in_destination` into a memref "
      "argument, so no result is allocated or copied). The call includes "
      "quantizing x to int8 (absmax per row) and the matmul. Compiled by "
      "`build/bin/sherry-opt --sherry-to-llvm=...`, `mlir-translate "
      "--mlir-to-llvmir`, `clang-22 -O3 -march=native -c`; called through "
      "`_mlir_ciface_`. Weights come either at run time, as arguments "
      "(as a model whose weights are loaded at start-up is compiled), or "
      "compiled in as constants. Run-time weights in the tables layout "
      "(`layout<tables, row, order = ..., tile_block = ...>`, the bytes "
      "`format::toTables` makes of the same weights, converted once before "
      "timing, as a loader does) go to the activation-table kernel. "
      "Variants:")
    for v, d in sit.variants.items():
        w(f"  - `{v}`: `--sherry-to-llvm=\"{d['pipeline']}\"` "
          f"({d['threads']} thread{'s' if d['threads'] > 1 else ''}), "
          f"weights {d.get('weights', 'run-time')}"
          + (f" in `{d['layout']}`" if d.get("layout", "").startswith(
              "<tables") else "") + ".")
    w("- **OpenBLAS f32**: Debian's OpenBLAS (pthreads build: "
      f"`{sit.sets['openblas']}`), `cblas_sgemv` for N=1, `cblas_sgemm` "
      "otherwise, on the dequantized f32 weights (4 bytes per weight), "
      "threads set with `openblas_set_num_threads`.")
    if "mlirf32" in sit.fams:
        w("- **MLIR linalg f32**: upstream MLIR only: one `linalg.matmul` "
          "(transposed weights) tiled and vectorized with the transform "
          "dialect (`transform.structured.tile_using_for`, `vectorize`, "
          "contraction lowered to outer products), then the same pipeline "
          "and flags; 1 thread. A simple recipe, not a tuned one.")
    if sit.peers:
        pj = next(iter(sit.peers.values()))
        w(f"- **Peers** ({', '.join(peer_label(i) for i in sit.peer_impls)}; "
          f"{pj.get('impl')} commit {pj.get('commit')}; "
          f"{pj.get('build')}): built outside this repository (nothing of "
          f"them is kept here) and timed by `bench/run.sh --peer` in the "
          f"same sitting, right after our families: {pj.get('method')}.")
    else:
        w("- **Peers**: not timed in this sitting (no `--peer`); no peer "
          "figures are shown.")
    w("- Ratios are *other time / sherry time* for the same shape, N and "
      "threads, so > 1 means the sherry kernel is faster. \"Ours\" is "
      "what `target=host` compiles on this CPU for run-time weights: "
      f"{', '.join(sorted({r['variant'] for r in sit.ratios}))}; \"fastest "
      "peer\" is the fastest of "
      f"{', '.join(peer_label(i).split(' (')[0] for i in sit.target_peers) or 'the peers'}"
      " for that shape, N and thread count.")
    w("")


def md_targets(sit):
    """The section "Targets": each target's worst case."""
    w = sit.md.append
    if sit.targets:
        w("## Targets")
        w("")
        w("Each target's worst case over the shapes of this sitting "
          "(a ratio of two medians).")
        w("")
        w("| target | threads | variant | required | worst | where | met |")
        w("|---|---|---|---|---|---|---|")
        for tg in sit.targets:
            pct = tg["metric"] == "paired_fraction"
            val = (f"{100 * tg['worst']:.0f}%" if pct
                   else f"{tg['worst']:.2f}×")
            need = ((f"≥ {100 * tg['required']:.0f}%") if pct else
                    (f"≥ {tg['required']:.2f}×" if tg["at_least"]
                     else f"≤ {tg['required']:.2f}×"))
            w(f"| {tg['target']} | {tg['threads']} | `{tg['variant']}` | "
              f"{need} | {val} | {tg['worst_at']} | "
              f"{'yes' if tg['met'] else '**no**'} |")
        w("")
        w("\"run-time / compile-time\" is the run-time weights' time over "
          "the compiled-in weights' time (≤ 1.05: within 5%). Where a "
          "target is missed, [design/2026-12-07-run-time-tables.md]"
          "(design/2026-12-07-run-time-tables.md) says what bounds it, "
          "measured.")
        w("")


def md_bandwidth(sit):
    """The section "Read bandwidth of this machine"."""
    w = sit.md.append
    w("## Read bandwidth of this machine")
    w("")
    w("Reading a buffer with AVX-512 loads (xor into 8 accumulators), "
      "split evenly between the threads (OpenMP); median GB/s.")
    w("")
    w("| working set | 1 thread | 2 threads |")
    w("|---|---|---|")
    sizes = []
    for b in sit.bandwidth:
        if b["working_set"] not in sizes:
            sizes.append(b["working_set"])
    sizes.sort(key=lambda s: int(s[:-3]))
    for s in sizes:
        c1, c2 = sit.bw(s, 1), sit.bw(s, 2)
        w(f"| {s[:-3]} MiB{' (DRAM)' if s == '512MiB' else ''} | "
          f"{'–' if c1 is None else f'{c1:.1f} GB/s'} | "
          f"{'–' if c2 is None else f'{c2:.1f} GB/s'} |")
    w("")


def md_kernels(sit):
    """The per-shape kernel tables and charts."""
    w = sit.md.append
    have = {rec["impl"] for rec in sit.kernels}
    for n in sit.batches:
        for t in (1, 2):
            cols = []
            for v in VARIANT_ORDER:
                if f"{v}_t{t}" in sit.variants:
                    cols.append((VARIANT_LABEL[v], "sherry", f"{v}_t{t}"))
            for impl, lab in ([(i, peer_label(i)) for i in sit.peer_impls] +
                              [("openblas_f32", "OpenBLAS f32"),
                               ("mlir_linalg_f32", "MLIR linalg f32")]):
                if impl in have and any(sit.find(impl, t, m, k, n)
                                        for m, k in sit.shapes):
                    cols.append((lab, impl, None))
            ours_v = preferred_variant(sit.variants, t, RUNTIME_PREFERENCE)
            if not cols or ours_v is None:
                continue
            const_v = preferred_variant(sit.variants, t,
                                        COMPILE_TIME_PREFERENCE)
            short = ours_v.split("_")[0]
            w(f"## N={n} ({'decode' if n == 1 else 'prefill chunk'}), "
              f"{t} thread{'s' if t > 1 else ''}: median µs per call")
            w("")
            head = ["M×K (layer)"] + [c[0] for c in cols] + \
                [f"{short} " + ("GB/s" if n == 1 else "GMAC/s")]
            if sit.target_peers:
                head += ["fastest peer", f"fastest peer / {short}"]
                if const_v:
                    head += [f"fastest peer / {const_v.split('_')[0]}"]
            if const_v:
                head += [f"{short} / {const_v.split('_')[0]} (time)"]
            head += [f"OpenBLAS / {short}"]
            w("| " + " | ".join(head) + " |")
            w("|" + "---|" * len(head))
            for m, k in sit.shapes:
                r = next((r for r in sit.ratios if r["threads"] == t
                          and (r["m"], r["k"], r["n"]) == (m, k, n)), {})
                ours = r.get("ours_us")
                role = SHAPE_ROLE.get((m, k))
                cells = [f"{m}×{k}" + (f" ({role})" if role else "")]
                for _, impl, v in cols:
                    cells.append(fmt_us(sit.find(impl, t, m, k, n, v)))
                rec = next((x for x in sit.kernels
                            if x.get("variant") == ours_v
                            and (x["m"], x["k"], x["n"]) == (m, k, n)), None)
                if ours is None or rec is None:
                    cells.append("–")
                elif n == 1:
                    cells.append(f"{rec['weight_bytes'] / ours / 1e3:.1f}")
                else:
                    cells.append(f"{m * k * n / ours / 1e3:.0f}")
                if sit.target_peers:
                    fp = r.get("fastest_peer")
                    cells.append(peer_label(fp).split(" (")[0] if fp else "–")
                    x = r.get("fastest_peer_over_ours")
                    cells.append("–" if x is None else f"{x:.2f}×")
                    if const_v:
                        x = r.get("fastest_peer_over_compile_time")
                        cells.append("–" if x is None else f"{x:.2f}×")
                if const_v:
                    x = r.get("run_time_over_compile_time")
                    cells.append("–" if x is None else f"{x:.2f}")
                x = r.get("openblas_f32_over_ours")
                cells.append("–" if x is None else f"{x:.2f}×")
                w("| " + " | ".join(cells) + " |")
            w("")
            if n == 1:
                w("GB/s: bytes of packed weights and scales (1.27 bits per "
                  "weight at K=2048, 1.26 at K=8192, with the tables "
                  "layout's counts) per second, "
                  f"{VARIANT_LABEL[short]}.")
            else:
                w("GMAC/s: M·K·N multiply-accumulates per second, "
                  f"{VARIANT_LABEL[short]}.")
            w("")
    for n, png in sit.charts:
        w(f"![N={n}, median µs per call](performance/{png})")
        w("")


def md_decode(sit):
    """The section "One decode step of LLaMA-3.2-1B's linear layers"."""
    w = sit.md.append
    if sit.decode:
        w("## One decode step of LLaMA-3.2-1B's linear layers")
        w("")
        d0 = next((d for d in sit.decode if d.get("params")), sit.decode[0])
        params = d0.get("params")
        w("One token (N=1) through the 16 layers' q, k, v, o (2048×2048, "
          "512×2048 ×2, 2048×2048), gate, up (8192×2048) and down "
          "(2048×8192) weights, "
          + (f"{params / 1e6:.0f} M weights, " if params else "")
          + "each matrix with its own buffer, so the working set is "
          "DRAM-sized and every step streams all weights from memory. "
          "Only the linear layers: no attention, norms or activations. "
          "sherry: one compiled function of a layer's 7 matmuls, on "
          "weights passed in the tables layout and called for every "
          "layer (the *rtables variants: run-time weights), or one "
          "function per layer with its weights compiled in (the other "
          "tables variants); either way the table kernel "
          "lowers q, k and v, and gate and up, as one loop nest each, "
          "which writes every matrix's own output: one parallel region "
          "(`table-siblings`); `tables` "
          "builds each step's word tables in registers, as "
          "`table-build=auto` does at N = 1, `calltables` builds them "
          "once per call into memory, `table-build=call`. The decode "
          "variants (<sherry, row> weights as arguments) call the 7 "
          "per-shape N=1 kernels above. "
          "Peers: one graph of 112 `ggml_mul_mat` nodes. "
          "tokens/s = 1 / step time; GB/s = weight bytes (with scales) / "
          "step time; the bound is the measured 512 MiB read bandwidth "
          "at the same thread count (bw family, above). sherry's steps "
          "also come paired with that read: each timed step follows a "
          "512 MiB read on the same threads and an untimed step (which "
          "brings back the page tables the read evicted), and \"same "
          "run\" is the step's GB/s over the reads' GB/s of the same "
          "repetition (median of the repetitions), which the machine's "
          "changing load moves much less than a ratio of figures taken "
          "minutes apart.")
        w("")
        w("| implementation | weights | threads | ms per step | tokens/s "
          "| weight MB | GB/s of weights | % of DRAM read bw | % of read "
          "bw, same run (read GB/s) | DRAM-bound tokens/s |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for d in sorted(sit.decode, key=lambda d: (d["threads"],
                                               d["median_us"])):
            lab = (f"sherry {d['variant'].split('_')[0]}"
                   if d["impl"] == "sherry" else peer_label(d["impl"]))
            frac = d.get("fraction_of_dram")
            bound = d.get("dram_bound_tokens_per_s")
            paired = d.get("paired_fraction")
            paired = ("–" if paired is None else
                      f"{100 * paired:.0f}% ({d['paired_read_gbps']:.1f})")
            w(f"| {lab} | {d.get('weights') or '–'} | {d['threads']} | "
              f"{d['median_us'] / 1e3:.1f} | "
              f"{d['tokens_per_s']:.1f} | {d['weight_bytes'] / 1e6:.0f} | "
              f"{d['weight_gbps']:.1f} | "
              f"{'–' if frac is None else f'{100 * frac:.0f}%'} | "
              f"{paired} | "
              f"{'–' if bound is None else f'{bound:.0f}'} |")
        w("")
        # The bw family and the decode family run minutes apart; where the
        # machine's read bandwidth changed in between, only the same-run
        # column compares like with like.
        for t in sorted({d["threads"] for d in sit.decode}):
            bw = next((d["dram_gbps"] for d in sit.decode
                       if d["threads"] == t and d.get("dram_gbps")), None)
            reads = sorted(d["paired_read_gbps"] for d in sit.decode
                           if d["threads"] == t and d.get("paired_read_gbps"))
            if not bw or not reads:
                continue
            read = reads[len(reads) // 2]
            if abs(read - bw) > 0.2 * bw:
                w(f"**At {t} thread{'s' if t > 1 else ''} the read "
                  f"bandwidth changed between the families**: the bw "
                  f"family read {bw:.1f} GB/s, the reads paired with the "
                  f"decode steps a median {read:.1f} GB/s. \"% of DRAM read "
                  f"bw\" compares figures from those two states; \"same "
                  f"run\" compares each step with its own read.")
                w("")
        if sit.dec_png:
            png = os.path.basename(sit.dec_png)
            w(f"![decode tokens/s](performance/{png})")
            w("")


def two_thread_suspects(sit):
    """2-thread figures slower than 1 thread on the same work (a sign of
    contention), added to results.json."""
    # 2 threads slower than 1 on the same work: a sign of contention.
    sit.suspect = []
    for rec in sit.kernels:
        if rec["threads"] != 2 or not rec.get("median_us"):
            continue
        v1 = rec.get("variant", "").replace("_t2", "_t1") or None
        one = sit.find(rec["impl"], 1, rec["m"], rec["k"], rec["n"], v1)
        if one and rec["median_us"] > 1.1 * one:
            lab = (rec["variant"].replace("_t2", "") if "variant" in rec
                   else peer_label(rec["impl"]).split(" (")[0])
            sit.suspect.append(
                f"{lab} {rec['m']}×{rec['k']} N={rec['n']} "
                f"({fmt_us(rec['median_us'])} µs on 2 threads, "
                f"{fmt_us(one)} on 1)")
    for d in sit.decode:
        if d["threads"] != 2:
            continue
        one = next((e for e in sit.decode if e["threads"] == 1
                    and e["impl"] == d["impl"]
                    and e.get("variant", "").split("_")[0]
                    == d.get("variant", "").split("_")[0]), None)
        if one and d["median_us"] > 1.1 * one["median_us"]:
            lab = (peer_label(d["impl"]).split(" (")[0]
                   if d["impl"] != "sherry"
                   else f"sherry {d['variant'].split('_')[0]}")
            sit.suspect.append(f"decode step, {lab} "
                               f"({d['median_us'] / 1e3:.1f} ms on 2 threads, "
                               f"{one['median_us'] / 1e3:.1f} on 1)")
    sit.out["suspect_2_thread_figures"] = sit.suspect
    sit.out.update(sit.carried_json)
    with open(os.path.join(sit.a.figs, "results.json"), "w") as f:
        json.dump(sit.out, f, indent=1, sort_keys=False)


def md_reading(sit):
    """The section "Reading these numbers"."""
    w = sit.md.append
    w("## Reading these numbers")
    w("")
    if sit.suspect:
        w("- **2 threads slower than 1** on the same work (more than 10%), "
          "most likely because another process held a core and a "
          "parallel region waited at its barriers: "
          + "; ".join(sit.suspect) + ". Treat these 2-thread figures, and the "
          "ratios taken from them, as unreliable.")
    w("- Absolute times move with the machine's load; the ratios within "
      "this page were taken minutes apart on the same machine.")
    w("- The per-layer weights (0.2 to 2.7 MB packed) stay in the caches "
      "between repetitions, so the per-shape tables measure compute; the "
      "decode step measures streaming from DRAM.")
    w("- Activation quantization is inside every timed call (sherry and "
      "the peers alike); OpenBLAS and MLIR f32 read 4-byte weights.")
    w("")


def finish(sit):
    """Writes the page; with --check, fails where a family's checks failed or
    figures are missing."""
    if sit.carried_md:
        sit.md += [sit.carried_md, ""]
    os.makedirs(os.path.dirname(os.path.abspath(sit.a.md)), exist_ok=True)
    with open(sit.a.md, "w") as f:
        f.write("\n".join(sit.md))
    print(f"report.py: wrote {sit.a.md} and {sit.a.figs}/")
    if sit.a.check:
        bad = [f for f, c in sit.sets["checks"].items()
               if c and c.split("/")[0] != c.split("/")[1]]
        timed = [r for r in sit.kernels if r["impl"] == "sherry"
                 and r.get("median_us")]
        if bad or not timed or not sit.bandwidth:
            print("report.py: check failed: "
                  f"families with failed checks {bad}, "
                  f"{len(timed)} sherry figures, "
                  f"{len(sit.bandwidth)} bandwidth figures")
            return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--md", required=True)
    ap.add_argument("--figs", required=True)
    ap.add_argument("--check", action="store_true",
                    help="fail unless every family checked its kernels and "
                    "sherry kernels have figures")
    a = ap.parse_args()
    sit = types.SimpleNamespace(a=a)
    load_sitting(sit)
    gather_records(sit)
    measure_noise(sit)
    compute_ratios(sit)
    check_targets(sit)
    write_results_json(sit)
    draw_charts(sit)
    md_this_sitting(sit)
    md_what_is_timed(sit)
    md_targets(sit)
    md_bandwidth(sit)
    md_kernels(sit)
    md_decode(sit)
    two_thread_suspects(sit)
    md_reading(sit)
    return finish(sit)


if __name__ == "__main__":
    raise SystemExit(main())
