"""The community's clock: every date a resident sees ("明天", a cutoff, a roster) is China time,
whatever the server's own timezone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The aware current time in China."""
    return datetime.now(SHANGHAI)


def today() -> date:
    return now().date()
