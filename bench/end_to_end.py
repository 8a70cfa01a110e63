#!/usr/bin/env python3
"""End to end: a whole model's prefill and decode tokens/s, Sherry against
peers' runtimes, in one sitting; writes the `end_to_end` list of
docs/performance/results.json and the "End to end" section of
docs/performance.md.

  bench/end_to_end.py --model FILE.gguf --peer CMD [--threads 1,2]
                      [--rounds 2] [--reps 3] [--prompt 128] [--gen 128]

Sherry runs as a user runs it: `python3 -m sherry.llama --model FILE.gguf
--random-prompt P -n G --chunk 32 --threads T --kv-type f16 --json` (load,
compile, prefill, generate), `--reps` times per round. `CMD T` runs the peers on
their own copies of the same model shape and prints one JSON object per
line and peer: {"impl", "model", "threads", "prompt_tokens",
"generated_tokens", "prefill_tokens_per_s", "decode_tokens_per_s",
"peak_rss_bytes"}, optionally "commit", "build" and "method" (how it was
built and timed; recorded in the report). Rounds interleave the
implementations (peers, then Sherry, for each thread count) so that a
slow spell of a shared machine hits all of them; each figure is the median
of its samples. Then the decode step's time at positions 0 and 511 (how
much attention adds at a context of 512). docs/performance/
end_to_end_notes.md, where it exists, is shown after the tables: what
bounds the figures, measured separately.

Nothing of the peers is kept in the repository: build them outside it
(docs/performance.md says how they were built and timed).
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from page_sections import markers, replace_section  # noqa: E402

BEGIN, END = markers("end_to_end", "bench/end_to_end.py")
FIELDS = ("impl", "model", "threads", "prompt_tokens", "generated_tokens",
          "prefill_tokens_per_s", "decode_tokens_per_s", "peak_rss_bytes")
PEERS = ("bitnet_i2_s", "bitnet_tl2", "llamacpp_tq2_0")
# The targets of the whole-models issue, against each peer: decode and
# prefill tokens/s ratios (None: no target).
TARGETS = {"bitnet_i2_s": (1.5, 1.5), "bitnet_tl2": (1.7, None),
           "llamacpp_tq2_0": (None, None)}


def log(text):
    print(text, file=sys.stderr, flush=True)


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.path.join(ROOT, "python") + (
        os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def run_sherry(a, threads):
    cmd = [sys.executable, "-m", "sherry.llama", "--model", a.model,
           "--random-prompt", str(a.prompt), "-n", str(a.gen), "--chunk",
           str(a.chunk), "--threads", str(threads), "--kv-type", "f16",
           "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env())
    if done.returncode:
        sys.exit("end_to_end.py: %s failed:\n%s" % (" ".join(cmd),
                                                    done.stderr))
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_peers(a, threads):
    done = subprocess.run("%s %d" % (a.peer, threads), shell=True,
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit("end_to_end.py: the peer command failed:\n%s"
                 % done.stderr)
    rows = [json.loads(line) for line in done.stdout.splitlines()
            if line.strip().startswith("{")]
    for row in rows:
        missing = [f for f in FIELDS if f not in row]
        if missing or row["threads"] != threads:
            sys.exit("end_to_end.py: a peer line lacks %s or has another "
                     "thread count: %s" % (missing, row))
    return rows


def context_probe(a, threads):
    """Decode-step milliseconds at positions 0 and 511 (median of 10)."""
    import numpy as np
    from sherry.llama import LlamaModel, load_gguf
    config, weights = load_gguf(a.model)
    model = LlamaModel(config, weights, max_context=512, chunk=a.chunk,
                       pipeline_options="target=host threads=%d" % threads,
                       kv_type="f16")
    del weights
    token = np.array([1], np.int32)
    out = {}
    for pos in (0, 511):
        times = []
        for _ in range(12):
            start = time.perf_counter()
            model._run[1](token, pos)
            times.append(time.perf_counter() - start)
        out["pos%d_ms" % pos] = 1e3 * statistics.median(times[2:])
    return out


def median_entry(samples):
    first = samples[0]
    entry = {f: first[f] for f in FIELDS if f in first}
    for key in ("prefill_tokens_per_s", "decode_tokens_per_s",
                "peak_rss_bytes"):
        entry[key] = statistics.median(s[key] for s in samples)
    entry["peak_rss_bytes"] = int(entry["peak_rss_bytes"])
    entry["samples"] = len(samples)
    entry["decode_tokens_per_s_range"] = [
        min(s["decode_tokens_per_s"] for s in samples),
        max(s["decode_tokens_per_s"] for s in samples)]
    for key in ("commit", "build", "method"):
        if key in first:
            entry[key] = first[key]
    return entry


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags = open("/proc/cpuinfo").read()
    isa = "AVX-512" if "avx512f" in flags else "AVX2"
    return "%s, %d cores, %s" % (cpu, os.cpu_count(), isa)


def section(result):
    """The Markdown of the section."""
    rows = result["end_to_end"]
    s = result["end_to_end_sitting"]
    w = []
    w.append(BEGIN)
    w.append("## End to end: a whole model, tokens/s")
    w.append("")
    w.append("Sitting of %s on %s (sherry-mlir %s), %d round(s) "
             "interleaving the implementations, %d run(s) of Sherry per "
             "round: `%s`. Model: %s, synthetic ternary weights; prompt of "
             "%d tokens, then %d generated. Each figure is the median of "
             "its samples." % (s["date"], s["machine"], s["commit"][:10],
                               s["rounds"], s["reps"], s["command"],
                               s["model_description"], s["prompt_tokens"],
                               s["generated_tokens"]))
    w.append("")
    w.append("| implementation | threads | prefill tokens/s | decode "
             "tokens/s (range) | peak resident memory |")
    w.append("|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["threads"], r["impl"] !=
                                         "sherry", r["impl"])):
        lo, hi = r["decode_tokens_per_s_range"]
        w.append("| %s | %d | %.1f | %.1f (%.1f–%.1f) | %.0f MiB |" % (
            r["impl"], r["threads"], r["prefill_tokens_per_s"],
            r["decode_tokens_per_s"], lo, hi, r["peak_rss_bytes"] / 2**20))
    w.append("")
    w.append("Ratios, Sherry over each peer (the targets of the whole-model "
             "work: decode ≥ 1.5× I2_S and ≥ 1.7× TL2, prefill ≥ 1.5× "
             "I2_S, at 1 and 2 threads):")
    w.append("")
    w.append("| peer | threads | prefill | decode | target |")
    w.append("|---|---|---|---|---|")
    for r in result["end_to_end_ratios"]:
        w.append("| %s | %d | %.2f× | %.2f× | %s |" % (
            r["peer"], r["threads"], r["prefill"], r["decode"],
            r["target"]))
    w.append("")
    ctx = result.get("end_to_end_context")
    if ctx:
        w.append("Decode step at a context of 512 (Sherry, the same model, "
                 "median of 10 steps): " + "; ".join(
                     "%d thread%s: %.1f ms at position 0, %.1f ms at 511 "
                     "(+%.0f%%)" % (c["threads"], "" if c["threads"] == 1
                                    else "s", c["pos0_ms"], c["pos511_ms"],
                                    100 * (c["pos511_ms"] / c["pos0_ms"]
                                           - 1)) for c in ctx) + ".")
        w.append("")
    notes = os.path.join(ROOT, "docs", "performance", "end_to_end_notes.md")
    if os.path.exists(notes):
        # What bounds the figures (measured separately): kept beside the
        # results, shown with them.
        with open(notes) as f:
            w.append(f.read().strip())
        w.append("")
    peers = {}
    for r in rows:
        if r["impl"] != "sherry" and r.get("build"):
            peers[r["impl"]] = r
    for impl, r in sorted(peers.items()):
        w.append("- **%s**: %s%s%s" % (
            impl, r.get("commit", ""), "; " + r["build"] if r.get("build")
            else "", "; " + r["method"] if r.get("method") else ""))
    if peers:
        w.append("")
    w.append(END)
    return "\n".join(w)


def ratios(rows):
    out = []
    sherry = {r["threads"]: r for r in rows if r["impl"] == "sherry"}
    for r in rows:
        if r["impl"] == "sherry" or r["threads"] not in sherry:
            continue
        s = sherry[r["threads"]]
        decode = s["decode_tokens_per_s"] / r["decode_tokens_per_s"]
        prefill = s["prefill_tokens_per_s"] / r["prefill_tokens_per_s"]
        want_decode, want_prefill = TARGETS.get(r["impl"], (None, None))
        verdict = []
        if want_decode:
            verdict.append("decode ≥ %.1f×: %s" % (
                want_decode, "met" if decode >= want_decode else
                "missed by %.0f%%" % (100 * (1 - decode / want_decode))))
        if want_prefill:
            verdict.append("prefill ≥ %.1f×: %s" % (
                want_prefill, "met" if prefill >= want_prefill else
                "missed by %.0f%%" % (100 * (1 - prefill / want_prefill))))
        out.append({"peer": r["impl"], "threads": r["threads"],
                    "prefill": prefill, "decode": decode,
                    "target": "; ".join(verdict) or "none"})
    return sorted(out, key=lambda r: (r["threads"], r["peer"]))


def write(result, md_path, json_path):
    data = {}
    if os.path.exists(json_path):
        with open(json_path) as f:
            data = json.load(f)
    for key in ("end_to_end", "end_to_end_sitting", "end_to_end_ratios",
                "end_to_end_context"):
        data[key] = result.get(key)
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(data, f, indent=1)
    replace_section(md_path, BEGIN, END, section(result))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--model", help="the Sherry GGUF file Sherry runs")
    ap.add_argument("--model-name", default="bitnet_b1_58-large",
                    help="the shape's name in the results")
    ap.add_argument("--peer", help="the peers' command (`CMD T`)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3,
                    help="Sherry runs per round and thread count")
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--chunk", type=int, default=32)
    ap.add_argument("--md", default=os.path.join(ROOT, "docs",
                                                 "performance.md"))
    ap.add_argument("--json", default=os.path.join(
        ROOT, "docs", "performance", "results.json"))
    ap.add_argument("--render", action="store_true",
                    help="only rewrite the section from results.json (after "
                    "editing docs/performance/end_to_end_notes.md)")
    a = ap.parse_args(argv)
    if a.render:
        with open(a.json) as f:
            write(json.load(f), a.md, a.json)
        return 0
    if not a.model:
        ap.error("--model is required (unless --render)")
    threads = [int(t) for t in a.threads.split(",")]
    from sherry.llama import load_gguf
    config, _ = load_gguf(a.model)
    samples = {}
    started = datetime.datetime.now(datetime.timezone.utc)
    for rnd in range(a.rounds):
        for t in threads:
            if a.peer:
                log("round %d, %d thread(s): peers" % (rnd + 1, t))
                for row in run_peers(a, t):
                    samples.setdefault((row["impl"], t), []).append(row)
            log("round %d, %d thread(s): sherry" % (rnd + 1, t))
            for _ in range(a.reps):
                r = run_sherry(a, t)
                r.update(impl="sherry", model=a.model_name, threads=t)
                samples.setdefault(("sherry", t), []).append(r)
    rows = [median_entry(v) for _, v in sorted(samples.items())]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    result = {
        "end_to_end": rows,
        "end_to_end_ratios": ratios(rows),
        "end_to_end_context": [dict(threads=t, **context_probe(a, t))
                               for t in threads],
        "end_to_end_sitting": {
            "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(), "commit": commit or "unknown",
            "rounds": a.rounds, "reps": a.reps,
            "prompt_tokens": a.prompt, "generated_tokens": a.gen,
            "command": "bench/end_to_end.py --model %s%s" % (
                os.path.basename(a.model), " --peer CMD" if a.peer else ""),
            "model_description": "%s (%d layers, hidden %d, MLP %d, %d "
            "heads, vocabulary %d; projections STQ1_0 for Sherry, "
            "embeddings, lm_head and KV cache f16 everywhere)" % (
                a.model_name, config.num_hidden_layers, config.hidden_size,
                config.intermediate_size, config.num_attention_heads,
                config.vocab_size),
        },
    }
    write(result, a.md, a.json)
    for r in result["end_to_end_ratios"]:
        log("%s, %d thread(s): prefill %.2fx, decode %.2fx (%s)"
            % (r["peer"], r["threads"], r["prefill"], r["decode"],
               r["target"]))
    log("wrote %s and %s" % (a.md, a.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
