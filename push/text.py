"""Text helpers shared by passive replies and pushes."""

from __future__ import annotations

# WeChat customer-service texts and WeCom robot messages hold at most 2048 bytes of UTF-8.
MESSAGE_MAX_BYTES = 2048


def split_text(text: str, limit: int = MESSAGE_MAX_BYTES) -> list[str]:
    """Split on line breaks into chunks of at most `limit` UTF-8 bytes."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line.encode()) > limit:  # a single over-long line: cut by characters
            cut = len(line.encode()[:limit].decode("utf-8", "ignore"))
            chunks.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks
