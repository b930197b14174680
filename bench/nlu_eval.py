"""Evaluate the NLU on a labelled JSONL file.

    python bench/nlu_eval.py ../shared/eval/dev_queries.jsonl --min-intent 0.97 --min-category 0.95

Prints intent accuracy, category accuracy (over find_craftsman lines), the misses, per-query
latency (median, p99) and the start-up cost (import + first parse, measured in a fresh
interpreter so earlier imports do not hide it).  Exits 1 below a given bar.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_STARTUP_SNIPPET = (
    "import time; t = time.perf_counter(); from bot.nlu import parse; parse('冰箱不制冷'); "
    "print(time.perf_counter() - t)"
)


def load_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                row = json.loads(line)
                if "text" not in row or "intent" not in row:
                    raise SystemExit(f"{path}:{lineno}: needs 'text' and 'intent'")
                rows.append(row)
    return rows


def measure_startup(runs: int = 3) -> float:
    """Best of a few fresh interpreters: import + lexicon load + first parse, in seconds."""
    best = float("inf")
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _STARTUP_SNIPPET],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        best = min(best, float(out.stdout.strip()))
    return best


def evaluate(rows: list[dict[str, Any]], repeat: int = 5) -> dict[str, Any]:
    from bot.nlu import default_parser

    parser = default_parser()
    parser.parse("预热")  # exclude the one-off start-up from the per-query figures
    misses: list[tuple[str, str, str]] = []
    intent_ok = cat_total = cat_ok = 0
    latencies: list[float] = []
    for row in rows:
        text = row["text"]
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = parser.parse(text, cache=False)  # the real work, not the repeat cache
            latencies.append(time.perf_counter() - t0)
        expected = row["intent"] + (f"/{row['category']}" if row.get("category") else "")
        got = res.intent + (f"/{res.category}" if res.category else "")
        if res.intent == row["intent"]:
            intent_ok += 1
        if row["intent"] == "find_craftsman":
            cat_total += 1
            if res.category == row.get("category"):
                cat_ok += 1
        if expected != got:
            misses.append((text, expected, got))
    latencies.sort()
    return {
        "n": len(rows),
        "intent_acc": intent_ok / len(rows) if rows else 0.0,
        "category_acc": cat_ok / cat_total if cat_total else 1.0,
        "category_n": cat_total,
        "misses": misses,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--min-intent", type=float, default=None)
    ap.add_argument("--min-category", type=float, default=None)
    ap.add_argument("--no-startup", action="store_true", help="skip the start-up measurement")
    args = ap.parse_args(argv)

    failed = False
    for path in args.files:
        stats = evaluate(load_rows(path))
        print(f"== {path} ({stats['n']} lines)")
        print(f"intent accuracy   {stats['intent_acc']:.2%}")
        print(
            f"category accuracy {stats['category_acc']:.2%}"
            f" (over {stats['category_n']} find_craftsman lines)"
        )
        print(f"latency           median {stats['median_ms']:.3f} ms, p99 {stats['p99_ms']:.3f} ms")
        if stats["misses"]:
            print(f"misses ({len(stats['misses'])}):")
            for text, expected, got in stats["misses"]:
                print(f"  {text!r:40}  expected {expected:35}  got {got}")
        if args.min_intent is not None and stats["intent_acc"] < args.min_intent:
            print(f"FAIL: intent accuracy below {args.min_intent:.2%}")
            failed = True
        if args.min_category is not None and stats["category_acc"] < args.min_category:
            print(f"FAIL: category accuracy below {args.min_category:.2%}")
            failed = True
    if not args.no_startup:
        print(
            "start-up (import + lexicon + first parse, fresh interpreter):"
            f" {measure_startup() * 1000:.0f} ms"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
