"""The learned half of the NLU: a linear model over what the lexicon saw and the text itself.

Features of one message (see :func:`features`): character 1-3-grams of the repaired text, the
lexicon words that matched, the cues they raised, which lexicon rules fired and which won.
Three softmax (multinomial logistic regression) heads share them: the intent, the craft
category and the place kind. Training (``bot/nlu/train.py``, numpy) writes ``model.json``;
serving reads it here in plain Python (a dictionary lookup and a few additions per feature),
so importing the NLU does not import numpy.

The file is JSON: ``version`` (a hash of the weights, so every process can tell which model it
runs), per head its labels, its feature names and their weight rows (float32, little-endian,
base64: loading takes milliseconds, not the 0.4 s a JSON list of floats took), the thresholds
below which the bot asks instead of guessing, and the cross-validation figures it was adopted on.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import add
from pathlib import Path
from typing import Any

DEFAULT_MODEL_PATH = Path(__file__).with_name("model.json")

# Heads and the labels each predicts (the order of the weight rows).
HEADS = ("intent", "category", "place")


class ModelError(ValueError):
    """The model file is missing a part or does not fit the label set."""


def features(
    repaired: str,
    words: Iterable[str],
    cues: Iterable[str],
    rule_scores: Mapping[str, float],
    rule_winner: str | None,
    *,
    gibberish: bool = False,
) -> list[str]:
    """The feature names of one analysed message (binary features: present or not)."""
    out = ["bias"]
    t = repaired.replace(" ", "")
    padded = f"^{t}$"
    n = len(padded)
    for i in range(n):
        out.append("c:" + padded[i])
        if i + 2 <= n:
            out.append("c:" + padded[i : i + 2])
        if i + 3 <= n:
            out.append("c:" + padded[i : i + 3])
    out.extend("w:" + w for w in words)
    out.extend("q:" + c for c in sorted(cues))  # sorted: a set's order varies run to run
    for intent, score in rule_scores.items():
        out.append("r:" + intent)
        if score >= 6.0:
            out.append("r+:" + intent)
    out.append("R:" + (rule_winner or "none"))
    out.append(f"len:{min(len(t), 24) // 4}")
    if gibberish:
        out.append("gibberish")
    return out


@dataclass(frozen=True)
class Head:
    """One softmax classifier: labels, and per feature the offset of its weight row (one float
    per label) in one flat float32 array."""

    labels: tuple[str, ...]
    offsets: Mapping[str, int]
    flat: array[float]

    @cached_property
    def rows(self) -> dict[str, tuple[float, ...]]:
        """Per feature its weight row as a tuple of floats (built on first use): scoring is
        then a dictionary lookup and one vector addition per feature."""
        k, flat = len(self.labels), self.flat
        return {f: tuple(flat[o : o + k]) for f, o in self.offsets.items()}

    def probabilities(self, feats: Sequence[str]) -> list[tuple[str, float]]:
        """(label, probability), most likely first; ties keep label order (deterministic)."""
        k = len(self.labels)
        get = self.rows.get
        scores: list[float] | None = None
        # rows added in the features' order, as a left-to-right sum per label: the same floats
        # as summing each label's column
        for f in feats:
            row = get(f)
            if row is not None:
                scores = list(row) if scores is None else list(map(add, scores, row))
        return _ranked(self.labels, scores if scores is not None else [0.0] * k)


def _ranked(labels: Sequence[str], scores: Sequence[float]) -> list[tuple[str, float]]:
    """Softmax of `scores`: (label, probability), most likely first, ties in label order."""
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    ranked = sorted(range(len(labels)), key=lambda i: -scores[i])
    return [(labels[i], exps[i] / total) for i in ranked]


@dataclass(frozen=True)
class Model:
    version: str
    heads: Mapping[str, Head]
    # ask instead of acting when the top intent is below min_prob or within min_margin
    min_prob: float = 0.55
    min_margin: float = 0.2
    # ...unless the lexicon's rules reached the same verdict and it is at least this likely
    agree_prob: float = 0.5
    info: Mapping[str, Any] = field(default_factory=dict)
    # every head's row of a feature side by side (0.0 where a head lacks the feature): one
    # lookup and one addition per feature scores all heads (adding 0.0 changes no sum)
    fused: Mapping[str, tuple[float, ...]] = field(init=False, repr=False, compare=False)
    spans: tuple[tuple[str, int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spans, width = [], 0
        for name, h in self.heads.items():
            spans.append((name, width, width + len(h.labels)))
            width += len(h.labels)
        zero = [0.0] * width
        rows: dict[str, list[float]] = {}
        for (_, start, end), h in zip(spans, self.heads.values(), strict=True):
            k, flat = end - start, h.flat
            for f, o in h.offsets.items():
                row = rows.get(f)
                if row is None:
                    row = rows[f] = zero.copy()
                row[start:end] = flat[o : o + k]
        object.__setattr__(self, "fused", {f: tuple(r) for f, r in rows.items()})
        object.__setattr__(self, "spans", tuple(spans))

    def head(self, name: str) -> Head | None:
        return self.heads.get(name)

    def probabilities_all(self, feats: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
        """Every head's `Head.probabilities` of `feats`, by head name, in one pass."""
        get = self.fused.get
        scores: list[float] | None = None
        for f in feats:
            row = get(f)
            if row is not None:
                scores = list(row) if scores is None else list(map(add, scores, row))
        out: dict[str, list[tuple[str, float]]] = {}
        for name, start, end in self.spans:
            part = scores[start:end] if scores is not None else [0.0] * (end - start)
            out[name] = _ranked(self.heads[name].labels, part)
        return out


def model_from_dict(data: Mapping[str, Any], source: str = "<data>") -> Model:
    from .labels import CATEGORIES, INTENTS, PLACES

    known = {"intent": INTENTS, "category": CATEGORIES, "place": PLACES}
    try:
        heads: dict[str, Head] = {}
        for name, body in data["heads"].items():
            if name not in known:
                raise ModelError(f"model {source}: unknown head {name!r}")
            labels = tuple(body["labels"])
            unknown = set(labels) - set(known[name])
            if unknown:
                raise ModelError(f"model {source}: head {name} has unknown labels {unknown}")
            names = body["features"]
            flat = unpack_weights(body["weights"])
            if len(flat) != len(names) * len(labels):
                raise ModelError(f"model {source}: head {name}: weights do not fit its features")
            k = len(labels)
            heads[name] = Head(labels, {f: i * k for i, f in enumerate(names)}, flat)
        if "intent" not in heads:
            raise ModelError(f"model {source}: no intent head")
        th = data.get("thresholds", {})
        return Model(
            version=str(data["version"]),
            heads=heads,
            min_prob=float(th.get("min_prob", 0.55)),
            min_margin=float(th.get("min_margin", 0.2)),
            agree_prob=float(th.get("agree_prob", 0.5)),
            info={k: v for k, v in data.items() if k not in ("heads", "thresholds")},
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"model {source}: malformed ({exc!r})") from exc


def pack_weights(values: Iterable[float]) -> str:
    a = array("f", values)
    if sys.byteorder != "little":
        a.byteswap()
    return base64.b64encode(a.tobytes()).decode("ascii")


def unpack_weights(text: str) -> array[float]:
    a = array("f")
    a.frombytes(base64.b64decode(text))
    if sys.byteorder != "little":
        a.byteswap()
    return a


def load_model(path: str | Path | None = None) -> Model:
    p = Path(path) if path is not None else DEFAULT_MODEL_PATH
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"model {p}: cannot read ({exc})") from exc
    return model_from_dict(data, source=str(p))
