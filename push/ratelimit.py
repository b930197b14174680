"""Rate limits shared by every worker process, kept in Redis.

A sliding-window log (a sorted set of send times per key) rather than a token bucket: WeCom
counts "20 messages in any minute" per robot, and a bucket that starts full would allow a burst
of 20 on top of the refill, which the robot answers with 45009.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from infra import keys

# KEYS[1] = window key; ARGV = now, window seconds, limit, member.
# Returns 0 when a slot was taken, else the seconds until the oldest send leaves the window.
_ACQUIRE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - window)
if redis.call('zcard', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('zadd', KEYS[1], now, ARGV[4])
  redis.call('pexpire', KEYS[1], math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('zrange', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(math.max(tonumber(oldest[2]) + window - now, 0.001))
"""


MARGIN = 0.1  # of the window
MIN_MARGIN = 0.25  # seconds


@dataclass(frozen=True)
class Rate:
    limit: int
    window: float  # seconds


class RateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(_ACQUIRE)

    async def acquire(self, name: str, rate: Rate) -> float:
        """Take a slot for `name`; 0.0 when granted, else how long to wait before asking again."""
        # Wall-clock time: every worker process on every host must read the same clock.
        now = time.time()
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        # The receiver counts arrivals, which lag our slot times by a varying few milliseconds
        # (more on a busy machine): a send that left late and the next one on time would land
        # inside one window. A margin keeps arrivals apart too.
        window = rate.window + max(rate.window * MARGIN, MIN_MARGIN)
        wait = await self._script(
            keys=[keys.push_rate(name)], args=[now, window, rate.limit, member]
        )
        return max(float(wait), 0.0)
