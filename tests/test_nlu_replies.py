"""What the bot answers for what the NLU understood: emergencies, places, unsure readings."""

from __future__ import annotations

from typing import Any

import pytest

from bot.messages import Incoming


@pytest.fixture
def say(bot: Any) -> Any:
    async def say(user: str, text: str) -> str:
        return "\n".join(r.text for r in await bot.handle(Incoming.of_text(user, text)))

    return say


async def test_an_emergency_is_answered_with_the_numbers_to_call(say: Any) -> None:
    reply = await say("o-nlu-1", "我妈摔倒了起不来")
    assert "120" in reply
    assert "准备中" not in reply


async def test_a_place_question_is_answered_politely(say: Any) -> None:
    reply = await say("o-nlu-2", "附近有药店吗")
    assert reply and "抱歉，我没太明白" not in reply
