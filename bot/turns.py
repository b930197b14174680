"""One message at a time per user: a user's messages are answered in turn, never side by side.

A resident who answers a form twice quickly, or taps 确认 twice, sends messages that arrive at
once (on one process or several). Answered side by side, each read the same form state and the
last write won: 20 simultaneous answers mid-form lost updates, and two 确认 published a menu
twice. So each message takes the user's turn (a Redis key with a random token and a lease)
before it reads the user's state, and gives it back after its writes.

The turn costs no round trip of its own when nobody else holds it: it is taken in the same
script that claims the message and reads the user's keys (`bot.context`), and given back in the
one that stores the answer. Only a message that finds the turn taken waits, polling briefly.
A holder that dies frees the user when the lease ends; a message that waited the whole lease
goes on without the turn (logged) rather than never being answered.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from infra import keys
from infra.redis_lane import Script

log = logging.getLogger(__name__)

LEASE_MS = 30_000  # longer than any answer; a crashed holder frees the user after it
POLL_FIRST = 0.005  # seconds; doubles up to POLL_MAX while waiting
POLL_MAX = 0.1

# Take the turn and, only then, read the user's keys: one round trip. False when it is taken.
TAKE = Script(
    b"""
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
if #KEYS == 1 then return {} end
return redis.call('MGET', unpack(KEYS, 2))
"""
)

# Give the turn back only if it is still ours (the lease may have ended and passed on).
GIVE_BACK = Script(
    b"""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
)


@dataclass(frozen=True)
class Turn:
    """The right to answer one user's message now: `token` in `key` while held."""

    key: str
    token: str

    @classmethod
    def of(cls, user: str) -> Turn:
        return cls(keys.turn(user), os.urandom(8).hex())


async def wait(redis: Redis, turn: Turn, names: list[str]) -> list[Any]:
    """Wait for the turn, then read `names` (in the same round trip as taking it)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + LEASE_MS / 1000
    pause = POLL_FIRST
    while True:
        values = await TAKE(keys=[turn.key, *names], args=[turn.token, LEASE_MS], client=redis)
        if values is not None:
            return list(values)
        if loop.time() >= until:
            log.warning("answering without the user's turn: waited a whole lease")
            return list(await redis.mget(names)) if names else []
        await asyncio.sleep(pause)
        pause = min(pause * 2, POLL_MAX)


async def give_back(redis: Redis, turn: Turn) -> None:
    await GIVE_BACK(keys=[turn.key], args=[turn.token], client=redis)
