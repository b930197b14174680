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
import functools
import json
import math
import sys
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    # per character its 1-, 2- and 3-gram from there, in that order (the last two characters
    # start no 3-gram, the last no 2-gram)
    push = out.append
    for i in range(n - 2):
        gram = "c:" + padded[i]
        push(gram)
        gram += padded[i + 1]
        push(gram)
        push(gram + padded[i + 2])
    out += ("c:" + padded[n - 2], "c:" + padded[n - 2 :], "c:" + padded[n - 1])
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
        then a dictionary lookup per feature and a sum per label."""
        k, flat = len(self.labels), self.flat
        return {f: tuple(flat[o : o + k]) for f, o in self.offsets.items()}

    def scores(self, feats: Iterable[str]) -> list[float]:
        """Per label the sum of its weights over `feats` (a feature twice counts twice), added
        left to right in the features' order: the same floats as adding the rows one by one."""
        present = list(filter(None, map(self.rows.get, feats)))  # rows are never empty
        if not present:
            return [0.0] * len(self.labels)
        # one column per label, summed in C
        return list(map(_sum_in_order, zip(*present, strict=True)))

    def probabilities(self, feats: Iterable[str]) -> list[tuple[str, float]]:
        """(label, probability), most likely first; ties keep label order (deterministic)."""
        return _ranked(self.labels, self.scores(feats))


def _plain_sum(column: Iterable[float]) -> float:
    return functools.reduce(add, column)


# Before Python 3.12 the built-in sum() adds floats left to right, one C addition each: the
# same floats as reduce(add, ...), without a float object per step. From 3.12 on it compensates
# the rounding (more exact, but not the same floats), so there reduce adds them one by one. The
# test tells the two apart: left to right, 1e16 + 1.0 rounds back to 1e16.
_sum_in_order: Callable[[Iterable[float]], float] = (
    sum if sum([1e16, 1.0, -1e16]) == 0.0 else _plain_sum
)


def _ranked(labels: Sequence[str], scores: Sequence[float]) -> list[tuple[str, float]]:
    """Softmax of `scores`: (label, probability), most likely first, ties in label order."""
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    negated = [-s for s in scores]
    ranked = sorted(range(len(labels)), key=negated.__getitem__)
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

    def head(self, name: str) -> Head | None:
        return self.heads.get(name)

    def probabilities_all(self, feats: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
        """Every head's `Head.probabilities` of `feats`, by head name."""
        return {name: h.probabilities(feats) for name, h in self.heads.items()}


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
