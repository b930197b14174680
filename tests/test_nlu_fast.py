"""The parser's shortcuts (issue 18) answer exactly as the plain algorithms they replaced.

`Reference` is the parser with the straightforward steps of before: every reading combination
of every span looked up in the sound index, every lexicon word tried at every place, every
rule checked, all three model heads scored by adding their rows one by one. Both parse a few
hundred texts (the labelled files, and noisy variants of them); every field of every
ParseResult must be the same. bench/nlu_speed.py does the same over ~12,000 texts against
the previous commit's own code, and measures the time.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
from dataclasses import fields
from operator import add
from pathlib import Path
from typing import Any

import pytest

from bot.nlu import danger_detector, load_lexicon, model_or_none
from bot.nlu.model import Model
from bot.nlu.parser import (
    _FUNCTION_CHARS,
    _MAX_REPAIR_LEN,
    _MIN_SECOND,
    Analysis,
    Parser,
    ParseResult,
    _Unit,
)
from bot.nlu.slots import extract_slots
from bot.nlu.text import exact_readings, fuzzy, is_cjk, readings, segment_pinyin

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2025, 1, 15)


def _ranked(labels: tuple[str, ...], scores: list[float]) -> list[tuple[str, float]]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    order = sorted(range(len(labels)), key=lambda i: -scores[i])
    return [(labels[i], exps[i] / total) for i in order]


def _all_heads(model: Model, feats: list[str]) -> dict[str, list[tuple[str, float]]]:
    out = {}
    for name, head in model.heads.items():
        scores: list[float] | None = None
        for f in feats:
            row = head.rows.get(f)
            if row is not None:
                scores = list(row) if scores is None else list(map(add, scores, row))
        out[name] = _ranked(head.labels, scores or [0.0] * len(head.labels))
    return out


class Reference(Parser):
    """The parser with the plain steps (before issue 18)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        index: dict[tuple[str, ...], list[str]] = {}
        for word in self.lexicon.words:
            if len(word) < 2 or len(word) > _MAX_REPAIR_LEN or not all(is_cjk(c) for c in word):
                continue
            per_char = [readings(c) for c in word]
            if all(per_char):
                for key in itertools.islice(itertools.product(*per_char), 16):
                    index.setdefault(key, []).append(word)
        self._index = index
        self._prefixes = frozenset(key[:m] for key in index for m in range(2, len(key) + 1))

    def _units(self, cleaned: str) -> list[_Unit]:
        units: list[_Unit] = []
        i, n = 0, len(cleaned)
        while i < n:
            ch = cleaned[i]
            if ch == " ":
                i += 1
                continue
            if is_cjk(ch):
                units.append(_Unit(ch, readings(ch), "han"))
                i += 1
                continue
            j = i
            while j < n and cleaned[j].isascii() and cleaned[j].isalpha():
                j += 1
            if j == i:
                while (
                    j < n
                    and not is_cjk(cleaned[j])
                    and cleaned[j] != " "
                    and not cleaned[j].isalpha()
                ):
                    j += 1
                units.append(_Unit(cleaned[i:j], (), "lit"))
                i = j
                continue
            token = cleaned[i:j]
            syllables = None if token in self._ascii_words else segment_pinyin(token)
            if syllables:
                units.extend(_Unit(s, (fuzzy(s),), "py") for s in syllables)
            else:
                units.append(_Unit(token, (), "lit"))
            i = j
        return units

    def _repair(self, units: list[_Unit]) -> tuple[str, list[tuple[str, str]]]:
        n = len(units)
        need = any(u.kind == "py" for u in units) or sum(u.kind == "han" for u in units) >= 2
        cands: list[tuple[int, int, int, str]] = []
        if need:
            han_text = "".join(u.surface if u.kind == "han" else "\0" for u in units)
            exact = [
                (i, i + len(w), self._neutral[w])
                for i, u in enumerate(units)
                if u.kind == "han"
                for w in self._by_first.get(u.surface, ())
                if han_text.startswith(w, i)
            ]
            protected = {k for s, e, neutral in exact if not neutral for k in range(s, e)}
            for i in range(n):
                if not units[i].readings:
                    continue
                for L in range(2, min(_MAX_REPAIR_LEN, n - i) + 1):
                    if not units[i + L - 1].readings:
                        break
                    span = units[i : i + L]
                    keys = list(
                        itertools.islice(itertools.product(*(u.readings for u in span)), 32)
                    )
                    if not any(key in self._prefixes for key in keys):
                        break
                    surface = "".join(u.surface for u in span)
                    seen: set[str] = set()
                    for key in keys:
                        for word in self._index.get(key, ()):
                            if word in seen or word == surface:
                                continue
                            seen.add(word)
                            kept = [u.surface for k, u in enumerate(span) if u.surface == word[k]]
                            changed = [
                                (k, u.surface) for k, u in enumerate(span) if u.surface != word[k]
                            ]
                            if L == 2 and all(u.kind == "han" for u in span):
                                if any(c in _FUNCTION_CHARS for _, c in changed):
                                    continue
                                if not any(c not in _FUNCTION_CHARS for c in kept):
                                    continue
                                if any(
                                    not (exact_readings(c) & exact_readings(word[k]))
                                    for k, c in changed
                                ):
                                    continue
                            if any(e > i and s < i + L and e - s >= L for s, e, _ in exact):
                                continue
                            if any(i + k in protected for k, _ in changed):
                                continue
                            cands.append((-L, -len(kept), i, word))
        cands.sort()
        taken = [False] * n
        chosen: dict[int, tuple[int, str]] = {}
        for negL, _, i, word in cands:
            if not any(taken[i : i - negL]):
                taken[i : i - negL] = [True] * -negL
                chosen[i] = (-negL, word)
        out: list[str] = []
        repairs: list[tuple[str, str]] = []
        i = 0
        while i < n:
            if i in chosen:
                L, word = chosen[i]
                sep = " " if units[i].kind == "py" else ""
                repairs.append((sep.join(u.surface for u in units[i : i + L]), word))
                out.append(word)
                i += L
                continue
            if units[i].kind != "han" and out and not is_cjk(out[-1][-1]):
                out.append(" ")
            out.append(units[i].surface)
            i += 1
        return "".join(out), repairs

    def _match(self, text: str) -> list[str]:
        found: list[tuple[int, int, str]] = []
        n, i = len(text), 0
        while i < n:
            if text[i].isascii() and text[i].isalnum():
                j = i
                while j < n and text[j].isascii() and text[j].isalnum():
                    j += 1
                if text[i:j] in self._ascii_words:
                    found.append((i, j, text[i:j]))
                i = j
                continue
            found += [
                (i, i + len(w), w) for w in self._by_first.get(text[i], ()) if text.startswith(w, i)
            ]
            i += 1
        # a word lying strictly inside another match is dropped
        return [
            w
            for s, e, w in found
            if not any((s2 <= s and e <= e2 and (s2, e2) != (s, e)) for s2, e2, _ in found)
        ]

    def _by_model(self, a: Analysis, model: Model, slots: dict[str, Any]) -> ParseResult:
        learned = _all_heads(model, self.features(a))
        ranked = learned["intent"]
        if a.only_question:
            ranked = [("help", 0.95), *[(i, p * 0.05) for i, p in ranked if i != "help"]]
        elif a.danger:
            ranked = [("emergency", 0.97), *[(i, p * 0.03) for i, p in ranked if i != "emergency"]]
        elif a.gibberish and not a.words:
            ranked = [("unknown", 0.9), *[(i, p * 0.1) for i, p in ranked if i != "unknown"]]
        intent, p1 = ranked[0]
        p2 = ranked[1][1]
        confident = (p1 >= model.min_prob and p1 - p2 >= model.min_margin) or (
            intent == a.rule_winner and p1 >= model.agree_prob
        )
        if p2 < _MIN_SECOND or intent == "help":
            confident = True
        category, candidates, clarify, cat_p = self._category(a, dict(learned.get("category", ())))
        place, place_p = self._place(a, dict(learned.get("place", ())))
        alternatives: list[dict[str, Any]] = []
        for name, p in ranked[:3]:
            if p < 0.05 and alternatives:
                break
            alt: dict[str, Any] = {"intent": name, "score": round(p, 3)}
            if name == "find_craftsman":
                alt["category"] = category
            elif name == "find_place":
                alt["place"] = place
            alternatives.append(alt)
        confidence = p1
        if intent == "find_craftsman":
            confidence *= cat_p
            if clarify:
                confidence *= 0.8
        elif intent == "find_place":
            confidence *= place_p
        return ParseResult(
            text=a.text,
            normalized=a.normalized,
            intent=intent,
            category=category if intent == "find_craftsman" else None,
            place=place if intent == "find_place" else None,
            confidence=round(max(0.0, min(1.0, confidence)), 3),
            candidates=candidates if intent == "find_craftsman" else [],
            clarify=clarify if intent == "find_craftsman" else [],
            slots=slots,
            repairs=a.repairs,
            matched=a.words,
            confident=confident,
            alternatives=alternatives,
            model=model.version,
        )


def _texts() -> list[str]:
    base: list[str] = []
    for path in sorted((ROOT / "tests" / "data").glob("*.jsonl")):
        base += [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines() if line]
    rng = random.Random(18)
    noisy = []
    swaps = {"钥匙": "要是", "锁": "所", "缝": "逢", "箱": "相", "龙": "笼", "修": "休", "鞋": "协"}
    for text in rng.sample(base, 200):
        for right, wrong in swaps.items():
            text = text.replace(right, wrong)
        k = rng.randrange(len(text) + 1)
        text = (
            text[:k]
            + rng.choice(["", " ok ", "😀", "3号楼", "？", " cai feng ", "xiuxie"])
            + text[k:]
        )
        noisy.append(text + rng.choice(["", "吗", "！！", "呀", "，谢谢"]))
    noisy += ["", "？", "hi", "qwerty", "找裁缝" * 30, "配要是", "冰相不制冷了", "ＫＡＩ　ＳＵＯ"]
    return list(dict.fromkeys(base + noisy))


def _same(a: ParseResult, b: ParseResult) -> bool:
    return a.to_dict() == b.to_dict() and repr([getattr(a, f.name) for f in fields(a)]) == repr(
        [getattr(b, f.name) for f in fields(b)]
    )


@pytest.fixture(scope="module")
def parsers() -> tuple[Parser, Parser]:
    lexicon, model, danger = load_lexicon(), model_or_none(), danger_detector()
    return Parser(lexicon, model, danger), Reference(lexicon, model, danger)


@pytest.mark.parametrize("with_model", [True, False])
def test_the_fast_parser_answers_as_the_plain_one(
    parsers: tuple[Parser, Parser], with_model: bool
) -> None:
    fast, plain = parsers
    if not with_model:  # the lexicon's rules alone
        fast = Parser(fast.lexicon, None, fast._danger)
        plain = Reference(plain.lexicon, None, plain._danger)
    texts = _texts()
    assert len(texts) > 600
    differ = [
        t
        for t in texts
        for _ in range(2)  # the second time from what the first remembered
        if not _same(
            fast.parse(t, today=TODAY, cache=False), plain.parse(t, today=TODAY, cache=False)
        )
    ]
    assert differ == []


def test_the_remembered_search_is_emptied_and_refilled(parsers: tuple[Parser, Parser]) -> None:
    fast, plain = parsers
    texts = _texts()[:100]
    fast.parse("找裁缝", cache=False)
    fast._sound_remembered = 10**9  # as if full: the next repair starts afresh
    for t in texts:
        assert _same(
            fast.parse(t, today=TODAY, cache=False), plain.parse(t, today=TODAY, cache=False)
        )
    assert 0 < fast._sound_remembered < 10**9


def test_slot_shortcuts_find_what_the_patterns_find() -> None:
    # each pattern is searched only when a character it needs is there: those are the texts
    # that name a date, a count, an address
    for text, key, value in [
        ("下周三送饭", "date", "2025-01-22"),
        ("这周五吃什么", "date", "2025-01-17"),
        ("12月3号的菜单", "date", "2025-12-03"),
        ("5号送两份", "date", "2025-02-05"),
        ("两份午饭", "count", 2),
        ("3号楼2单元301", "address", "3号楼2单元301"),
        ("送到502室", "address", "502室"),
        ("周末送饭", "dates", ["2025-01-18", "2025-01-19"]),
        ("下周的菜单", "dates", [f"2025-01-{d}" for d in range(20, 27)]),
        ("这周的菜单", "dates", [f"2025-01-{d}" for d in range(15, 20)]),
        ("中午吃面条", "meal", "lunch"),
        ("晚饭", "meal", "dinner"),
    ]:
        assert extract_slots(text, TODAY).get(key) == value, text
