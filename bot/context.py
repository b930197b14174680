"""What a handler can use while answering one message."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.messages import Incoming, Location
from infra import keys

if TYPE_CHECKING:
    from bot.nlu import ParseResult

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOCATION_TTL = 7 * 24 * 3600
PENDING_TTL = 30 * 60

# Sends a text to a user outside the passive reply (customer-service message, terminal, ...).
Notifier = Callable[[str, str], Awaitable[None]]


async def _no_notifier(user: str, text: str) -> None:
    return None


@dataclass
class Services:
    """Long-lived things shared by every message (one per app)."""

    redis: Redis
    notify: Notifier = _no_notifier
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(SHANGHAI))
    extras: dict[str, Any] = field(default_factory=dict)


# The per-user keys most messages read (form state, a pending action, the last location, ...):
# read with one MGET when a message arrives instead of one GET each. Features add theirs.
PREFETCH: list[Callable[[str], str]] = [keys.form, keys.pending, keys.location]


class StateView:
    """Redis as one message sees it: the prefetched keys answer `get` from memory until this
    message writes them; everything else goes straight to Redis."""

    def __init__(self, redis: Redis, values: dict[str, Any]) -> None:
        self._redis = redis
        self._values = values

    async def get(self, key: str) -> Any:
        if key in self._values:
            return self._values[key]
        return await self._redis.get(key)

    async def exists(self, *names: str) -> int:
        if names and all(n in self._values for n in names):
            return sum(self._values[n] is not None for n in names)
        return await self._redis.exists(*names)

    async def set(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self._values.pop(key, None)
        return await self._redis.set(key, *args, **kwargs)

    async def getdel(self, key: str) -> Any:
        self._values.pop(key, None)
        value = await self._redis.getdel(key)
        self._values[key] = None
        return value

    async def delete(self, *names: str) -> int:
        for n in names:
            self._values.pop(n, None)
        count = await self._redis.delete(*names)
        self._values.update(dict.fromkeys(names))
        return count

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        self._values.clear()  # a pipeline may write anything: stop answering from memory
        return self._redis.pipeline(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)


@dataclass
class Context:
    msg: Incoming
    services: Services
    _view: StateView | None = field(default=None, repr=False)

    @property
    def redis(self) -> Redis:
        return self._view if self._view is not None else self.services.redis  # type: ignore[return-value]

    async def prefetch(self) -> None:
        """Read the user's usual keys in one round trip (see PREFETCH)."""
        names = [key(self.user) for key in PREFETCH]
        values = await self.services.redis.mget(names)
        self._view = StateView(self.services.redis, dict(zip(names, values, strict=True)))

    @property
    def user(self) -> str:
        return self.msg.user

    def now(self) -> datetime:
        return self.services.clock()

    @cached_property
    def nlu(self) -> ParseResult:
        from bot.nlu import parse

        return parse(self.msg.text, today=self.now().date())

    async def remember_location(self, where: Location) -> None:
        value = json.dumps({"lat": where.lat, "lng": where.lng, "label": where.label})
        await self.redis.set(keys.location(self.user), value, ex=LOCATION_TTL)

    async def last_location(self) -> Location | None:
        raw = await self.redis.get(keys.location(self.user))
        if not raw:
            return None
        data = json.loads(raw)
        return Location(float(data["lat"]), float(data["lng"]), data.get("label", ""))

    async def wait_for_location(self, action: str, payload: dict[str, Any]) -> None:
        """Remember that `action` should run, with `payload`, once the user's location arrives."""
        value = json.dumps({"action": action, "payload": payload}, ensure_ascii=False)
        await self.redis.set(keys.pending(self.user), value, ex=PENDING_TTL)

    async def take_pending(self) -> tuple[str, dict[str, Any]] | None:
        raw = await self.redis.getdel(keys.pending(self.user))
        if not raw:
            return None
        data = json.loads(raw)
        return data["action"], data["payload"]

    async def clear_pending(self) -> bool:
        return bool(await self.redis.delete(keys.pending(self.user)))
