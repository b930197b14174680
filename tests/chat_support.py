"""Talking to the bot in tests: one chat driver.

`say = Chat(bot)` (or the `say` fixture of tests/conftest.py), then `await say("o-user", "找裁缝")`
gives the replies' texts, one per line. `Chat(bot, when)` pins the bot's clock at `when`; a test
moves it on with `say.when = ...`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.messages import Incoming


class Chat:
    """Sends a resident's text (or location) to the bot as WeChat would and returns what the bot
    answers, the replies' texts joined by line breaks."""

    def __init__(self, bot: Any, when: dt.datetime | None = None) -> None:
        self.bot = bot
        if when is not None:
            self.when = when
            bot.services.clock = lambda: self.when

    async def __call__(self, user: str, text: str) -> str:
        return _joined(await self.bot.handle(Incoming.of_text(user, text)))

    async def location(self, user: str, lat: float, lng: float, label: str = "") -> str:
        return _joined(await self.bot.handle(Incoming.of_location(user, lat, lng, label)))


def _joined(replies: list[Any]) -> str:
    return "\n".join(r.text for r in replies)
