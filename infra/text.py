"""Text from outside (chat, API, console, imported sheets) as it can be stored and shown.

XML 1.0 cannot carry C0 control characters other than tab, LF and CR, lone UTF-16 surrogates,
or U+FFFE/U+FFFF, not even inside CDATA: a craftsman's name holding "\\x01" made the passive
reply of every resident whose search listed it malformed. These characters are invisible (the
console showed nothing), so text coming in is stripped of them (the API refuses them with the
field named), and a reply is cleaned again when rendered, for text stored before.
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """`text` without the characters XML cannot carry (tab, LF and CR stay)."""
    return _UNPRINTABLE.sub("", text)


def has_unprintable(text: str) -> bool:
    return _UNPRINTABLE.search(text) is not None
