"""The GEO index's searches (infra/geo_index.py): a process asks Redis for a card only when it
has not read that version of it; a changed, removed or unversioned card is never served stale."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from infra import geo_index
from infra.redis_lane import lane_of

GEO, CARDS = "t:geo", "t:cards"
HERE = (31.2304, 121.4737)


@pytest.fixture
def redis(bot: Any) -> Redis:
    client: Redis = bot.services.redis
    return client


async def _index(redis: Redis, cards: dict[str, str]) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        values: list[Any] = []
        for i, member in enumerate(cards):
            values += [HERE[1] + 0.001 * (i + 1), HERE[0], member]
        geo_index.add_points(pipe, GEO, values)
        geo_index.add_cards(pipe, CARDS, cards)
        await pipe.execute()


async def _near(redis: Redis) -> list[str]:
    found = await geo_index.nearby(redis, GEO, CARDS, *HERE, 5000, 50)
    return [raw for _, raw in found]


async def test_cards_read_before_are_not_sent_again(redis: Redis) -> None:
    await _index(redis, {"1": '{"n":"甲"}', "2": '{"n":"乙"}'})
    assert await _near(redis) == ['{"n":"甲"}', '{"n":"乙"}']
    lane = lane_of(redis)
    assert lane is not None
    lane.sent.clear()
    assert await _near(redis) == ['{"n":"甲"}', '{"n":"乙"}']
    assert lane.sent == {"EVALSHA": 1}  # the search and the versions; no HMGET of cards


async def test_a_changed_card_is_read_again_at_once(redis: Redis) -> None:
    await _index(redis, {"1": '{"n":"甲"}', "2": '{"n":"乙"}'})
    await _near(redis)
    await _index(redis, {"1": '{"n":"甲师傅"}'})  # renamed, as index.sync writes it
    lane = lane_of(redis)
    assert lane is not None
    lane.sent.clear()
    assert await _near(redis) == ['{"n":"甲师傅"}', '{"n":"乙"}']
    assert lane.sent == {"EVALSHA": 1, "HMGET": 1}  # only the changed card


async def test_a_removed_card_is_skipped(redis: Redis) -> None:
    await _index(redis, {"1": '{"n":"甲"}', "2": '{"n":"乙"}'})
    await _near(redis)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hdel(CARDS, "1")  # the card went first; its point is still in the GEO set
        pipe.hdel(geo_index.versions_key(CARDS), "1")
        await pipe.execute()
    assert await _near(redis) == ['{"n":"乙"}']


async def test_an_index_without_versions_is_read_the_long_way(redis: Redis) -> None:
    """Cards written before versions existed (until the next rebuild) are fetched every time."""
    await _index(redis, {"1": '{"n":"甲"}'})
    await redis.delete(geo_index.versions_key(CARDS))
    assert await _near(redis) == ['{"n":"甲"}']
    await redis.hset(CARDS, "1", '{"n":"甲2"}')  # no version to tell: still never stale
    assert await _near(redis) == ['{"n":"甲2"}']


async def test_clearing_the_index_takes_the_versions_too(redis: Redis) -> None:
    await _index(redis, {"1": '{"n":"甲"}'})
    async with redis.pipeline(transaction=True) as pipe:
        geo_index.clear(pipe, [GEO], CARDS)
        await pipe.execute()
    assert await redis.exists(GEO, CARDS, geo_index.versions_key(CARDS)) == 0
    assert await _near(redis) == []


async def test_a_full_card_store_starting_again_loses_no_card_of_the_search(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past KEPT_MAX the process forgets every card it kept, in the middle of a search that
    had found some of them kept: those still come back, in order (they were a KeyError)."""
    await _index(redis, {"1": '{"n":"甲"}', "2": '{"n":"乙"}'})
    assert await _near(redis) == ['{"n":"甲"}', '{"n":"乙"}']  # both kept now
    await _index(redis, {"2": '{"n":"乙师傅"}'})  # one changed: read again, the other kept
    monkeypatch.setattr(geo_index, "KEPT_MAX", 1)
    assert await _near(redis) == ['{"n":"甲"}', '{"n":"乙师傅"}']
