"""A message's view of Redis: prefetched keys, writes kept for the end of the message, and the
once-only claim WeChat deliveries go through (claim + state in one round trip, answer + kept
writes in another)."""

from __future__ import annotations

import json
from typing import Any

from bot import texts
from bot.context import Context, Once
from bot.dispatch import build_router
from bot.messages import Incoming, Kind
from bot.router import Router, kind
from infra import keys

KEPT = keys.scratch("o-state", "kept")


def _router(fail: bool = False, drop: bool = False) -> Router:
    router = Router("state-test")

    @router.message(kind(Kind.TEXT))
    async def keep(ctx: Context) -> str:
        ctx.state.set_later(KEPT, ctx.msg.text, 60)
        seen = await ctx.redis.get(KEPT)  # the message sees its own kept write
        stored = await ctx.services.redis.get(KEPT)  # Redis does not, yet
        if drop:
            assert await ctx.redis.delete(KEPT) == 1
        if fail:
            raise RuntimeError("handler bug")
        return f"seen={seen} stored={stored}"

    return router


async def test_kept_writes_land_when_the_message_is_answered(bot: Any) -> None:
    redis = bot.services.redis
    bot.use_router(build_router(_router()))
    [reply] = await bot.handle(Incoming.of_text("o-state", "first"))
    assert reply.text == "seen=first stored=None"
    assert await redis.get(KEPT) == "first"
    assert 0 < await redis.ttl(KEPT) <= 60


async def test_a_failed_message_keeps_nothing(bot: Any) -> None:
    redis = bot.services.redis
    bot.use_router(build_router(_router(fail=True)))
    [reply] = await bot.handle(Incoming.of_text("o-state", "broken"))
    assert reply.text == texts.ERROR
    assert await redis.get(KEPT) is None


async def test_deleting_a_kept_write_cancels_it(bot: Any) -> None:
    bot.use_router(build_router(_router(drop=True)))
    await bot.handle(Incoming.of_text("o-state", "gone"))
    assert await bot.services.redis.get(KEPT) is None


async def test_a_claim_is_taken_once_and_stores_the_answer_with_the_kept_writes(bot: Any) -> None:
    redis = bot.services.redis
    bot.use_router(build_router(_router()))
    once = Once(keys.dedupe("msg:state-1"), "\x00pending", 600)
    msg = Incoming.of_text("o-state", "claimed")
    ctx = await bot.claim(msg, once)
    assert ctx is not None
    assert await bot.claim(msg, once) is None  # a retry while the first is being answered
    assert await redis.get(once.key) == "\x00pending"
    text = await bot.answer_claimed(ctx, once)
    assert text == "seen=claimed stored=None"
    assert json.loads(await redis.get(once.key)) == text
    assert await redis.get(KEPT) == "claimed"
    assert await bot.claim(msg, once) is None  # and after it


async def test_an_answer_that_went_out_another_way_is_not_stored(bot: Any) -> None:
    """Past the 5-second deadline the claim says "sent as a message": the late answer must
    not replace that (a retry would otherwise get it a second time), but its state is kept."""
    redis = bot.services.redis
    bot.use_router(build_router(_router()))
    once = Once(keys.dedupe("msg:state-2"), "\x00pending", 600)
    ctx = await bot.claim(Incoming.of_text("o-state", "late"), once)
    assert ctx is not None
    await redis.set(once.key, "\x00async", ex=600)
    await bot.answer_claimed(ctx, once)
    assert await redis.get(once.key) == "\x00async"
    assert await redis.get(KEPT) == "late"


async def test_recent_exchanges_keep_the_last_five_oldest_first_by_either_path(bot: Any) -> None:
    """What 转人工 hands over: the conversation's last exchanges, appended with the answer (a
    claimed message in the finish script, a plain one in the flush), the oldest dropped."""
    redis = bot.services.redis
    bot.use_router(build_router(_router()))
    for i in range(7):
        msg = Incoming.of_text("o-state", f"第{i}句")
        if i % 2:
            once = Once(keys.dedupe(f"msg:recent-{i}"), "\x00pending", 600)
            ctx = await bot.claim(msg, once)
            assert ctx is not None
            await bot.answer_claimed(ctx, once)
        else:
            await bot.handle(msg)
    ctx = Context(Incoming.of_text("o-state", "转人工"), bot.services)
    recent = await ctx.recent()
    assert [r["said"] for r in recent] == [f"第{i}句" for i in range(2, 7)]
    assert recent[-1]["answer"] == "seen=第6句 stored=第5句"
    assert 0 < await redis.ttl(keys.recent("o-state")) <= 24 * 3600
    await redis.rpush(keys.recent("o-state"), "not json")  # a damaged item is skipped
    assert len(await ctx.recent()) == 5


async def test_a_message_meets_only_the_routes_its_kind_and_intent_can_pass(bot: Any) -> None:
    """Routes with an intent or kind filter are not even tried for other messages (their
    other filters are not called), and the first route that passes still wins, in order."""
    from bot.router import intent

    tried: list[str] = []

    def spy(name: str, answer: bool = False) -> Any:
        def check(ctx: Context) -> bool:
            tried.append(name)
            return answer

        return check

    router = Router("gates")
    for name, gate in (("menu", intent("menu_query")), ("location", kind(Kind.LOCATION))):

        @router.message(spy(name), gate)
        async def never(ctx: Context) -> str:
            return "wrong"

    @router.message(spy("search", True), intent("find_craftsman"))
    async def search(ctx: Context) -> str:
        return "search"

    @router.message(spy("any", True))
    async def anything(ctx: Context) -> str:
        return "anything"

    bot.use_router(router)  # alone: the system routes would take the location first
    [reply] = await bot.handle(Incoming.of_text("o-gate", "找裁缝"))
    assert reply.text == "search" and tried == ["search"]
    tried.clear()
    [reply] = await bot.handle(Incoming.of_location("o-gate", 31.23, 121.47))
    assert reply.text == "anything" and tried == ["location", "any"]
    tried.clear()
    [reply] = await bot.handle(Incoming.of_text("o-gate", "今天吃什么"))
    assert reply.text == "anything" and tried == ["menu", "any"]


async def test_an_answer_to_a_form_s_step_is_not_parsed_for_routing(bot: Any) -> None:
    """A name, a trade list, a description: answers the form takes before any route that
    needs an intent, so the parser (most of a message's work when its text is new, and a
    step's answer always is) is never asked about them."""
    from bot.nlu import default_parser
    from server.lifecycle import feature_routers

    bot.use_router(build_router(*feature_routers()))
    await bot.handle(Incoming.of_text("o-form", "师傅登记"))
    remembered = default_parser()._remembered
    steps = (("王师傅", "哪一行"), ("裁缝、修鞋", "能做什么"), ("改裤脚", "在哪里"))
    for answer, next_question in steps:
        before = remembered.cache_info()
        [reply] = await bot.handle(Incoming.of_text("o-form", answer))
        after = remembered.cache_info()
        assert next_question in reply.text
        assert after.hits + after.misses == before.hits + before.misses, answer


async def test_routes_gated_by_words_or_a_pattern_are_passed_over_without_a_call(bot: Any) -> None:
    """`words` and `gated(test=...)` routes are tried only for a text they can pass: their
    filters are not called for others, and they still win in their order when they pass."""
    import re

    from bot.router import gated, words

    tried: list[str] = []

    def spy(name: str) -> Any:
        def check(ctx: Context) -> bool:
            tried.append(name)
            return True

        return check

    router = Router("gates")
    pattern = re.compile(r"评价\d")

    @router.message(spy("words"), words("我的积分", "积分"))
    async def points(ctx: Context) -> str:
        return "points"

    @router.message(gated(spy("pattern"), test=pattern.fullmatch))
    async def review(ctx: Context) -> str:
        return "review"

    @router.message(spy("any"))
    async def anything(ctx: Context) -> str:
        return "anything"

    bot.use_router(router)
    for text, answer, called in (
        ("找裁缝", "anything", ["any"]),
        ("我的积分！", "points", ["words"]),
        ("评价3", "review", ["pattern"]),
    ):
        tried.clear()
        [reply] = await bot.handle(Incoming.of_text("o-gate", text))
        assert (reply.text, tried) == (answer, called), text
