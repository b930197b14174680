"""Intent and craft-category parser.

Pipeline: clean -> split into units (CJK characters, pinyin syllables, other tokens) ->
repair homophones / pinyin against the lexicon vocabulary -> match lexicon words (longest
wins) -> score categories and intent rules -> slots.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .lexicon import CRAFT_CUE, PLACE_CUE, Lexicon
from .model import Model, features
from .slots import extract_slots
from .text import (
    clean,
    exact_readings,
    fuzzy,
    is_cjk,
    readings,
    segment_pinyin,
    strip_particles,
)

_TZ = ZoneInfo("Asia/Shanghai")
_MAX_REPAIR_LEN = 5
_QUESTION_MARKS = frozenset("?？¿")
# A shared character this common is no evidence that a two-character span is a typo.
_FUNCTION_CHARS = frozenset("了的一个是不有在我你他她它这那吗呢吧啊呀么得地着过还也都就要会能")


PARSE_CACHE_SIZE = 8192
_CACHED_TEXT_MAX = 64
# A request is a sentence or two. Of a longer text (a pasted menu, a 接龙 chain: their own
# parsers read it whole) the NLU reads only the start, so its work per message is bounded.
NLU_MAX_CHARS = 300
# The safety detector's verdict, as a cue the rules and the model see.
DANGER_CUE = "danger"
# How much the learned category/place model adds to the lexicon's share (0..1) of a label,
# and how sure it must be to name one when no lexicon word matched at all.
_MODEL_SHARE = 0.5
_MODEL_ALONE = 0.5
# The learned model reads at most this many characters (and lexicon words) of a message.
_MODEL_TEXT_MAX = 200
# A second reading less likely than this is not offered: the bot acts on the first.
_MIN_SECOND = 0.12


@dataclass(frozen=True)
class ParseResult:
    text: str
    normalized: str
    intent: str
    category: str | None
    confidence: float
    place: str | None = None
    candidates: list[tuple[str, float]] = field(default_factory=list)
    clarify: list[str] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    repairs: list[tuple[str, str]] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    # False: the top two readings are close or the best is weak; the bot should ask which
    # of `alternatives` (best first: intent, score, and category / place) is meant
    confident: bool = True
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None  # version of the learned model that decided (None: lexicon only)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "normalized": self.normalized,
            "intent": self.intent,
            "category": self.category,
            "place": self.place,
            "confidence": self.confidence,
            "candidates": [[c, s] for c, s in self.candidates],
            "clarify": list(self.clarify),
            "slots": dict(self.slots),
            "repairs": [[a, b] for a, b in self.repairs],
            "matched": list(self.matched),
            "confident": self.confident,
            "alternatives": [dict(a) for a in self.alternatives],
            "model": self.model,
        }


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the lexicon found in one message (the learned model's input)."""

    text: str
    repaired: str
    normalized: str
    repairs: list[tuple[str, str]]
    words: list[str]
    cues: frozenset[str]
    cat_scores: dict[str, float]
    place_scores: dict[str, float]
    rule_scores: dict[str, float]  # intent -> best rule score, highest first
    rule_winner: str | None  # the lexicon's own verdict (None: below min_score)
    only_question: bool
    gibberish: bool
    danger: bool  # the safety detector recognised danger now


@dataclass(frozen=True, slots=True)
class _Unit:
    surface: str
    readings: tuple[str, ...]
    kind: str  # "han" | "py" (pinyin syllable) | "lit" (digits, English, gibberish)


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int
    word: str


class Parser:
    """A parser bound to one lexicon; build once, call :meth:`parse` many times."""

    def __init__(
        self,
        lexicon: Lexicon,
        model: Model | None = None,
        danger: Callable[[str], bool] | None = None,
    ) -> None:
        """`model`: the learned intent/category/place model (None: the lexicon's rules decide);
        `danger`: the safety detector (text -> someone in danger now), evidence for emergency."""
        self.lexicon = lexicon
        self.model = model
        self._danger = danger
        by_first: dict[str, list[str]] = {}
        ascii_words: set[str] = set()
        for word in lexicon.words:
            if word.isascii():
                ascii_words.add(word)
            else:
                by_first.setdefault(word[0], []).append(word)
        for words in by_first.values():
            words.sort(key=len, reverse=True)
        self._by_first = by_first
        self._ascii_words = frozenset(ascii_words)
        self._sound_index: dict[tuple[str, ...], list[str]] | None = None
        # every prefix (two readings or more) of a key of the sound index: a span whose
        # readings start no key cannot grow into a repair, so the search stops there
        self._sound_prefixes: frozenset[tuple[str, ...]] = frozenset()
        # the rules with their cues as sets, in the lexicon's order
        self._rules = [(frozenset(r.all), r.intent, r.score) for r in lexicon.rules]
        # per lexicon word: is it only a "neutral" guard
        self._neutral = {
            w: all(e.kind == "cue" and e.name == "neutral" for e in entries)
            for w, entries in lexicon.words.items()
        }
        # dialect and voice-recognition spellings, longest first, rewritten before matching
        self._dialect = (
            re.compile(
                "|".join(re.escape(w) for w in sorted(lexicon.dialect, key=len, reverse=True))
            )
            if lexicon.dialect
            else None
        )
        # Residents send the same few phrases over and over ("找裁缝", "今天吃什么"): a parse is a
        # pure function of (text, today), so repeats are answered from memory. Results are
        # frozen and never modified by callers.
        self._remembered = lru_cache(maxsize=PARSE_CACHE_SIZE)(self._parse)

    # -- homophone / pinyin index (built lazily: it needs the pinyin table) -------------------

    def _sounds(self) -> dict[tuple[str, ...], list[str]]:
        if self._sound_index is None:
            index: dict[tuple[str, ...], list[str]] = {}
            for word in self.lexicon.words:
                if len(word) < 2 or len(word) > _MAX_REPAIR_LEN or not all(is_cjk(c) for c in word):
                    continue
                per_char = [readings(c) for c in word]
                if not all(per_char):
                    continue
                # polyphones: index every reading combination, capped to keep the index small
                for key in itertools.islice(itertools.product(*per_char), 16):
                    index.setdefault(key, []).append(word)
            self._sound_prefixes = frozenset(
                key[:m] for key in index for m in range(2, len(key) + 1)
            )
            self._sound_index = index
        return self._sound_index

    # -- steps ---------------------------------------------------------------------------------

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
            if j == i:  # a digit or other non-letter
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

    def _exact_spans(self, units: list[_Unit]) -> list[tuple[int, int, bool]]:
        """Spans (in units) of CJK runs already spelled like a lexicon word, and whether
        that word is only a "neutral" guard."""
        spans: list[tuple[int, int, bool]] = []
        # one character per unit, NUL for a unit that is not a Chinese character: a word is
        # spelled at i when this string has it there
        han = "".join(u.surface if u.kind == "han" else "\0" for u in units)
        neutral = self._neutral
        for i, u in enumerate(units):
            if u.kind != "han":
                continue
            for word in self._by_first.get(u.surface, ()):
                if han.startswith(word, i):
                    spans.append((i, i + len(word), neutral[word]))
        return spans

    def _repair(self, units: list[_Unit]) -> tuple[str, list[tuple[str, str]]]:
        """Rewrite homophone typos and pinyin into lexicon words; return text and repairs."""
        n = len(units)
        need = any(u.kind == "py" for u in units) or sum(u.kind == "han" for u in units) >= 2
        cands: list[tuple[int, int, int, str]] = []  # (-len, -same_chars, start, word)
        if need:
            sounds = self._sounds()
            prefixes = self._sound_prefixes
            exact = self._exact_spans(units)
            # characters that already spell a real lexicon word must not be "repaired" away
            protected = {k for s, e, neutral in exact if not neutral for k in range(s, e)}
            # ...and are looked up by start near each span, not all of them every time (that
            # was quadratic on long texts)
            longest = max((e - s for s, e, _ in exact), default=0)
            ends_at: dict[int, list[int]] = {}
            for s, e, _ in exact:
                ends_at.setdefault(s, []).append(e)
            for i in range(n):
                if not units[i].readings:
                    continue
                for L in range(2, min(_MAX_REPAIR_LEN, n - i) + 1):
                    if not units[i + L - 1].readings:  # the units before it have readings
                        break
                    span = units[i : i + L]
                    keys = list(
                        itertools.islice(itertools.product(*(u.readings for u in span)), 32)
                    )
                    # no key starts so: neither this span nor a longer one sounds like a word
                    # (a longer span's first 32 keys start with some of these)
                    if not any(key in prefixes for key in keys):
                        break
                    surface = "".join(u.surface for u in span)
                    seen: set[str] = set()
                    for key in keys:
                        for word in sounds.get(key, ()):
                            if word in seen or word == surface:
                                continue
                            seen.add(word)
                            kept = [u.surface for k, u in enumerate(span) if u.surface == word[k]]
                            same = len(kept)
                            han = sum(1 for u in span if u.kind == "han")
                            # two-character homophones must keep a content character: "要是"
                            # alone is a real word, "配要是" is not
                            if L == 2 and han == 2:
                                changed = [
                                    u.surface for k, u in enumerate(span) if u.surface != word[k]
                                ]
                                # "不好"->"补好", "布了"->"布料": grammar words are not typos
                                if any(c in _FUNCTION_CHARS for c in changed):
                                    continue
                                if not any(c not in _FUNCTION_CHARS for c in kept):
                                    continue
                                # ...and sound exactly alike: accent merges (l/n, zh/z) on
                                # two characters turn ordinary words into lexicon words
                                if any(
                                    u.surface != word[k]
                                    and not (exact_readings(u.surface) & exact_readings(word[k]))
                                    for k, u in enumerate(span)
                                ):
                                    continue
                            # a real word spelled correctly here is not a typo
                            if any(
                                e > i and e - s >= L
                                for s in range(i - longest + 1, i + L)
                                for e in ends_at.get(s, ())
                            ):
                                continue
                            if any(
                                i + k in protected
                                for k, u in enumerate(span)
                                if u.surface != word[k]
                            ):
                                continue
                            cands.append((-L, -same, i, word))
        cands.sort()
        taken = [False] * n
        chosen: dict[int, tuple[int, str]] = {}
        for negL, _, i, word in cands:
            L = -negL
            if any(taken[i : i + L]):
                continue
            for k in range(i, i + L):
                taken[k] = True
            chosen[i] = (L, word)
        out: list[str] = []
        repairs: list[tuple[str, str]] = []
        i = 0
        while i < n:
            if i in chosen:
                L, word = chosen[i]
                src = (
                    " ".join(u.surface for u in units[i : i + L])
                    if units[i].kind == "py"
                    else "".join(u.surface for u in units[i : i + L])
                )
                repairs.append((src, word))
                out.append(word)
                i += L
                continue
            u = units[i]
            if u.kind != "han" and out and not is_cjk(out[-1][-1]):
                out.append(" ")
            out.append(u.surface)
            i += 1
        return "".join(out), repairs

    def _match(self, text: str) -> list[_Match]:
        found: list[_Match] = []
        n = len(text)
        i = 0
        while i < n:
            ch = text[i]
            if ch.isascii() and ch.isalnum():
                j = i
                while j < n and text[j].isascii() and text[j].isalnum():
                    j += 1
                token = text[i:j]
                if token in self._ascii_words:
                    found.append(_Match(i, j, token))
                i = j
                continue
            for word in self._by_first.get(ch, ()):
                if text.startswith(word, i):
                    found.append(_Match(i, i + len(word), word))
            i += 1
        # The longest reading wins: drop words lying strictly inside a longer match. `found` is
        # in order of start, longest first at each start, so one pass keeping the furthest end
        # reached by earlier starts decides it (comparing every pair was quadratic: "找裁缝"
        # x1300 took 1.6 s).
        kept: list[_Match] = []
        reach = before = start = first_end = -1
        for m in found:
            if m.start != start:
                before, start, first_end = reach, m.start, m.end
            reach = max(reach, m.end)
            if m.end > before and m.end == first_end:
                kept.append(m)
        return kept

    def _plain(self, cleaned: str, out: list[tuple[str, str]]) -> str:
        """Rewrite dialect and voice-recognition spellings (the lexicon's [dialect] table)."""
        table = self.lexicon.dialect

        def swap(m: re.Match[str]) -> str:
            out.append((m.group(0), table[m.group(0)]))
            return table[m.group(0)]

        assert self._dialect is not None
        return self._dialect.sub(swap, cleaned)

    # -- public --------------------------------------------------------------------------------

    def parse(self, text: str, *, today: dt.date | None = None, cache: bool = True) -> ParseResult:
        """Intent, category and slots of `text`; `cache=False` always parses afresh."""
        text = text[:NLU_MAX_CHARS]
        if today is None:
            today = dt.datetime.now(_TZ).date()
        if not cache or len(text) > _CACHED_TEXT_MAX:  # long texts (pasted menus) rarely repeat
            return self._parse(text, today)
        return self._remembered(text, today)

    def analyse(self, text: str) -> Analysis:
        """What the lexicon sees in `text`: repairs, matched words, cues, scores, rule verdict."""
        lex = self.lexicon
        cleaned = clean(text)
        dialect: list[tuple[str, str]] = []
        if self._dialect is not None:
            cleaned = self._plain(cleaned, dialect)
        units = self._units(cleaned)
        repaired, repairs = self._repair(units)
        repairs = dialect + repairs
        matches = self._match(repaired)

        cat_scores: dict[str, float] = {}
        place_scores: dict[str, float] = {}
        cues: set[str] = set()
        for m in matches:
            for e in lex.words[m.word]:
                if e.kind == "category":
                    cat_scores[e.name] = cat_scores.get(e.name, 0.0) + e.weight
                elif e.kind == "place":
                    place_scores[e.name] = place_scores.get(e.name, 0.0) + e.weight
                else:
                    cues.add(e.name)
        # the implied cues first, so that rules can name them
        if cat_scores:
            cues.add(CRAFT_CUE)
        if place_scores:
            cues.add(PLACE_CUE)
        danger = self._danger(text) if self._danger is not None else False
        if danger:
            cues.add(DANGER_CUE)
        rule_scores: dict[str, float] = {}
        for needs, intent, score in self._rules:
            if needs <= cues and score > rule_scores.get(intent, 0.0):
                rule_scores[intent] = score
        if "averted" in cues and not danger:  # "差点着火", "打不着火": past, or no danger
            rule_scores.pop("emergency", None)
        if danger:
            rule_scores["emergency"] = max(rule_scores.get("emergency", 0.0), 9.0)
        if cat_scores:
            rule_scores["find_craftsman"] = max(cat_scores.values()) + (
                lex.repair_bonus if "repair" in cues else 0.0
            )
        ranked = sorted(rule_scores.items(), key=lambda kv: -kv[1])
        winner = ranked[0][0] if ranked and ranked[0][1] >= lex.min_score else None
        return Analysis(
            text=text,
            repaired=repaired,
            normalized=strip_particles(repaired),
            repairs=repairs,
            words=[m.word for m in matches],
            cues=frozenset(cues),
            cat_scores=cat_scores,
            place_scores=place_scores,
            rule_scores=dict(ranked),
            rule_winner=winner,
            only_question=bool(text.strip())
            and all(c in _QUESTION_MARKS or c.isspace() for c in text),
            gibberish=any(u.kind == "lit" and u.surface.isalpha() for u in units) or not units,
            danger=danger,
        )

    def features(self, a: Analysis) -> list[str]:
        # A pasted page is judged by its start: the model's work stays bounded however long
        # the text (the lexicon still reads all of it)
        return features(
            a.repaired[:_MODEL_TEXT_MAX],
            a.words[:_MODEL_TEXT_MAX],
            a.cues,
            a.rule_scores,
            a.rule_winner,
            gibberish=a.gibberish,
        )

    def _parse(self, text: str, today: dt.date) -> ParseResult:
        a = self.analyse(text)
        slots = extract_slots(a.normalized, today)
        if self.model is None:
            return self._by_rules(a, slots)
        return self._by_model(a, self.model, slots)

    # -- deciding ------------------------------------------------------------------------------

    def _by_model(self, a: Analysis, model: Model, slots: dict[str, Any]) -> ParseResult:
        feats = self.features(a)
        learned = model.probabilities_all(feats)
        ranked = learned["intent"]
        if a.only_question:
            ranked = [("help", 0.95), *[(i, p * 0.05) for i, p in ranked if i != "help"]]
        elif a.danger:  # the safety detector has the last word on danger it recognises
            ranked = [("emergency", 0.97), *[(i, p * 0.03) for i, p in ranked if i != "emergency"]]
        elif a.gibberish and not a.words:  # keyboard mashing: nothing to guess from
            ranked = [("unknown", 0.9), *[(i, p * 0.1) for i, p in ranked if i != "unknown"]]
        intent, p1 = ranked[0]
        p2 = ranked[1][1]
        # sure: a clear winner, or the lexicon's own rules reached the same verdict
        confident = (p1 >= model.min_prob and p1 - p2 >= model.min_margin) or (
            intent == a.rule_winner and p1 >= model.agree_prob
        )
        # nothing worth asking about: no second reading, or a greeting answered with the help
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

    def _category(
        self, a: Analysis, learned: dict[str, float]
    ) -> tuple[str | None, list[tuple[str, float]], list[str], float]:
        """The craft category: the lexicon's words first, the model (`learned`: its category
        probabilities, empty without that head) breaking ties and filling in when no craft
        word matched; (category, candidates, clarify, certainty)."""
        total = sum(a.cat_scores.values())
        combined: dict[str, float] = {}
        for cat, score in a.cat_scores.items():
            combined[cat] = score / total + _MODEL_SHARE * learned.get(cat, 0.0)
        if not combined:
            if not learned:
                return None, [], [], 1.0
            best, p = max(learned.items(), key=lambda kv: kv[1])
            if p < _MODEL_ALONE:
                return None, [], [], 0.6
            return best, [(best, round(p, 3))], [], p
        ranked = sorted(combined.items(), key=lambda kv: -kv[1])
        norm = sum(s for _, s in ranked)
        candidates = [(c, round(s / norm, 3)) for c, s in ranked[:3]]
        clarify: list[str] = []
        lex_ranked = sorted(a.cat_scores.items(), key=lambda kv: -kv[1])
        if (
            len(lex_ranked) > 1
            and lex_ranked[1][1] >= self.lexicon.clarify_ratio * lex_ranked[0][1]
            and len(ranked) > 1
            and ranked[1][1] >= self.lexicon.clarify_ratio * ranked[0][1]
        ):
            clarify = [ranked[0][0], ranked[1][0]]
        return ranked[0][0], candidates, clarify, 1.0

    def _place(self, a: Analysis, learned: dict[str, float]) -> tuple[str | None, float]:
        if a.place_scores:
            best = max(
                a.place_scores,
                key=lambda k: a.place_scores[k] + _MODEL_SHARE * learned.get(k, 0.0),
            )
            return best, 1.0
        if not learned:
            return None, 1.0
        best, p = max(learned.items(), key=lambda kv: kv[1])
        return (best, p) if p >= _MODEL_ALONE else (None, 0.6)

    def _by_rules(self, a: Analysis, slots: dict[str, Any]) -> ParseResult:
        """The lexicon alone (no model file): the highest rule wins."""
        lex = self.lexicon
        ranked = list(a.rule_scores.items())
        if a.only_question:
            intent, confidence = "help", 0.9
        elif a.rule_winner is None:
            intent = "unknown"
            confidence = 0.9 if a.gibberish else (0.75 if not ranked else 0.6)
        else:
            intent, top = ranked[0]
            second = ranked[1][1] if len(ranked) > 1 else 0.0
            strength = top / (top + 2.0)
            margin = (top - second) / top
            confidence = 0.5 * strength + 0.5 * margin
            if a.repairs:
                confidence *= 0.9

        category: str | None = None
        place: str | None = None
        if intent == "find_place" and a.place_scores:
            place = max(a.place_scores.items(), key=lambda kv: kv[1])[0]
        candidates: list[tuple[str, float]] = []
        clarify: list[str] = []
        if intent == "find_craftsman":
            ranked_cats = sorted(a.cat_scores.items(), key=lambda kv: -kv[1])
            total = sum(s for _, s in ranked_cats)
            candidates = [(c, round(s / total, 3)) for c, s in ranked_cats[:3]]
            category = ranked_cats[0][0]
            if len(ranked_cats) > 1 and ranked_cats[1][1] >= lex.clarify_ratio * ranked_cats[0][1]:
                clarify = [ranked_cats[0][0], ranked_cats[1][0]]
                confidence *= 0.8
        alternatives = [{"intent": i, "score": round(s, 3)} for i, s in ranked[:2]]
        return ParseResult(
            text=a.text,
            normalized=a.normalized,
            intent=intent,
            category=category,
            place=place,
            confidence=round(max(0.0, min(1.0, confidence)), 3),
            candidates=candidates,
            clarify=clarify,
            slots=slots,
            repairs=a.repairs,
            matched=a.words,
            confident=True,
            alternatives=alternatives,
            model=None,
        )
