"""Conversation state is keyed by (channel, chat, member): one state per member per group, and
the Official Account's keys are exactly what they were before groups existed."""

from __future__ import annotations

from typing import Any

from bot.messages import Channel, Incoming, Kind
from infra import keys


def test_official_account_keys_are_unchanged() -> None:
    msg = Incoming.of_text("oAbC123", "找裁缝")
    assert msg.conversation == "oAbC123"
    assert keys.form(msg.conversation) == "linli:form:oAbC123"
    assert keys.pending(msg.conversation) == "linli:pending:oAbC123"
    assert keys.location(msg.conversation) == "linli:loc:oAbC123"
    assert keys.scratch(msg.conversation, "dir_results") == "linli:scratch:dir_results:oAbC123"


def test_a_group_member_has_a_state_of_their_own_per_group() -> None:
    def said(chat: str, member: str) -> Incoming:
        return Incoming(member, Kind.TEXT, Channel.WECOM, text="hi", chat=chat)

    a_in_1, b_in_1, a_in_2 = said("g1", "wecom:a"), said("g1", "wecom:b"), said("g2", "wecom:a")
    ids = {m.conversation for m in (a_in_1, b_in_1, a_in_2)}
    assert len(ids) == 3
    assert a_in_1.conversation == "wecom:g1:wecom:a"
    # the member's one-to-one chat with the bot is yet another conversation
    assert Incoming.of_text("wecom:a", "hi", Channel.WECOM).conversation == "wecom:a"


async def test_two_members_fill_their_forms_in_one_group_without_mixing(bot: Any) -> None:
    from tests.conftest import lunch_and_dinner_canteen

    await lunch_and_dinner_canteen()

    async def say(member: str, text: str) -> str:
        msg = Incoming(member, Kind.TEXT, Channel.WECOM, text=text, chat="wrGroup1")
        return "\n".join(r.text for r in await bot.handle(msg))

    assert "送到哪里" in await say("wecom:wang", "能给我妈送饭吗")
    assert "送到哪里" in await say("wecom:li", "能给我爸送饭吗")
    assert "送哪一餐" in await say("wecom:wang", "3号楼2单元401")
    # Li's form is still at the address step: Wang's answer did not move it
    assert "送到哪里" in await say("wecom:li", "午饭")
    redis = bot.services.redis
    assert await redis.exists(keys.form("wecom:wrGroup1:wecom:wang"))
    assert await redis.exists(keys.form("wecom:wrGroup1:wecom:li"))
    assert not await redis.exists(keys.form("wecom:wang"))
