"""Chinese NLU for linli: intent, craft category and slots from a resident's message.

    from bot.nlu import parse
    parse("冰箱不制冷").category  # "appliance_repair"

The vocabulary lives in ``lexicon.toml`` beside this file; ``Parser(load_lexicon(path))``
parses with another lexicon file.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from .labels import CATEGORIES, INTENTS
from .lexicon import Lexicon, LexiconError, load_lexicon
from .parser import Parser, ParseResult

__all__ = [
    "CATEGORIES",
    "INTENTS",
    "Lexicon",
    "LexiconError",
    "ParseResult",
    "Parser",
    "default_parser",
    "load_lexicon",
    "parse",
]


@lru_cache(maxsize=1)
def default_parser() -> Parser:
    """The parser over the shipped lexicon, built on first use (not at import)."""
    return Parser(load_lexicon())


def parse(text: str, *, today: dt.date | None = None) -> ParseResult:
    """Parse one message; ``today`` anchors relative dates (default: today in Asia/Shanghai)."""
    return default_parser().parse(text, today=today)
