"""Chinese NLU for linli: intent, craft category and slots from a resident's message.

    from bot.nlu import parse
    parse("冰箱不制冷").category  # "appliance_repair"

The vocabulary lives in ``lexicon.toml`` beside this file; ``Parser(load_lexicon(path))``
parses with another lexicon file. The learned model (``model.json``, built by
``python main.py train-nlu`` from ``data/*.jsonl``) decides the intent from what the lexicon saw
and the text itself; without a model file the lexicon's rules decide alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from .labels import CATEGORIES, INTENTS, PLACES
from .lexicon import Lexicon, LexiconError, load_lexicon
from .model import DEFAULT_MODEL_PATH, Model, ModelError, load_model
from .parser import Parser, ParseResult

log = logging.getLogger(__name__)

__all__ = [
    "CATEGORIES",
    "INTENTS",
    "Lexicon",
    "LexiconError",
    "Model",
    "ModelError",
    "PLACES",
    "ParseResult",
    "Parser",
    "danger_detector",
    "default_parser",
    "load_lexicon",
    "load_model",
    "model_or_none",
    "parse",
    "reload_if_changed",
]


def danger_detector() -> Callable[[str], bool] | None:
    """The conversations feature's rule-based emergency detector (bot.safety), if present."""
    try:
        from bot.safety import detect
    except ImportError:
        return None
    return lambda text: detect(text) is not None


def model_or_none(path: Path = DEFAULT_MODEL_PATH) -> Model | None:
    """The learned model, or None (the lexicon's rules decide alone) when the file is missing
    or unreadable: a bad model file must not take the bot down."""
    if not path.exists():
        return None
    try:
        return load_model(path)
    except ModelError:
        log.exception(
            "NLU model unreadable, the lexicon's rules decide alone", extra={"path": str(path)}
        )
        return None


@lru_cache(maxsize=1)
def default_parser() -> Parser:
    """The parser over the shipped lexicon and model, built on first use (not at import)."""
    return Parser(load_lexicon(), model_or_none(), danger_detector())


# Every process picks up a newly adopted model (train-nlu, rollback) without a restart: the
# model file's modification time is looked at, at most every RELOAD_EVERY seconds.
RELOAD_EVERY = 30.0
_seen = {"at": 0.0, "stamp": -1.0}


def _model_stamp() -> float:
    try:
        return DEFAULT_MODEL_PATH.stat().st_mtime
    except OSError:
        return 0.0


def reload_if_changed(now: float | None = None) -> bool:
    """Drop the default parser when its model file changed; True if it did."""
    now = time.monotonic() if now is None else now
    if now - _seen["at"] < RELOAD_EVERY and _seen["stamp"] >= 0:
        return False
    _seen["at"] = now
    stamp = _model_stamp()
    changed = _seen["stamp"] >= 0 and stamp != _seen["stamp"]
    _seen["stamp"] = stamp
    if changed:
        default_parser.cache_clear()
    return changed


def parse(text: str, *, today: dt.date | None = None) -> ParseResult:
    """Parse one message; ``today`` anchors relative dates (default: today in Asia/Shanghai)."""
    reload_if_changed()
    return default_parser().parse(text, today=today)
