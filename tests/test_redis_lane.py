"""The pipelined Redis connection the per-message scripts use (infra/redis_lane.py), against the
real Redis of the suite: replies reach their own callers, whatever is in flight, lost or
cancelled, and the scripts behave as they did on redis-py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ResponseError

from infra.redis_lane import Lane, LaneRedis, Script, close_lane, lane_of

ECHO = Script(b"return {ARGV[1], redis.call('GET', KEYS[1])}")


@pytest.fixture
def redis(bot: Any) -> Redis:
    client: Redis = bot.services.redis
    return client


def _lane(redis: Redis) -> Lane:
    lane = lane_of(redis)
    assert lane is not None
    return lane


async def test_many_calls_in_flight_each_get_their_own_reply(redis: Redis) -> None:
    await redis.set("lane:k", "v")
    results = await asyncio.gather(
        *(ECHO(keys=["lane:k"], args=[str(i)], client=redis) for i in range(500))
    )
    assert results == [[str(i), "v"] for i in range(500)]


async def test_the_commands_of_one_turn_of_the_loop_go_out_in_one_write(redis: Redis) -> None:
    lane = _lane(redis)
    await lane.call("PING")  # connected
    transport = lane._transport
    assert transport is not None
    writes: list[bytes] = []
    write = transport.write
    transport.write = lambda data: (writes.append(data), write(data))[1]  # type: ignore[method-assign]
    try:
        replies = await asyncio.gather(*(lane.call("ECHO", str(i)) for i in range(50)))
    finally:
        del transport.write
    assert replies == [str(i) for i in range(50)]
    assert len(writes) == 1 and writes[0].count(b"ECHO") == 50


async def test_the_lane_reads_the_same_database_as_the_client(redis: Redis) -> None:
    # The suite's Redis may be a numbered database of a shared server: the lane selects it.
    await redis.set("lane:db", "here")
    assert await _lane(redis).call("GET", "lane:db") == "here"


async def test_a_script_redis_has_forgotten_is_sent_again(redis: Redis) -> None:
    await redis.set("lane:k", "v")
    assert await ECHO(keys=["lane:k"], args=["1"], client=redis) == ["1", "v"]
    await redis.script_flush()
    lane = _lane(redis)
    lane.sent.clear()
    assert await ECHO(keys=["lane:k"], args=["2"], client=redis) == ["2", "v"]
    assert lane.sent == {"EVALSHA": 1, "EVAL": 1}  # NOSCRIPT, then the source (cached again)
    lane.sent.clear()
    assert await ECHO(keys=["lane:k"], args=["3"], client=redis) == ["3", "v"]
    assert lane.sent == {"EVALSHA": 1}


async def test_an_error_reply_is_raised_to_its_caller_only(redis: Redis) -> None:
    broken = Script(b"return redis.call('NOSUCHCOMMAND')")
    good = ECHO(keys=["lane:k"], args=["ok"], client=redis)
    bad = broken(keys=[], args=[], client=redis)
    results = await asyncio.gather(bad, good, return_exceptions=True)
    assert isinstance(results[0], ResponseError)
    assert results[1] == ["ok", None]


async def test_a_cancelled_call_does_not_shift_the_replies_of_the_others(redis: Redis) -> None:
    lane = _lane(redis)
    await lane.call("PING")
    slow = asyncio.ensure_future(lane.call("BLPOP", "lane:never", "0.2"))
    after = asyncio.ensure_future(lane.call("ECHO", "after"))
    await asyncio.sleep(0.01)
    slow.cancel()
    assert await after == "after"
    assert await lane.call("ECHO", "later") == "later"


async def test_a_lost_connection_fails_the_calls_in_flight_and_the_next_call_reconnects(
    redis: Redis,
) -> None:
    lane = _lane(redis)
    lane_id = await lane.call("CLIENT", "ID")
    waiting = asyncio.ensure_future(lane.call("BLPOP", "lane:never", "5"))
    await asyncio.sleep(0.05)
    await redis.client_kill_filter(_id=lane_id)
    with pytest.raises(RedisConnectionError):
        await asyncio.wait_for(waiting, 3)
    assert await lane.call("ECHO", "again") == "again"
    assert await lane.call("CLIENT", "ID") != lane_id


async def test_a_closed_lane_is_made_anew(redis: Redis) -> None:
    first = _lane(redis)
    await close_lane(redis)
    second = _lane(redis)
    assert second is not first
    assert await second.call("ECHO", "x") == "x"
    with pytest.raises(RedisConnectionError):
        await first.call("ECHO", "x")  # closed for good: it does not connect again


async def test_a_server_that_is_not_there_is_a_connection_error() -> None:
    client = Redis(host="127.0.0.1", port=1, decode_responses=True)
    with pytest.raises(RedisConnectionError):
        await ECHO(keys=["k"], args=["1"], client=client)
    await close_lane(client)
    await client.aclose()


# ---- the app's client: redis-py's commands over the lane ---------------------------------------


async def test_the_app_client_sends_ordinary_commands_over_the_lane(redis: Redis) -> None:
    assert isinstance(redis, LaneRedis)
    lane = _lane(redis)
    lane.sent.clear()
    assert await redis.set("lane:s", "1", ex=60) is True  # redis-py's reply callbacks apply
    assert await redis.set("lane:s", "2", nx=True) is None
    assert await redis.hset("lane:h", mapping={"a": "1", "b": "2"}) == 2
    assert await redis.hgetall("lane:h") == {"a": "1", "b": "2"}
    assert await redis.expire("lane:h", 60) is True
    await redis.zadd("lane:z", {"x": 1.5, "y": 2})
    assert await redis.zrange("lane:z", 0, -1, withscores=True) == [("x", 1.5), ("y", 2.0)]
    assert await redis.exists("lane:s", "lane:h", "lane:none") == 2
    assert lane.sent["SET"] == 2 and lane.sent["HGETALL"] == 1 and lane.sent["ZRANGE"] == 1


async def test_a_blocking_command_keeps_its_own_connection(redis: Redis) -> None:
    """BLPOP on the lane would hold every other command behind it for its whole wait."""
    lane = _lane(redis)
    lane.sent.clear()
    blocked = asyncio.ensure_future(redis.blpop(["lane:q"], timeout=1))
    await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    for i in range(50):
        assert await redis.set(f"lane:b{i}", i) is True
    assert asyncio.get_running_loop().time() - started < 0.9  # not queued behind the BLPOP
    await redis.rpush("lane:q", "x")
    assert list(await blocked) == ["lane:q", "x"]
    assert "BLPOP" not in lane.sent


async def test_undecoded_replies_pipelines_and_bad_arguments_behave_as_redis_py(
    redis: Redis,
) -> None:
    await redis.set("lane:d", "v")
    dumped = await redis.dump("lane:d")  # NEVER_DECODE: raw bytes, through redis-py
    assert isinstance(dumped, bytes)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr("lane:n")
        pipe.incr("lane:n")
        assert await pipe.execute() == [1, 2]
    with pytest.raises(DataError):
        await redis.set("lane:bad", None)  # type: ignore[arg-type]
    with pytest.raises(ResponseError):
        await redis.incr("lane:d")  # not an integer: the error reaches the caller
    assert await redis.get("lane:d") == "v"


async def test_a_client_the_lane_cannot_speak_for_uses_redis_py(redis: Redis) -> None:
    """RESP3 replies are shaped differently: such a client keeps redis-py's connections."""
    url = "redis://127.0.0.1:1/0?protocol=3"
    assert lane_of(LaneRedis.from_url(url, decode_responses=True)) is None
    assert lane_of(LaneRedis.from_url("rediss://127.0.0.1:1/0")) is None
    assert lane_of(LaneRedis.from_url("redis://127.0.0.1:1/0")) is not None
