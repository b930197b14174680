"""Load and validate the lexicon data file (``lexicon.toml``).

The file is edited by community staff, so every mistake is reported with the entry that
caused it instead of surfacing later as a wrong parse.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .labels import CATEGORIES, INTENTS, PLACES
from .text import normalize_word

DEFAULT_PATH = Path(__file__).with_name("lexicon.toml")

_TOP_LEVEL = {
    "version",
    "settings",
    "weights",
    "categories",
    "shared",
    "places",
    "dialect",
    "cues",
    "rules",
}
# Implied cue: present whenever any craft-category word matched.
CRAFT_CUE = "craft"
# Implied cue: present whenever any place-kind word matched.
PLACE_CUE = "place"
_SETTINGS_DEFAULTS = {"clarify_ratio": 0.85, "repair_bonus": 1.0, "min_score": 1.8}


class LexiconError(ValueError):
    """The lexicon file is malformed; the message names the offending entry."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One meaning of a word: a craft category with a weight, or an intent cue."""

    kind: str  # "category" | "place" | "cue"
    name: str
    weight: float = 0.0
    where: str = ""  # e.g. "categories.tailor.trade", for error messages and debugging


@dataclass(frozen=True, slots=True)
class Rule:
    intent: str
    all: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class Lexicon:
    words: Mapping[str, tuple[Entry, ...]]
    rules: tuple[Rule, ...]
    labels: Mapping[str, str]
    clarify_ratio: float
    repair_bonus: float
    min_score: float
    source: str = ""
    cue_names: frozenset[str] = field(default_factory=frozenset)
    place_labels: Mapping[str, str] = field(default_factory=dict)
    # dialect / voice-recognition spelling -> the plain word, applied before matching
    dialect: Mapping[str, str] = field(default_factory=dict)


def _err(where: str, msg: str) -> LexiconError:
    return LexiconError(f"lexicon: {where}: {msg}")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err(where, f"expected a number, got {type(value).__name__} {value!r}")
    return float(value)


def _word_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise _err(where, f"expected a list of words, got {type(value).__name__}")
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(value):
        if not isinstance(raw, str):
            raise _err(f"{where}[{i}]", f"expected a string, got {type(raw).__name__} {raw!r}")
        word = normalize_word(raw)
        if not word:
            raise _err(f"{where}[{i}]", "empty word")
        if word in seen:
            raise _err(where, f"duplicate word {raw!r}")
        seen.add(word)
        out.append(word)
    return out


def parse_lexicon(data: Mapping[str, Any], source: str = "<data>") -> Lexicon:
    """Validate already-decoded TOML data and build a :class:`Lexicon`."""
    unknown_keys = set(data) - _TOP_LEVEL
    if unknown_keys:
        raise _err(source, f"unknown top-level key(s) {sorted(unknown_keys)}")

    settings = dict(_SETTINGS_DEFAULTS)
    raw_settings = data.get("settings", {})
    if not isinstance(raw_settings, dict):
        raise _err("settings", "expected a table")
    for key, value in raw_settings.items():
        if key not in _SETTINGS_DEFAULTS:
            raise _err(f"settings.{key}", "unknown setting")
        settings[key] = _number(value, f"settings.{key}")

    raw_weights = data.get("weights")
    if not isinstance(raw_weights, dict) or not raw_weights:
        raise _err("weights", "expected a table of tier = weight")
    weights = {tier: _number(w, f"weights.{tier}") for tier, w in raw_weights.items()}
    for tier, w in weights.items():
        if w <= 0:
            raise _err(f"weights.{tier}", "weight must be positive")

    words: dict[str, list[Entry]] = {}
    category_owner: dict[str, str] = {}  # word -> where, to report conflicts

    def add(word: str, entry: Entry) -> None:
        words.setdefault(word, []).append(entry)

    raw_cats = data.get("categories")
    if not isinstance(raw_cats, dict) or not raw_cats:
        raise _err("categories", "expected a table of categories")
    labels: dict[str, str] = {}
    for cat, body in raw_cats.items():
        where = f"categories.{cat}"
        if cat not in CATEGORIES:
            raise _err(where, f"unknown category {cat!r} (known: {', '.join(CATEGORIES)})")
        if not isinstance(body, dict):
            raise _err(where, "expected a table")
        for key, value in body.items():
            if key == "label":
                if not isinstance(value, str) or not value.strip():
                    raise _err(f"{where}.label", "expected a non-empty string")
                labels[cat] = value.strip()
                continue
            if key not in weights:
                raise _err(f"{where}.{key}", f"unknown tier {key!r} (tiers: {', '.join(weights)})")
            for word in _word_list(value, f"{where}.{key}"):
                if word in category_owner:
                    raise _err(
                        f"{where}.{key}",
                        f"word {word!r} is already in {category_owner[word]}; a word may belong to"
                        " one category only (use [shared] for words that mean several trades)",
                    )
                category_owner[word] = f"{where}.{key}"
                add(word, Entry("category", cat, weights[key], f"{where}.{key}"))
        labels.setdefault(cat, cat)

    raw_shared = data.get("shared", {})
    if not isinstance(raw_shared, dict):
        raise _err("shared", "expected a table of word = [categories]")
    if raw_shared and "shared" not in weights:
        raise _err("weights", "missing weight 'shared' used by the [shared] table")
    for raw_word, cats in raw_shared.items():
        where = f"shared.{raw_word}"
        word = normalize_word(raw_word)
        if not word:
            raise _err(where, "empty word")
        if word in category_owner:
            raise _err(where, f"word {word!r} is also in {category_owner[word]}")
        if not isinstance(cats, list) or len(cats) < 2:
            raise _err(where, "expected a list of at least two categories")
        if len(set(cats)) != len(cats):
            raise _err(where, "category listed twice")
        for cat in cats:
            if cat not in CATEGORIES:
                raise _err(where, f"unknown category {cat!r}")
            add(word, Entry("category", cat, weights["shared"], where))
        category_owner[word] = where

    raw_places = data.get("places", {})
    if not isinstance(raw_places, dict):
        raise _err("places", "expected a table of place kinds")
    place_labels: dict[str, str] = {}
    place_owner: dict[str, str] = {}
    for kind, body in raw_places.items():
        where = f"places.{kind}"
        if kind not in PLACES:
            raise _err(where, f"unknown place kind {kind!r} (known: {', '.join(PLACES)})")
        if not isinstance(body, dict) or not set(body) <= {"label", "words"} or "words" not in body:
            raise _err(where, "expected a table with words (and an optional label)")
        label = body.get("label", kind)
        if not isinstance(label, str) or not label.strip():
            raise _err(f"{where}.label", "expected a non-empty string")
        place_labels[kind] = label.strip()
        for word in _word_list(body["words"], f"{where}.words"):
            if word in place_owner:
                raise _err(f"{where}.words", f"word {word!r} is already in {place_owner[word]}")
            place_owner[word] = where
            add(word, Entry("place", kind, 1.0, where))

    raw_dialect = data.get("dialect", {})
    if not isinstance(raw_dialect, dict):
        raise _err("dialect", "expected a table of word = plain word")
    dialect: dict[str, str] = {}
    for raw_word, plain in raw_dialect.items():
        where = f"dialect.{raw_word}"
        word = normalize_word(raw_word)
        if not word:
            raise _err(where, "empty word")
        if not isinstance(plain, str):
            raise _err(where, f"expected a string, got {type(plain).__name__}")
        dialect[word] = normalize_word(plain)

    raw_cues = data.get("cues", {})
    if not isinstance(raw_cues, dict):
        raise _err("cues", "expected a table of cues")
    cue_names: set[str] = set()
    for cue, body in raw_cues.items():
        where = f"cues.{cue}"
        if cue in (CRAFT_CUE, PLACE_CUE):
            raise _err(where, f"{cue!r} is reserved (it is implied by any category or place word)")
        if not isinstance(body, dict) or set(body) != {"words"}:
            raise _err(where, "expected a table with exactly one key: words")
        cue_names.add(cue)
        for word in _word_list(body["words"], f"{where}.words"):
            add(word, Entry("cue", cue, 0.0, where))

    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise _err("rules", "expected an array of [[rules]] tables")
    rules: list[Rule] = []
    for i, body in enumerate(raw_rules):
        where = f"rules[{i}]"
        if not isinstance(body, dict) or set(body) != {"intent", "all", "score"}:
            raise _err(where, "expected keys intent, all, score")
        intent = body["intent"]
        if intent not in INTENTS or intent == "find_craftsman":
            raise _err(
                where, f"unknown intent {intent!r} (find_craftsman is scored from categories)"
            )
        needs = body["all"]
        if not isinstance(needs, list) or not needs or not all(isinstance(c, str) for c in needs):
            raise _err(where, "'all' must be a non-empty list of cue names")
        for cue in needs:
            if cue not in cue_names and cue not in (CRAFT_CUE, PLACE_CUE):
                raise _err(where, f"unknown cue {cue!r}")
        rules.append(Rule(intent, tuple(needs), _number(body["score"], f"{where}.score")))

    return Lexicon(
        words={w: tuple(es) for w, es in words.items()},
        rules=tuple(rules),
        labels=labels,
        clarify_ratio=settings["clarify_ratio"],
        repair_bonus=settings["repair_bonus"],
        min_score=settings["min_score"],
        source=source,
        cue_names=frozenset(cue_names),
        place_labels=place_labels,
        dialect=dialect,
    )


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Read and validate a lexicon TOML file (default: the one shipped beside this module)."""
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"lexicon: {p}: not valid TOML: {exc}") from exc
    return parse_lexicon(data, source=str(p))
