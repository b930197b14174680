"""Train the learned NLU model from the labelled corpus (``python main.py train-nlu``).

Corpus: every ``bot/nlu/data/*.jsonl`` line ``{"text", "intent", "category"?, "place"?}``, plus
(optional) examples staff labelled, plus a few phrases per lexicon word built from fixed frames
(so a word added to the lexicon is learned too). Held-out files under ``tests/data`` are never
read here.

Three softmax heads (intent, category, place) over the features in ``model.py``, fitted by
full-batch gradient descent with L2 (numpy; deterministic: zero start, fixed order, fixed step
count). K-fold cross-validation on the corpus gives the accuracy the model is adopted on and the
ask thresholds: the loosest that keep "confidently wrong" at or below ``TARGET_CONF_WRONG``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .labels import CATEGORIES, INTENTS, PLACES
from .lexicon import Lexicon, load_lexicon
from .model import DEFAULT_MODEL_PATH, pack_weights
from .parser import Parser

DATA_DIR = Path(__file__).with_name("data")
L2 = 1e-3
STEPS = 300
LEARNING_RATE = 0.5
FOLDS = 5
PRUNE = 0.02
TARGET_CONF_WRONG = 0.015  # half the product target: CV on our own corpus is optimistic
SYNTHETIC_PER_CATEGORY = 40
SYNTHETIC_PER_PLACE = 24


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    category: str | None = None
    place: str | None = None
    source: str = ""


def read_corpus(paths: Iterable[Path] | None = None) -> list[Example]:
    """The shipped corpus; a malformed line is reported with its file and line number."""
    out: list[Example] = []
    files = sorted(DATA_DIR.glob("*.jsonl")) if paths is None else list(paths)
    for path in files:
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                out.append(example_from_row(row, f"{path.name}:{lineno}"))
    return out


def example_from_row(row: dict[str, Any], where: str = "") -> Example:
    text, intent = row.get("text"), row.get("intent")
    if not isinstance(text, str) or not text.strip() or intent not in INTENTS:
        raise ValueError(f"{where}: needs a text and a known intent, got {row!r}")
    cat, place = row.get("category"), row.get("place")
    if cat is not None and cat not in CATEGORIES:
        raise ValueError(f"{where}: unknown category {cat!r}")
    if place is not None and place not in PLACES:
        raise ValueError(f"{where}: unknown place {place!r}")
    return Example(text, intent, cat, place, where)


# ---- phrases built from the lexicon ----------------------------------------------------------

_FIND = ("{w}", "找{w}的", "哪里能{w}", "附近有{w}的吗", "想{w}", "谁会{w}")
_THING = ("{w}坏了", "{w}出毛病了", "{w}修一下", "我家{w}不行了", "{w}有问题找个师傅")
_SYMPTOM = ("{w}", "{w}了", "家里{w}了怎么办", "{w}找谁")
_OFFER = (
    "我是{w}的 想登记",
    "我会{w} 想接活",
    "本人{w}多年 想入驻",
    "我干{w}的 想挂个名",
    "俺会{w} 想让大家找我",
    "我是做{w}的 怎么报名",
)
_PLACE = ("{w}在哪", "附近有{w}吗", "{w}几点开门", "最近的{w}", "{w}电话多少", "去{w}怎么走")


def synthetic(lexicon: Lexicon, seed: int = 14) -> list[Example]:
    """A few phrases per lexicon word (fixed frames, fixed seed: the same list every run)."""
    rng = random.Random(seed)
    by_cat: dict[str, dict[str, list[str]]] = {}
    by_place: dict[str, list[str]] = {}
    for word, entries in sorted(lexicon.words.items()):
        for e in entries:
            if e.kind == "category" and e.where.startswith("categories."):
                tier = e.where.rsplit(".", 1)[-1]
                by_cat.setdefault(e.name, {}).setdefault(tier, []).append(word)
            elif e.kind == "place":
                by_place.setdefault(e.name, []).append(word)
    out: list[Example] = []
    for cat in sorted(by_cat):
        tiers = by_cat[cat]
        pool: list[tuple[str, Sequence[str]]] = []
        pool += [(w, _FIND) for w in tiers.get("trade", [])]
        pool += [(w, _THING) for w in tiers.get("object", [])]
        pool += [(w, _SYMPTOM) for w in tiers.get("symptom", []) + tiers.get("symptom_weak", [])]
        rng.shuffle(pool)
        for w, frames in pool[:SYNTHETIC_PER_CATEGORY]:
            out.append(Example(rng.choice(frames).format(w=w), "find_craftsman", cat, None, "lex"))
        trades = [w for w in tiers.get("trade", []) if len(w) >= 2]
        rng.shuffle(trades)
        for w in trades[:6]:
            out.append(
                Example(rng.choice(_OFFER).format(w=w), "craftsman_register", cat, None, "lex")
            )
    for place in sorted(by_place):
        words = list(by_place[place])
        rng.shuffle(words)
        for w in words[:SYNTHETIC_PER_PLACE]:
            frame = rng.choice(_PLACE) if not w.endswith(("在哪", "在哪里", "在哪儿")) else "{w}"
            out.append(Example(frame.format(w=w), "find_place", None, place, "lex"))
    return out


# ---- fitting ---------------------------------------------------------------------------------


def _fit(rows: list[list[str]], labels: list[int], n_labels: int) -> dict[str, list[float]]:
    """Multinomial logistic regression on binary features; returns feature -> weight row."""
    import numpy as np

    vocab: dict[str, int] = {}
    r_idx: list[int] = []
    f_idx: list[int] = []
    for r, feats in enumerate(rows):
        for f in dict.fromkeys(feats):  # unique, in order (a set would vary run to run)
            r_idx.append(r)
            f_idx.append(vocab.setdefault(f, len(vocab)))
    ri = np.asarray(r_idx, dtype=np.int64)
    fi = np.asarray(f_idx, dtype=np.int64)
    # X.W and X'.D as segment sums (np.add.reduceat): pairs grouped by row as built, and a
    # second copy grouped by feature (every feature occurs, so each segment is non-empty)
    row_starts = np.flatnonzero(np.r_[True, ri[1:] != ri[:-1]])
    by_feature = np.argsort(fi, kind="stable")
    fi_sorted, ri_by_feature = fi[by_feature], ri[by_feature]
    feature_starts = np.flatnonzero(np.r_[True, fi_sorted[1:] != fi_sorted[:-1]])
    n, d = len(rows), len(vocab)
    y = np.zeros((n, n_labels))
    y[np.arange(n), labels] = 1.0
    w = np.zeros((d, n_labels))
    g2 = np.zeros_like(w)
    for _ in range(STEPS):
        scores = np.add.reduceat(w[fi], row_starts, axis=0)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        diff = (p - y) / n
        grad = np.add.reduceat(diff[ri_by_feature], feature_starts, axis=0)
        grad += L2 * w
        g2 += grad * grad  # AdaGrad: rare n-grams get their share of the steps
        w -= LEARNING_RATE * grad / (np.sqrt(g2) + 1e-8)
    names = list(vocab)
    # features whose whole row stays this small change no decision: leave them out of the file
    return {
        names[i]: [float(x) for x in w[i]] for i in range(d) if float(np.abs(w[i]).max()) >= PRUNE
    }


def _head(
    parser: Parser, examples: list[Example], field: str, labels: Sequence[str]
) -> dict[str, Any] | None:
    chosen = [e for e in examples if getattr(e, field) is not None]
    if not chosen:
        return None
    rows = [parser.features(parser.analyse(e.text)) for e in chosen]
    index = {label: i for i, label in enumerate(labels)}
    weights = _fit(rows, [index[getattr(e, field)] for e in chosen], len(labels))
    return {
        "labels": list(labels),
        "features": list(weights),
        "weights": pack_weights(x for row in weights.values() for x in row),
    }


def fit_model(
    examples: list[Example], lexicon: Lexicon, thresholds: dict[str, float] | None = None
) -> dict[str, Any]:
    """The model file's content (a dict ready for JSON) trained on `examples`."""
    parser = base_parser(lexicon)
    heads: dict[str, Any] = {}
    for name, field, labels in (
        ("intent", "intent", INTENTS),
        ("category", "category", CATEGORIES),
        ("place", "place", PLACES),
    ):
        head = _head(parser, examples, field, labels)
        if head is not None:
            heads[name] = head
    body = {"heads": heads, "thresholds": thresholds or {"min_prob": 0.5, "min_margin": 0.2}}
    digest = hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()[:12]
    return {"version": digest, **body}


def base_parser(lexicon: Lexicon) -> Parser:
    """The lexicon half as the served parser runs it (with the safety detector, no model)."""
    from . import danger_detector

    return Parser(lexicon, None, danger_detector())


# ---- cross-validation ------------------------------------------------------------------------


def cross_validate(examples: list[Example], lexicon: Lexicon, folds: int = FOLDS) -> dict[str, Any]:
    """K-fold on the hand-labelled examples (lexicon phrases always train): accuracies and
    every held-out prediction (for choosing the ask thresholds)."""
    from .model import model_from_dict

    labelled = [e for e in examples if e.source != "lex"]
    built = [e for e in examples if e.source == "lex"]
    order = sorted(
        range(len(labelled)), key=lambda i: hashlib.md5(labelled[i].text.encode()).hexdigest()
    )
    preds: list[tuple[Example, Any]] = []
    for k in range(folds):
        test_idx = set(order[k::folds])
        train = [e for i, e in enumerate(labelled) if i not in test_idx] + built
        model = model_from_dict(fit_model(train, lexicon))
        parser = Parser(lexicon, model, base_parser(lexicon)._danger)
        for i in sorted(test_idx):
            e = labelled[i]
            preds.append((e, parser.parse(e.text, cache=False)))
    return {"predictions": preds, **score(preds)}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def score(preds: Sequence[tuple[Example, Any]]) -> dict[str, Any]:
    n = len(preds)
    intent_ok = sum(r.intent == e.intent for e, r in preds)
    cats = [(e, r) for e, r in preds if e.intent == "find_craftsman" and e.category]
    places = [(e, r) for e, r in preds if e.intent == "find_place" and e.place]
    return {
        "n": n,
        "intent_acc": intent_ok / n if n else 0.0,
        "category_acc": sum(r.category == e.category for e, r in cats) / len(cats) if cats else 1.0,
        "place_acc": sum(r.place == e.place for e, r in places) / len(places) if places else 1.0,
    }


def choose_thresholds(
    preds: Sequence[tuple[Example, Any]], lexicon: Lexicon
) -> dict[str, float]:
    """The loosest thresholds (fewest questions) whose confidently-wrong rate on the
    cross-validation predictions stays at or below the target."""
    parser = base_parser(lexicon)
    scored = []
    for e, r in preds:
        alts = r.alternatives
        p1 = alts[0]["score"] if alts else 1.0
        p2 = alts[1]["score"] if len(alts) > 1 else 0.0
        agrees = parser.analyse(e.text).rule_winner == r.intent
        # intent errors only: a category the lexicon is unsure of gets its own question
        wrong = r.intent != e.intent
        scored.append((p1, p1 - p2, agrees, wrong))
    n = len(scored) or 1
    best: tuple[float, dict[str, float]] = (
        2.0,
        {"min_prob": 0.9, "min_margin": 0.5, "agree_prob": 0.9},
    )
    for mp in [x / 20 for x in range(8, 19)]:
        for mm in [x / 20 for x in range(0, 9)]:
            for ap in [x / 20 for x in range(8, 19)]:
                sure = [
                    (p1 >= mp and m >= mm) or (agrees and p1 >= ap) for p1, m, agrees, _ in scored
                ]
                conf_wrong = sum(1 for s, x in zip(sure, scored, strict=True) if s and x[3]) / n
                asked = sum(1 for s in sure if not s) / n
                if conf_wrong <= TARGET_CONF_WRONG and asked < best[0]:
                    best = (asked, {"min_prob": mp, "min_margin": mm, "agree_prob": ap})
    return best[1]


# ---- the command -----------------------------------------------------------------------------


def read_labelled(paths: Iterable[Path]) -> list[Example]:
    """Staff-labelled lines (`nlu-review` output with `intent` filled in); unlabelled skipped."""
    out: list[Example] = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                row = json.loads(line) if line.strip() else {}
                if row.get("intent"):
                    out.append(example_from_row(row, f"{path.name}:{lineno}"))
    return out


def train(
    out: Path = DEFAULT_MODEL_PATH,
    extra: Sequence[Example] = (),
    lexicon: Lexicon | None = None,
    folds: int = FOLDS,
    keep_dir: Path | None = None,
    force: bool = False,
    corpus: Sequence[Example] | None = None,
) -> dict[str, Any]:
    """Cross-validate, fit on everything and adopt the model (write `out`) unless its
    cross-validated intent or category accuracy is below the current model's; the model it
    replaces is kept in `keep_dir` (for `rollback`). Returns the figures and `adopted`."""
    lex = lexicon or load_lexicon()
    shipped = read_corpus() if corpus is None else list(corpus)
    examples = shipped + list(extra) + synthetic(lex)
    cv = cross_validate(examples, lex, folds)
    thresholds = choose_thresholds(cv["predictions"], lex)
    data = fit_model(examples, lex, thresholds)
    figures = {k: v for k, v in cv.items() if k != "predictions"}
    data["cv"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}
    data["examples"] = len(examples)
    old = _read(out)
    worse = [
        key
        for key in ("intent_acc", "category_acc")
        if old is not None and data["cv"][key] < old.get("cv", {}).get(key, 0.0)
    ]
    adopted = force or not worse
    if adopted:
        if old is not None and keep_dir is not None:
            _write(keep_dir / f"model.{old['version']}.json", old)
        _write(out, data)
    return {
        "version": data["version"],
        "examples": len(examples),
        "adopted": adopted,
        "worse": worse,
        "current": None if old is None else old["version"],
        **data["cv"],
        **thresholds,
    }


def rollback(version: str, out: Path, keep_dir: Path) -> str:
    """Put a kept model back in place (the one it replaces is kept too); its version."""
    kept = _read(keep_dir / f"model.{version}.json")
    if kept is None:
        raise FileNotFoundError(f"no kept model {version} in {keep_dir}")
    current = _read(out)
    if current is not None:
        _write(keep_dir / f"model.{current['version']}.json", current)
    _write(out, kept)
    return str(kept["version"])


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _write(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a process reloading the model never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
