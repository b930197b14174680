"""Evaluate the NLU on labelled JSONL files, beside the parser of an earlier commit.

    python bench/nlu_eval.py tests/data/nlu_heldout_v2.jsonl ../shared/eval/dev_queries.jsonl
    python bench/nlu_eval.py FILE --baseline 18ef590 --cv 5 --min-intent 0.95

Per file: intent, category (find_craftsman lines), place (find_place lines) and slot accuracy
(date from `date_offset`, meal, count, address, each where the line gives it), the misses, a
confusion matrix of intents, how often the parser asked instead of acting ("asked": not
confident, or two categories to choose from) and how often it acted on a wrong reading
("confidently wrong"). Latency p50/p99 per parse (cache off) for today's parser and, in the
same run, for the baseline's (`--baseline REV`: that commit's bot/nlu, extracted with
`git archive` into a temporary directory and imported under another name). `--cv K` adds
K-fold cross-validation on the training corpus. Exits 1 below a given bar.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TODAY = dt.date(2026, 11, 25)  # fixed, so date slots are checked against a known day
BASELINE_REV = "18ef590"  # the parser before issue 14 (lexicon rules only)
_STARTUP_SNIPPET = (
    "import time; t = time.perf_counter(); from bot.nlu import parse; parse('冰箱不制冷'); "
    "print(time.perf_counter() - t)"
)
_SLOTS = ("date", "meal", "count", "address")


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
    """Best of a few fresh interpreters: import + lexicon + model + first parse, in seconds."""
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


def baseline_parser(rev: str) -> Any:
    """The default parser of `rev`'s bot/nlu, imported as a separate package."""
    tar = subprocess.run(
        ["git", "archive", rev, "bot/nlu"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    where = Path(tempfile.mkdtemp(prefix="nlu-baseline-"))
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(where, filter="data")
    pkg = where / "bot" / "nlu"
    name = "nlu_baseline_" + "".join(c if c.isalnum() else "_" for c in rev)  # "main~1" too
    spec = importlib.util.spec_from_file_location(
        name, pkg / "__init__.py", submodule_search_locations=[str(pkg)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.default_parser()


def _expected_slots(row: dict[str, Any]) -> dict[str, Any]:
    want = dict(row.get("slots") or {})
    if "date_offset" in want:
        want["date"] = (TODAY + dt.timedelta(days=want.pop("date_offset"))).isoformat()
    return {k: v for k, v in want.items() if k in _SLOTS}


def _asked(res: Any) -> bool:
    return not getattr(res, "confident", True) or (
        res.intent == "find_craftsman" and len(getattr(res, "clarify", [])) >= 2
    )


def evaluate(rows: list[dict[str, Any]], parser: Any = None, repeat: int = 3) -> dict[str, Any]:
    if parser is None:
        from bot.nlu import default_parser

        parser = default_parser()
    parser.parse("预热", today=TODAY)  # exclude the one-off start-up from the per-query figures
    misses: list[tuple[str, str, str]] = []
    confusion: Counter[tuple[str, str]] = Counter()
    intent_ok = cat_n = cat_ok = place_n = place_ok = slot_n = slot_ok = 0
    asked = conf_wrong = 0
    latencies: list[float] = []
    for row in rows:
        text = row["text"]
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = parser.parse(text, today=TODAY, cache=False)  # the work, not the repeat cache
            latencies.append(time.perf_counter() - t0)
        place = getattr(res, "place", None)
        right = res.intent == row["intent"]
        intent_ok += right
        confusion[(row["intent"], res.intent)] += 1
        if row["intent"] == "find_craftsman" and row.get("category"):
            cat_n += 1
            cat_ok += res.category == row["category"]
            right = right and res.category == row["category"]
        if row["intent"] == "find_place" and row.get("place"):
            place_n += 1
            place_ok += place == row["place"]
            right = right and place == row["place"]
        for key, value in _expected_slots(row).items():
            slot_n += 1
            slot_ok += res.slots.get(key) == value
        if _asked(res):
            asked += 1
        elif not right:
            conf_wrong += 1
        if not right:
            label = row.get("category") or row.get("place")
            got = res.category or place
            misses.append(
                (
                    text,
                    row["intent"] + (f"/{label}" if label else ""),
                    res.intent
                    + (f"/{got}" if got else "")
                    + ("" if not _asked(res) else " (asked)"),
                )
            )
    latencies.sort()
    n = len(rows)
    return {
        "n": n,
        "intent_acc": intent_ok / n if n else 0.0,
        "category_acc": cat_ok / cat_n if cat_n else 1.0,
        "category_n": cat_n,
        "place_acc": place_ok / place_n if place_n else 1.0,
        "place_n": place_n,
        "slot_acc": slot_ok / slot_n if slot_n else 1.0,
        "slot_n": slot_n,
        "asked": asked / n if n else 0.0,
        "confidently_wrong": conf_wrong / n if n else 0.0,
        "confusion": confusion,
        "misses": misses,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def print_confusion(confusion: Counter[tuple[str, str]]) -> None:
    """Rows: the label; columns: what the parser said (only intents that occur)."""
    names = sorted({a for a, _ in confusion} | {b for _, b in confusion})
    short = {n: n.replace("delivery_", "d_").replace("menu_", "m_")[:10] for n in names}
    print("confusion (rows: expected, columns: parsed)")
    print(" " * 20 + "".join(f"{short[n]:>11}" for n in names))
    for a in names:
        cells = "".join(f"{confusion.get((a, b), 0) or '.':>11}" for b in names)
        print(f"{a[:19]:20}{cells}")


def report(path: Path, stats: dict[str, Any], base: dict[str, Any] | None) -> None:
    def both(key: str, fmt: str = "{:.1%}") -> str:
        now = fmt.format(stats[key])
        return now if base is None else f"{now}   (baseline {fmt.format(base[key])})"

    print(f"== {path} ({stats['n']} lines)")
    print(f"intent accuracy     {both('intent_acc')}")
    print(f"category accuracy   {both('category_acc')} over {stats['category_n']} lines")
    print(f"place accuracy      {both('place_acc')} over {stats['place_n']} lines")
    print(f"slot accuracy       {both('slot_acc')} over {stats['slot_n']} slots")
    print(f"asked               {both('asked')}")
    print(f"confidently wrong   {both('confidently_wrong')}")
    print(f"parse p50           {both('median_ms', '{:.3f} ms')}")
    print(f"parse p99           {both('p99_ms', '{:.3f} ms')}")
    print_confusion(stats["confusion"])
    if stats["misses"]:
        print(f"misses ({len(stats['misses'])}):")
        for text, expected, got in stats["misses"]:
            print(f"  {text!r:40}  expected {expected:32}  got {got}")


def cross_validation(folds: int) -> dict[str, Any]:
    from bot.nlu import load_lexicon
    from bot.nlu.train import cross_validate, read_corpus, synthetic

    lex = load_lexicon()
    cv = cross_validate(read_corpus() + synthetic(lex), lex, folds)
    return {k: v for k, v in cv.items() if k != "predictions"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--baseline", default=BASELINE_REV, help="git revision to compare with")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--cv", type=int, default=0, help="K-fold cross-validation on the corpus")
    ap.add_argument("--min-intent", type=float, default=None)
    ap.add_argument("--min-category", type=float, default=None)
    ap.add_argument("--no-startup", action="store_true", help="skip the start-up measurement")
    args = ap.parse_args(argv)

    base_parser = None if args.no_baseline else baseline_parser(args.baseline)
    failed = False
    for path in args.files:
        rows = load_rows(path)
        stats = evaluate(rows)
        base = evaluate(rows, base_parser) if base_parser is not None else None
        report(path, stats, base)
        if args.min_intent is not None and stats["intent_acc"] < args.min_intent:
            print(f"FAIL: intent accuracy below {args.min_intent:.2%}")
            failed = True
        if args.min_category is not None and stats["category_acc"] < args.min_category:
            print(f"FAIL: category accuracy below {args.min_category:.2%}")
            failed = True
    if args.cv:
        cv = cross_validation(args.cv)
        print(
            f"{args.cv}-fold cross-validation on the corpus ({cv['n']} hand-labelled lines):"
            f" intent {cv['intent_acc']:.1%}, category {cv['category_acc']:.1%},"
            f" place {cv['place_acc']:.1%}"
        )
    if not args.no_startup:
        print(
            "start-up (import + lexicon + model + first parse, fresh interpreter):"
            f" {measure_startup() * 1000:.0f} ms"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
