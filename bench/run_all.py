"""`make bench`: every benchmark in one run, printed as one table (about 5 minutes).

    .venv/bin/python bench/run_all.py [--full] [--seconds 8]

Figures on a shared 2-core machine are noisy, so each comparison has its baseline measured in
the same session: the pipeline against a bare aiohttp + wechatpy handler, the GEO search against
a database scan, the outbox drain against direct sends. Each sub-bench runs in a fresh process,
so its memory figure is its own.

Sizes: the pipeline and GEO search run at 1k, 10k and 100k craftsmen; the broadcast at 1k, 10k
and 100k subscribers. At 100k the broadcast publishes to everyone but samples its rates: the
direct baseline sends to 10k and the worker drains for 30 s from the whole backlog (`--full`
sends all 100k both ways, about 8 more minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

DEV_SET = ROOT.parent / "shared" / "eval" / "dev_queries.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "nlu_holdout.jsonl"
HELDOUT_V2 = ROOT / "tests" / "data" / "nlu_heldout_v2.jsonl"


# ---- sub-benches, each run in a child process ------------------------------------------------


SAMPLE_DIRECT, SAMPLE_DRAIN_S = 10_000, 30.0


def _child(part: str, n: int, sampled: bool = False) -> dict[str, Any]:
    if part == "geo":
        import geo_search

        out = asyncio.run(geo_search.main(n, 2000, 20 if n >= 100_000 else 50))
    elif part == "places":
        import place_search

        out = asyncio.run(place_search.main(n, 2000))
    elif part == "broadcast":
        import broadcast

        if sampled:
            out = asyncio.run(broadcast.main(n, SAMPLE_DIRECT, SAMPLE_DRAIN_S))
        else:
            out = asyncio.run(broadcast.main(n))
    elif part == "nlu":
        import nlu_eval

        # the held-out phrasings of issue 14, today's parser beside the one before it
        path = HELDOUT_V2
        rows = nlu_eval.load_rows(path)
        keep = ("n", "intent_acc", "category_acc", "slot_acc", "asked", "confidently_wrong",
                "median_ms", "p99_ms")
        stats = nlu_eval.evaluate(rows)
        out = {k: stats[k] for k in keep}
        base = nlu_eval.evaluate(rows, nlu_eval.baseline_parser(nlu_eval.BASELINE_REV))
        out.update({f"base_{k}": base[k] for k in keep})
        out["file"] = path.name
        out["startup_ms"] = nlu_eval.measure_startup(runs=1) * 1000
    else:
        raise SystemExit(f"unknown part {part}")
    out["process_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def child(part: str, n: int = 0, sampled: bool = False) -> dict[str, Any]:
    """Run one sub-bench in a fresh interpreter; its own output goes to bench-output.log."""
    proc = subprocess.run(
        [sys.executable, __file__, "--part", part, "--n", str(n)]
        + (["--sampled"] if sampled else []),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    with (ROOT / "data" / "bench-output.log").open("a", encoding="utf-8") as log:
        log.write(f"==== {part} {n}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        raise RuntimeError(f"{part} {n} failed:\n{proc.stderr[-3000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line.removeprefix("RESULT "))


# ---- the table -------------------------------------------------------------------------------

ROWS: list[tuple[str, str, str, str, str]] = []


def row(section: str, what: str, result: str, baseline: str = "", memory: str = "") -> None:
    ROWS.append((section, what, result, baseline, memory))
    print(f"  [{section}] {what}: {result}  {baseline}  {memory}", flush=True)


def print_table(elapsed: float) -> None:
    head = ("bench", "measured", "result", "baseline (same session) / ratio", "memory")
    widths = [max(_w(r[i]) for r in [head, *ROWS]) for i in range(5)]
    line = "+".join("-" * (w + 2) for w in widths)
    print()
    print(f"linli benchmarks ({_machine()}), {elapsed / 60:.1f} min")
    print(line)
    for r in [head, None, *ROWS]:
        if r is None:
            print(line)
            continue
        print("|".join(f" {_pad(c, w)} " for c, w in zip(r, widths, strict=True)))
    print(line)
    if not shutil.which("wrk"):
        # The fallback generator shares the cores with the server: its figures read low.
        print("* pipeline and scale-out rows: load from the Python generator, not wrk (roughly")
        print("  halves them); install wrk: sudo apt-get install -y --no-install-recommends wrk")


def _w(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _w(text))


def _machine() -> str:
    import os

    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores, load {load:.1f} at the end"


def k(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 else str(n)


# ---- sections --------------------------------------------------------------------------------


def pipeline_section(seconds: float) -> None:
    import pipeline

    tool = "wrk" if shutil.which("wrk") else "python loadgen (wrk not installed)"
    r = pipeline.main(10_000, seconds=seconds, rounds=2, compare=True)
    linli, bare, paced = r["linli"], r["bare"], r["paced"]
    row(
        "pipeline",
        f"text→NLU→search→reply, 10k craftsmen, {tool}, 32 conns",
        f"{linli.rate:,.0f} msg/s, p50 {linli.p50_ms:.1f} ms, p99 {linli.p99_ms:.1f} ms",
        f"bare aiohttp+wechatpy {bare.rate:,.0f} msg/s → {r['ratio']:.2f}x (target ≥0.5x)",
        f"server+redis {r['rss_mib']:.0f} MiB",
    )
    _check(linli, "pipeline")
    floor = r["floor"]
    row(
        "pipeline",
        "floor: bare handler + 3 Redis round trips",
        f"{floor.rate:,.0f} msg/s, p99 {floor.p99_ms:.1f} ms",
        f"vs bare {floor.rate / bare.rate:.2f}x; pipeline vs floor {linli.rate / floor.rate:.2f}x",
    )
    reached = "reached" if paced.rate >= 950 else "saturated at"
    row(
        "pipeline",
        "offered 1,000 msg/s (paced)",
        f"{reached} {paced.rate:,.0f} msg/s, p50 {paced.p50_ms:.1f} ms, p99 {paced.p99_ms:.1f} ms",
        "target p99 < 25 ms at 1,000 msg/s",
    )
    half = r["half"]
    row(
        "pipeline",
        "offered half of max (paced)",
        f"{half.rate:,.0f} msg/s, p50 {half.p50_ms:.1f} ms, p99 {half.p99_ms:.1f} ms",
    )
    for n in (1_000, 100_000):
        g = pipeline.main(n, seconds=seconds, rounds=1, compare=False)
        row(
            "pipeline growth",
            f"{k(n)} craftsmen, 1 process",
            f"{g['linli'].rate:,.0f} msg/s, p99 {g['linli'].p99_ms:.1f} ms",
            f"vs 10k: {g['linli'].rate / linli.rate:.2f}x",
            f"server+redis {g['rss_mib']:.0f} MiB",
        )
        _check(g["linli"], f"pipeline {n}")
    w = pipeline.main(10_000, seconds=seconds, rounds=1, compare=False, workers=2)
    row(
        "scale-out",
        "serve --workers 2 + redis-server, 10k craftsmen",
        f"{w['linli'].rate:,.0f} msg/s, p99 {w['linli'].p99_ms:.1f} ms",
        f"vs 1 process: {w['linli'].rate / linli.rate:.2f}x (2 cores, load generator included)",
        f"all processes {w['rss_mib']:.0f} MiB",
    )
    _check(w["linli"], "pipeline workers=2")


def _check(result: Any, label: str) -> None:
    """A fast wrong answer is no result: every reply must be a real search answer."""
    if result.errors or result.unexpected or not result.ok:
        raise SystemExit(f"{label}: {result.errors} errors, {result.unexpected} odd replies")


def realistic_section(seconds: float) -> None:
    """The realistic mix (bench/realistic.py, wrk only): CPU per message first, since it is the
    steadier figure on a shared machine. `BENCH_BASELINE_TREE=/path` adds an older tree (e.g.
    a `git worktree` of the commit to compare with), run alternately, and its ratios."""
    import os

    if not shutil.which("wrk"):
        row("realistic mix", "skipped", "needs wrk (apt-get install wrk)")
        return
    out = ROOT / "data" / "realistic.json"
    trees = ["--tree", str(ROOT)]
    base = os.environ.get("BENCH_BASELINE_TREE")
    if base:
        trees = ["--tree", base, *trees]
    proc = subprocess.run(
        [sys.executable, str(BENCH / "realistic.py"), *trees, "--rounds", "1", "--seconds",
         str(seconds), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    with (ROOT / "data" / "bench-output.log").open("a", encoding="utf-8") as log:
        log.write(f"==== realistic\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        raise RuntimeError(f"realistic mix failed:\n{proc.stderr[-3000:]}")
    summary = json.loads(out.read_text(encoding="utf-8"))["summary"]
    floor = summary.get("floor")
    for name, s in summary.items():
        if name == "floor":
            continue
        kind, _, tree = name.partition(" ")
        what = "realistic mix (2k residents)" if kind == "mix" else "single text 找裁缝"
        hits = f", NLU hits {s['nlu_hit']:.0%}" if kind == "mix" else ""
        versus = ""
        if base and not name.endswith(Path(base).name):
            ref = summary.get(f"{kind} {Path(base).name}")
            if ref:
                versus = f"vs {Path(base).name}: CPU {s['cpu_ms'] / ref['cpu_ms']:.2f}x"
        elif floor and kind == "single":
            versus = f"floor {floor['cpu_ms']:.2f} ms/msg, {floor['rate']:,.0f} msg/s"
        row(
            "realistic",
            f"{what}, {tree}",
            f"CPU {s['cpu_ms']:.2f} ms/msg (+redis {s['redis_ms']:.2f}), {s['rate']:,.0f} msg/s, "
            f"p50 {s['p50_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms{hits}",
            versus,
        )


def nlu_section() -> None:
    r = child("nlu")
    row(
        "NLU",
        f"{r['file']} ({r['n']} lines): intent, category, slots; asked, confidently wrong",
        f"{r['intent_acc']:.1%}, {r['category_acc']:.1%}, {r['slot_acc']:.1%};"
        f" {r['asked']:.1%}, {r['confidently_wrong']:.1%}",
        f"before issue 14: {r['base_intent_acc']:.1%}, {r['base_category_acc']:.1%},"
        f" {r['base_slot_acc']:.1%}; -, {r['base_confidently_wrong']:.1%}",
    )
    row(
        "NLU",
        "parse (cache off), start-up",
        f"p50 {r['median_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms, start-up {r['startup_ms']:.0f} ms",
        f"before: p50 {r['base_median_ms']:.3f} ms, p99 {r['base_p99_ms']:.3f} ms",
        f"process {r['process_rss_mib']:.0f} MiB",
    )


def geo_section() -> None:
    for n in (1_000, 10_000, 100_000):
        r = child("geo", n)
        row(
            "geo search",
            f"{k(n)} craftsmen, Redis GEO (avg {r['found_avg']:.1f} hits)",
            f"{r['geo_qps']:,.0f} q/s, p50 {r['geo_p50_ms']:.2f} ms, p99 {r['geo_p99_ms']:.2f} ms",
            f"DB scan p99 {r['scan_p99_ms']:.1f} ms → {r['scan_p99_ms'] / r['geo_p99_ms']:.0f}x",
            f"redis {r['redis_mib']:.1f} MiB, process {r['process_rss_mib']:.0f} MiB",
        )


def places_section() -> None:
    r = child("places", 100_000)
    row(
        "place search",
        "100k places beside 100k craftsmen, Redis GEO",
        f"{r['place_qps']:,.0f} q/s, p50 {r['place_p50_ms']:.2f} ms, "
        f"p99 {r['place_p99_ms']:.2f} ms",
        f"craftsman search p50 {r['craftsman_p50_ms']:.2f} ms → "
        f"{r['place_p50_ms'] / r['craftsman_p50_ms']:.2f}x",
        f"avg {r['place_found_avg']:.1f} hits, process {r['process_rss_mib']:.0f} MiB",
    )


def broadcast_section(full: bool) -> None:
    for n in (1_000, 10_000, 100_000):
        r = child("broadcast", n, sampled=n >= 100_000 and not full)
        drained = "" if r["drained_n"] == n else f" (first {r['drained_n']:,} of the backlog)"
        direct = "" if r["direct_n"] == n else f" (to {k(r['direct_n'])})"
        row(
            "broadcast",
            f"menu to {k(n)} subscribers, outbox + worker",
            f"drain {r['drain']:,.0f} msg/s{drained}, publish {r['enqueue']:,.0f} rows/s",
            f"direct send_text{direct} {r['direct']:,.0f} msg/s → {r['drain'] / r['direct']:.2f}x",
            f"max RSS {r['rss_mib']:.0f} MiB, traced peak {r['peak_mib']:.0f} MiB",
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="broadcast rates over all 100k too")
    ap.add_argument("--seconds", type=float, default=8, help="length of each load run")
    ap.add_argument("--part", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--sampled", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.part:
        print("RESULT " + json.dumps(_child(a.part, a.n, a.sampled)))
        return 0
    started = time.monotonic()
    (ROOT / "data").mkdir(exist_ok=True)
    (ROOT / "data" / "bench-output.log").write_text("", encoding="utf-8")
    print("each sub-bench's own output: data/bench-output.log", flush=True)
    pipeline_section(a.seconds)
    realistic_section(a.seconds)
    nlu_section()
    geo_section()
    places_section()
    broadcast_section(a.full)
    print_table(time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
