"""What a message costs: the Redis round trips of a search, and the shortcuts taken to keep the
per-message work small give the same results as the long way (issue 18)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from redis.asyncio import Redis

from bot.context import Once, StateView
from bot.dispatch import Bot
from bot.messages import Incoming
from community import geo
from craftsman_directory import search
from handlers.wechat import split_text
from infra import keys
from infra.redis_lane import lane_of
from push import text as push_text
from tests.directory_support import HOME, make_craftsman, say, send_location


class CountingRedis(Redis):
    """A real client on the same server that counts the commands it sends (round trips)."""

    sent: list[str]

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]))
        return await super().execute_command(*args, **options)


def counting(redis: Redis) -> CountingRedis:
    client = CountingRedis(connection_pool=redis.connection_pool)
    client.sent = []
    return client


async def test_a_located_search_is_three_round_trips(bot: Any) -> None:
    """Claim + state, the GEO search with its cards, answer + writes: nothing else, when no
    numbered question is pending (clearing absent ones costs nothing)."""
    await make_craftsman(bot, "近师傅", ["tailor"], 200)
    await make_craftsman(bot, "远师傅", ["tailor"], 900)
    await send_location(bot, *HOME)
    redis = counting(bot.services.redis)
    quiet = Bot(dataclasses.replace(bot.services, redis=redis), bot.router)
    texts = []
    for n in (1, 2):  # the first caches the walking pace and loads the scripts
        redis.sent.clear()
        lane = lane_of(redis)
        assert lane is not None  # the scripts go over the pipelined connection
        lane.sent.clear()
        once = Once(keys.dedupe(f"msg:cost-{n}"), "\x00pending", 600)
        ctx = await quiet.claim(Incoming.of_text("o-resident", "找裁缝"), once)
        assert ctx is not None
        texts.append(await quiet.answer_claimed(ctx, once))
        lane_sent = lane.sent.copy()
    assert texts[0] == texts[1] and "近师傅（裁缝）步行约3分钟" in texts[1]
    # The claim with the state, the GEO search with its cards, the answer with its writes.
    assert redis.sent == [] and lane_sent == {"EVALSHA": 3}


async def test_a_pending_numbered_question_is_still_cleared_by_a_search(bot: Any) -> None:
    await make_craftsman(bot, "近师傅", ["tailor"], 200)
    await send_location(bot, *HOME)
    question = keys.scratch("o-resident", "dir_clarify")
    await bot.services.redis.set(question, '["tailor", "shoe_repair"]', ex=600)
    assert "近师傅" in await say(bot, "找裁缝")
    assert await bot.services.redis.get(question) is None


async def test_deleting_what_a_message_knows_is_absent_sends_nothing(bot: Any) -> None:
    redis = counting(bot.services.redis)
    absent, present, unknown = "t:absent", "t:present", "t:unknown"
    await redis.set(present, "1")
    await redis.set(unknown, "1")
    redis.sent.clear()
    view = StateView(redis, {absent: None, present: "1"})
    assert await view.delete(absent) == 0
    assert redis.sent == []
    assert await view.delete(absent, present) == 1  # one of them may be there: ask Redis
    assert await view.delete(present) == 0  # gone now, as far as the message knows
    assert await view.delete(unknown) == 1  # never read: Redis decides
    assert redis.sent == ["DEL", "DEL"]
    assert await redis.get(present) is None and await redis.get(unknown) is None


def test_walking_minutes_of_a_search_are_geo_walk_minutes() -> None:
    rng = random.Random(18)
    distances = [rng.uniform(0, 12_000) for _ in range(20_000)]
    distances += [m * pace + edge for m in range(0, 300) for pace in (45.0, 80.0)
                  for edge in (-0.5, -1e-9, 0.0, 1e-9, 0.5)]  # fmt: skip
    for elderly in (False, True):
        speed = geo.walk_speed(elderly)
        for d in distances:
            if d >= 0:
                assert search._walk_minutes(d, speed) == geo.walk_minutes(d, elderly), d


def test_a_short_answer_is_split_as_the_pushes_split_it() -> None:
    rng = random.Random(18)
    pieces = ["a", "中", "\n", " ", "😀", "\n\n", "，", "步行约3分钟"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        for limit in (5, 24, 2000):
            assert split_text(text, limit) == push_text.split_text(text, limit), (text, limit)
