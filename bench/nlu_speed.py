"""The NLU's work per cache miss, and proof that a faster parser answers exactly as before.

    python bench/nlu_speed.py                    # against the main branch's bot/nlu
    python bench/nlu_speed.py --baseline REV --variants 4000 --rounds 5 --profile

Builds a corpus of several thousand texts: every text of the evaluation files
(../shared/eval/dev_queries.jsonl, tests/data/*.jsonl), bench/realistic.py's `corpus()` and the
texts of its `make_plan(2000)` message sequence, the residents' lines (">") of
tests/conversations/*.txt, and randomised variants of them (particles, punctuation, pinyin,
homophone typos, digits, emoji, mixed scripts, full-width forms, long pasted text), seeded so
every run reads the same texts.

The baseline is `REV`'s bot/nlu (default: main), extracted with `git archive` into a temporary
directory and imported under another name; both parsers run in this process, over the same
lexicon file and model file of their own trees. Every text is parsed by both with the cache off
and every field of the two ParseResults is compared (`to_dict()` plus the raw dataclass
fields), at two fixed dates. Then the work per miss: per round, each text once with each parser
(order alternating per text, so drift hits both), `cache=False`; the figure is the median over
the corpus of each text's best time over the rounds. `--profile` prints cProfile's top
functions of the current parser over the corpus.

Exits 1 if any ParseResult differs.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import importlib.util
import json
import pstats
import random
import statistics
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from nlu_eval import baseline_parser  # noqa: E402  (bench/ on the path first)

DATES = (dt.date(2026, 11, 25), dt.date(2025, 1, 15))
PARTICLES = ["吗", "呢", "吧", "啊", "呀", "哈", "啦", "嘛", "哦", "呗", "了", "的"]
PUNCT = ["", "！", "?", "？", "。", "，", ",", "…", "~", "!!", "  ", "、", "；", "\n", "\t"]
EMOJI = ["😀", "🙏", "👍", "🔧", "❤️", "🏠", "😭", "🌧"]
LATIN = ["ok", "hello", "qwerty", "asdf", "zzz", "wifi", "app", "TV", "diy", "ABC", "xyz"]
HOMOPHONES = {
    "钥匙": "要是", "锁": "所", "缝": "逢", "箱": "相", "龙": "笼", "修": "休", "鞋": "协",
    "理": "里", "电": "店", "水": "谁", "菜": "才", "单": "担", "网": "往", "格": "个",
    "餐": "参", "送": "松", "饭": "反", "剪": "简", "表": "标", "车": "扯",
}  # fmt: skip


def _labelled_texts() -> list[str]:
    out: list[str] = []
    paths = [ROOT.parent / "shared" / "eval" / "dev_queries.jsonl"]
    paths += sorted((ROOT / "tests" / "data").glob("*.jsonl"))
    for path in paths:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    out.append(json.loads(line)["text"])
    return out


def _conversation_texts() -> list[str]:
    out: list[str] = []
    for path in sorted((ROOT / "tests" / "conversations").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(">"):
                out.append(line[1:].strip())
    return out


def _realistic_texts() -> list[str]:
    spec = importlib.util.spec_from_file_location(
        "bench_realistic", ROOT / "bench" / "realistic.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_realistic"] = module
    spec.loader.exec_module(module)
    out = [t for texts in module.corpus().values() for t in texts]
    plan = module.make_plan(2000)
    out += [plan.texts[i] for _, kind, i in plan.seq if kind in ("t", "c")]
    return out


def _pinyin(text: str, rng: random.Random) -> str:
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(text)
    return (" " if rng.random() < 0.5 else "").join(syllables)


def _variant(base: str, pool: list[str], rng: random.Random) -> str:
    """One random change (or a few) of `base`."""
    t = base
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.randrange(12)
        if kind == 0:
            t += rng.choice(PARTICLES) + rng.choice(PUNCT)
        elif kind == 1:
            k = rng.randrange(len(t) + 1)
            t = t[:k] + rng.choice(PUNCT + EMOJI) + t[k:]
        elif kind == 2 and t:  # a part of it in pinyin
            a = rng.randrange(len(t))
            b = min(len(t), a + rng.randint(1, 4))
            t = t[:a] + _pinyin(t[a:b], rng) + t[b:]
        elif kind == 3:  # homophone typos
            for right, wrong in HOMOPHONES.items():
                if right in t and rng.random() < 0.5:
                    t = t.replace(right, wrong, 1)
        elif kind == 4:
            t = f"{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元{rng.randint(101, 2505)} " + t
        elif kind == 5:
            t = t + rng.choice(EMOJI) * rng.randint(1, 3)
        elif kind == 6:
            k = rng.randrange(len(t) + 1)
            t = t[:k] + " " + rng.choice(LATIN) + " " + t[k:]
        elif kind == 7:  # full-width forms and traditional characters
            t = (
                t.translate(str.maketrans("0123456789abc", "０１２３４５６７８９ａｂｃ"))
                + "們裡電話"
            )
        elif kind == 8:  # a long pasted text
            t = "".join(rng.choice(pool) + rng.choice(PUNCT) for _ in range(rng.randint(5, 40)))
        elif kind == 9:  # two messages run together
            t = t + rng.choice(PUNCT) + rng.choice(pool)
        elif kind == 10 and len(t) > 1:  # a character dropped or doubled
            k = rng.randrange(len(t))
            t = t[:k] + t[k + 1 :] if rng.random() < 0.5 else t[:k] + t[k] + t[k:]
        elif kind == 11:  # all in pinyin
            t = _pinyin(t, rng)
    return t


def build_corpus(variants: int = 4000, seed: int = 18) -> list[str]:
    base = _labelled_texts() + _conversation_texts() + _realistic_texts()
    pool = list(dict.fromkeys(base))
    rng = random.Random(seed)
    extra = [_variant(rng.choice(pool), pool, rng) for _ in range(variants)]
    extra += ["", " ", "？", "??", "😀", "1", "123456", "a", "ABC", "。。。", "\u3000", "吗"]
    extra += ["找裁缝" * 120, "x" * 500, "ni hao " * 60, "我" * 300, "🙏" * 200]
    return list(dict.fromkeys(pool + extra))


def _fields(res: Any) -> dict[str, Any]:
    raw = {f.name: getattr(res, f.name) for f in fields(res)}
    # repr: the same types too (a tuple is not a list, 1 is not 1.0)
    return {"dict": res.to_dict(), "raw": repr(raw)}


def compare(old: Any, new: Any, texts: list[str]) -> tuple[int, list[tuple[str, Any, Any]]]:
    same, diffs = 0, []
    for today in DATES:
        for text in texts:
            a = _fields(old.parse(text, today=today, cache=False))
            b = _fields(new.parse(text, today=today, cache=False))
            if a == b:
                same += 1
            else:
                diffs.append((text, a, b))
    # the cached path too: a second parse answers from memory, the same again
    for text in texts[:2000]:
        a = _fields(old.parse(text, today=DATES[0]))
        b = _fields(new.parse(text, today=DATES[0]))
        b2 = _fields(new.parse(text, today=DATES[0]))
        if a == b == b2:
            same += 1
        else:
            diffs.append((text, a, b))
    return same, diffs


def timings(old: Any, new: Any, texts: list[str], rounds: int) -> tuple[float, float]:
    today = DATES[0]
    best_old = [float("inf")] * len(texts)
    best_new = [float("inf")] * len(texts)
    clock = time.perf_counter
    for r in range(rounds):
        for k, text in enumerate(texts):
            order = ((old, best_old), (new, best_new))
            if (k + r) % 2:
                order = order[::-1]
            for parser, best in order:
                t0 = clock()
                parser.parse(text, today=today, cache=False)
                dt_ = clock() - t0
                if dt_ < best[k]:
                    best[k] = dt_
    return statistics.median(best_old) * 1e6, statistics.median(best_new) * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", default="main", help="git revision of the old parser")
    ap.add_argument("--variants", type=int, default=4000, help="randomised variants to add")
    ap.add_argument("--rounds", type=int, default=5, help="timing rounds over the corpus")
    ap.add_argument("--profile", action="store_true", help="cProfile the current parser")
    args = ap.parse_args()

    from bot.nlu import default_parser

    texts = build_corpus(args.variants)
    new = default_parser()
    old = baseline_parser(args.baseline)
    print(f"corpus: {len(texts)} distinct texts")
    same, diffs = compare(old, new, texts)
    print(f"equivalence: {same} identical ParseResults, {len(diffs)} different")
    for text, a, b in diffs[:10]:
        print("DIFF", repr(text[:80]))
        print("  old", a["dict"])
        print("  new", b["dict"])
    if args.rounds:
        t_old, t_new = timings(old, new, texts, args.rounds)
        print(
            f"parse per miss (median over texts of best of {args.rounds}): "
            f"{args.baseline} {t_old:.1f} µs, now {t_new:.1f} µs ({t_old / t_new:.2f}x)"
        )
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for text in texts:
            new.parse(text, today=DATES[0], cache=False)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
