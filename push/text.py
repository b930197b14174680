"""Text helpers shared by passive replies and pushes."""

from __future__ import annotations

from wechat_api import TEXT_MAX_BYTES

# Customer-service texts and WeCom robot messages: WeChat's text limit.
MESSAGE_MAX_BYTES = TEXT_MAX_BYTES


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
