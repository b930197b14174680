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
_STATES_MAX = 1 << 15
_NO_WORDS: frozenset[str] = frozenset()
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


class _Sound:
    """Where a span stands in the sound trie: the nodes of its first 32 reading combinations,
    the words they spell, and per surface of a next unit the span one longer (() if no key
    starts so)."""

    __slots__ = ("next", "nodes", "words")

    def __init__(self, nodes: tuple[int, ...], words: frozenset[str]) -> None:
        self.nodes = nodes
        self.words = words
        self.next: dict[str, _Sound | tuple[()]] = {}


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
        # per first character the lengths of the (non-ASCII) words it starts, longest first:
        # at most one word of each length can be spelled at a place, looked up in _vocab
        self._first_lengths = {
            ch: tuple(sorted({len(w) for w in words}, reverse=True))
            for ch, words in by_first.items()
        }
        self._vocab = frozenset(w for words in by_first.values() for w in words)
        self._longest_word = max(map(len, self._vocab), default=0)
        self._sound_index: dict[tuple[str, ...], list[str]] | None = None
        # the keys of the sound index as a trie (built with it): a span whose readings start
        # no key cannot grow into a repair, so the search stops there
        self._sound_trie: list[dict[str, int]] = []
        self._sound_words: list[tuple[str, ...]] = []
        # The search's states, remembered (a small automaton over the trie, built as texts
        # need it): per unit surface its state, per state and next unit surface the next.
        # Finite (the trie and the pinyin table are), but emptied past _STATES_MAX steps.
        self._sound_starts: dict[str, _Sound | tuple[()]] = {}
        self._sound_states: dict[tuple[int, ...], _Sound] = {}
        # per span of Chinese characters and word it sounds like: _typo's verdict
        self._typos: dict[tuple[str, str], tuple[int, tuple[int, ...]] | tuple[()]] = {}
        self._sound_remembered = 0
        # the unit of a Chinese character, and of a pinyin syllable, made once (they are
        # frozen): a few thousand characters at most
        self._han_units: dict[str, _Unit] = {}
        self._py_units: dict[str, _Unit] = {}
        # the rules with their cues as sets, in the lexicon's order
        self._rules = [(frozenset(r.all), r.intent, r.score) for r in lexicon.rules]
        # ...by one cue each needs (a rule can fire only when its cue was raised): the rules of
        # a message are then found from its few cues (by number: rules fire in lexicon order)
        self._rules_by_cue: dict[str, list[int]] = {}
        self._rules_always: list[int] = []  # rules that need no cue
        for k, (needs, _, _) in enumerate(self._rules):
            if needs:
                self._rules_by_cue.setdefault(min(needs), []).append(k)
            else:
                self._rules_always.append(k)
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
            # the keys as a trie of readings: node 0 is no key's prefix (and stays so), node 1
            # the empty prefix; per node its children by reading and the words it spells
            children: list[dict[str, int]] = [{}, {}]
            spells: list[tuple[str, ...]] = [(), ()]
            for key, words in index.items():
                node = 1
                for r in key:
                    child = children[node].get(r)
                    if child is None:
                        child = children[node][r] = len(children)
                        children.append({})
                        spells.append(())
                    node = child
                spells[node] = tuple(words)
            self._sound_trie = children
            self._sound_words = spells
            self._sound_index = index
        return self._sound_index

    # -- steps ---------------------------------------------------------------------------------

    def _units(self, cleaned: str) -> list[_Unit]:
        units: list[_Unit] = []
        han_units = self._han_units
        i, n = 0, len(cleaned)
        while i < n:
            ch = cleaned[i]
            if ch == " ":
                i += 1
                continue
            if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf":  # is_cjk(ch)
                unit = han_units.get(ch)
                if unit is None:
                    unit = han_units[ch] = _Unit(ch, readings(ch), "han")
                units.append(unit)
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
                py_units = self._py_units
                for s in syllables:
                    unit = py_units.get(s)
                    if unit is None:
                        unit = py_units[s] = _Unit(s, (fuzzy(s),), "py")
                    units.append(unit)
            else:
                units.append(_Unit(token, (), "lit"))
            i = j
        return units

    def _state(self, nodes: tuple[int, ...]) -> _Sound | tuple[()]:
        """The search state of trie nodes (one per reading combination, 0: none), the same
        object for the same nodes; () if none of them starts a key."""
        if not any(nodes):
            return ()
        state = self._sound_states.get(nodes)
        if state is None:
            spells = self._sound_words
            words = frozenset(word for node in nodes for word in spells[node]) or _NO_WORDS
            state = self._sound_states[nodes] = _Sound(nodes, words)
        return state

    def _start(self, first: tuple[str, ...]) -> _Sound | tuple[()]:
        """The state of a span of one unit (of readings `first`)."""
        root = self._sound_trie[1]
        return self._state(tuple(root.get(r, 0) for r in first[:32]))

    def _grow(self, state: _Sound, last: tuple[str, ...]) -> _Sound | tuple[()]:
        """The state of a span one unit (of readings `last`) longer: the first 32 reading
        combinations extend only the span's first 32, in itertools.product's order."""
        self._sound_remembered += 1
        trie = self._sound_trie
        return self._state(tuple(trie[node].get(r, 0) for node in state.nodes for r in last)[:32])

    @staticmethod
    def _typo(span: list[_Unit], word: str) -> tuple[int, tuple[int, ...]] | tuple[()]:
        """Whether `span` may be a typo of `word` (of its length, sounding alike), as far as
        the span alone tells: () if not, else how many units it keeps and the offsets of
        those it changes."""
        kept = [u.surface for k, u in enumerate(span) if u.surface == word[k]]
        han = sum(1 for u in span if u.kind == "han")
        # two-character homophones must keep a content character: "要是" alone is a real
        # word, "配要是" is not
        if len(span) == 2 and han == 2:
            changed = [u.surface for k, u in enumerate(span) if u.surface != word[k]]
            # "不好"->"补好", "布了"->"布料": grammar words are not typos
            if any(c in _FUNCTION_CHARS for c in changed):
                return ()
            if not any(c not in _FUNCTION_CHARS for c in kept):
                return ()
            # ...and sound exactly alike: accent merges (l/n, zh/z) on two characters turn
            # ordinary words into lexicon words
            if any(
                u.surface != word[k] and not (exact_readings(u.surface) & exact_readings(word[k]))
                for k, u in enumerate(span)
            ):
                return ()
        return len(kept), tuple(k for k, u in enumerate(span) if u.surface != word[k])

    def _spelled_near(self, hans: str, i: int, length: int, changed: tuple[int, ...]) -> bool:
        """Whether a lexicon word spelled in the text (`hans`: one character per unit, NUL for
        a unit that is not a Chinese character) rules out rewriting units i..i+length: a word
        at least that long overlapping them is no typo ("a real word spelled correctly here"),
        and the characters of a word that is not only a "neutral" guard must not be
        "repaired" away (`changed`: the offsets of the units the rewrite changes). Only the
        words that can reach the span are looked at (the longest is _longest_word)."""
        vocab, first_lengths, neutral = self._vocab, self._first_lengths, self._neutral
        n = len(hans)
        for s in range(max(0, i - self._longest_word + 1), i + length):
            for size in first_lengths.get(hans[s], ()):  # longest first
                e = s + size
                if e <= i:  # ends before the span, and so do the shorter ones
                    break
                if e > n:
                    continue
                word = hans[s:e]
                if word not in vocab:
                    continue
                if size >= length:
                    return True
                if not neutral[word] and any(s <= i + k < e for k in changed):
                    return True
        return False

    def _repair(self, units: list[_Unit]) -> tuple[str, list[tuple[str, str]]]:
        """Rewrite homophone typos and pinyin into lexicon words; return text and repairs."""
        n = len(units)
        need = any(u.kind == "py" for u in units) or sum(u.kind == "han" for u in units) >= 2
        cands: list[tuple[int, int, int, str]] = []  # (-len, -same_chars, start, word)
        if need:
            self._sounds()
            if self._sound_remembered > _STATES_MAX:
                self._sound_starts.clear()
                self._sound_states.clear()
                self._typos.clear()
                self._sound_remembered = 0
            starts, typos = self._sound_starts, self._typos
            surfaces = [u.surface for u in units]
            # one character per unit, NUL for a unit that is not a Chinese character
            hans = "".join([u.surface if u.kind == "han" else "\0" for u in units])
            for i in range(n):
                # The state of the span: the trie nodes of its first 32 reading combinations
                # (in itertools.product's order; 0: no key starts so) and the words they sound
                # like. A unit's surface gives its readings (Chinese characters and pinyin
                # syllables never share one; other units have none).
                u = units[i]
                if not u.readings:
                    continue
                state = starts.get(u.surface)
                if state is None:
                    self._sound_remembered += 1
                    state = starts[u.surface] = self._start(u.readings)
                if not state:  # no key starts with a reading of this unit
                    continue
                for L in range(2, min(_MAX_REPAIR_LEN, n - i) + 1):
                    v = units[i + L - 1]
                    if not v.readings:  # the units before it have readings
                        break
                    grown = state.next.get(v.surface)
                    if grown is None:
                        grown = state.next[v.surface] = self._grow(state, v.readings)
                    # no key starts so: neither this span nor a longer one sounds like a word
                    # (a longer span's first 32 keys start with some of these)
                    if not grown:
                        break
                    state = grown
                    found = state.words
                    if not found:
                        continue
                    surface = hans[i : i + L]
                    # the verdicts on spans of Chinese characters alone are remembered
                    plain = "\0" not in surface
                    if not plain:
                        surface = "".join(surfaces[i : i + L])
                    for word in found:
                        if word == surface:
                            continue
                        if plain:
                            verdict = typos.get((surface, word))
                            if verdict is None:
                                self._sound_remembered += 1
                                verdict = typos[surface, word] = self._typo(units[i : i + L], word)
                        else:
                            verdict = self._typo(units[i : i + L], word)
                        if not verdict:
                            continue
                        same, changed = verdict
                        if self._spelled_near(hans, i, L, changed):
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

    def _match(self, text: str) -> list[str]:
        """The lexicon words of `text`, in order; where words overlap, the longest reading
        wins: a word lying strictly inside a longer match is dropped."""
        kept: list[str] = []
        ascii_words, vocab, first_lengths = self._ascii_words, self._vocab, self._first_lengths
        n = len(text)
        # Of the words at one start only the longest can be kept, and it is kept when it ends
        # beyond every word that starts earlier (comparing every pair was quadratic: "找裁缝"
        # x1300 took 1.6 s).
        reach = -1
        i = 0
        while i < n:
            ch = text[i]
            if ch.isascii() and ch.isalnum():
                j = i
                while j < n and text[j].isascii() and text[j].isalnum():
                    j += 1
                token = text[i:j]
                if token in ascii_words:
                    if j > reach:
                        kept.append(token)
                        reach = j
                i = j
                continue
            for length in first_lengths.get(ch, ()):
                end = i + length
                if end <= n and text[i:end] in vocab:
                    if end > reach:
                        kept.append(text[i:end])
                        reach = end
                    break
            i += 1
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
        words = self._match(repaired)

        cat_scores: dict[str, float] = {}
        place_scores: dict[str, float] = {}
        cues: set[str] = set()
        for word in words:
            for e in lex.words[word]:
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
        by_cue = self._rules_by_cue
        maybe = [k for cue in cues for k in by_cue.get(cue, ())]
        if self._rules_always:
            maybe += self._rules_always
        rules = self._rules
        for k in sorted(maybe):
            needs, intent, score = rules[k]
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
            words=words,
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
        ranked = model.heads["intent"].probabilities(feats)
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
        shown: list[tuple[str, float]] = []  # the readings offered, best first
        for name, p in ranked[:3]:
            if p < 0.05 and shown:
                break
            shown.append((name, p))
        names = {name for name, _ in shown}
        # The category and place heads are asked only when their reading is shown (most
        # messages are neither a craftsman search nor a place search), and when the lexicon
        # did not name exactly one: one lexicon category (place) is the answer whatever the
        # model adds to it (see _category and _place).
        category: str | None = None
        candidates: list[tuple[str, float]] = []
        clarify: list[str] = []
        cat_p = place_p = 1.0
        if "find_craftsman" in names:
            head = model.heads.get("category") if len(a.cat_scores) != 1 else None
            category, candidates, clarify, cat_p = self._category(
                a, dict(head.probabilities(feats)) if head is not None else {}
            )
        place: str | None = None
        if "find_place" in names:
            head = model.heads.get("place") if len(a.place_scores) != 1 else None
            place, place_p = self._place(
                a, dict(head.probabilities(feats)) if head is not None else {}
            )
        alternatives: list[dict[str, Any]] = []
        for name, p in shown:
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
        word matched; (category, candidates, clarify, certainty). With one lexicon category
        `learned` changes nothing: that category, a candidate at 1.0 (x / x), no clarify."""
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
        """The place kind: the lexicon's first (`learned` breaking ties: with one lexicon place
        it changes nothing), else the model's if it is sure enough; (place, certainty)."""
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
