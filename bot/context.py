"""What a handler can use while answering one message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from bot import turns
from bot.messages import Incoming, Kind, Location
from bot.turns import Turn
from community.clock import SHANGHAI as SHANGHAI  # re-exported: older imports
from infra import jsontext, keys
from infra.redis_lane import Script

if TYPE_CHECKING:
    from bot.nlu import ParseResult
    from bot.router import Router
    from settings import Settings

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
    # The app's settings (None for a bare bot in unit tests: features fall back to defaults).
    settings: Settings | None = None
    # The root router, set by Bot: system routes re-dispatch a menu click or resume a pending
    # action through it without importing the dispatcher.
    router: Router | None = None

    def root_router(self) -> Router:
        if self.router is None:
            raise RuntimeError("no root router: Services are wired by bot.dispatch.Bot")
        return self.router


# The per-conversation keys most messages read (form state, a pending action, the last location,
# ...): read with one MGET when a message arrives instead of one GET each; each builder is called
# with Context.conv. Features add theirs.
PREFETCH: list[Callable[[str], str]] = [keys.form, keys.pending, keys.location]

# What a conversation's recent memory keeps (keys.recent): exchanges, characters of each side.
RECENT_KEEP = 5
RECENT_CHARS = 80
RECENT_TTL = 24 * 3600


# Claim a message (SET NX) and, only if it is ours, take the user's turn (bot/turns.py) and,
# only if that was free, read the prefetch keys: one round trip. false: claimed before;
# {0}: ours, but another message of the user's is being answered; {1, values...}: go.
_CLAIM = Script(
    b"""
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return false end
if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then return {0} end
local out = {1}
if #KEYS > 2 then
  local values = redis.call('MGET', unpack(KEYS, 3))
  for i = 1, #KEYS - 2 do out[i + 1] = values[i] end
end
return out
"""
)

# Store the answer under the claim (unless the claim moved on, e.g. the answer went out as a
# customer-service message), apply the message's deferred writes, then give the user's turn
# back (if still ours): one round trip.
_FINISH = Script(
    b"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
for i = 3, #KEYS do  -- three arguments each: what to do, a value, a number of seconds
  local op, value, ex = ARGV[3 * i - 4], ARGV[3 * i - 3], ARGV[3 * i - 2]
  if op == 's' then
    redis.call('SET', KEYS[i], value, 'EX', ex)
  elseif op == 'c' then  -- a count (count_later): add one to a hash field
    redis.call('HINCRBY', KEYS[i], value, 1)
    redis.call('EXPIRE', KEYS[i], ex)
  else  -- 'l<keep>' (push_later): append to a list that keeps its last <keep> items
    redis.call('RPUSH', KEYS[i], value)
    redis.call('LTRIM', KEYS[i], -tonumber(string.sub(op, 2)), -1)
    redis.call('EXPIRE', KEYS[i], ex)
  end
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return 1
"""
)


@dataclass(frozen=True)
class Once:
    """A message that must be answered once however often it is delivered (WeChat retries):
    `key` holds `pending` while the first delivery is being answered, then the answer."""

    key: str
    pending: str
    ttl: int


class StateView:
    """Redis as one message sees it: the prefetched keys answer `get` from memory until this
    message writes them; everything else goes straight to Redis.

    `set_later` writes are kept in memory and written together when the message is answered
    (with the answer itself under a `Once` claim): for state only later messages read."""

    def __init__(self, redis: Redis, values: dict[str, Any]) -> None:
        self._redis = redis
        self._values = values
        self._later: dict[str, tuple[str, int]] = {}
        self._counts: list[tuple[str, str, int]] = []
        self._pushes: list[tuple[str, str, int, int]] = []

    def set_later(self, key: str, value: str, ex: int) -> None:
        self._values[key] = value
        self._later[key] = (value, ex)

    def count_later(self, key: str, member: str, ex: int) -> None:
        """Add one to `member` of the hash `key` (kept `ex` seconds) with the answer: a tally
        (e.g. how often a craftsman was shown) that costs the message no round trip."""
        self._counts.append((key, member, ex))

    def push_later(self, key: str, value: str, keep: int, ex: int) -> None:
        """Append `value` to the list `key`, which keeps its last `keep` items for `ex` seconds,
        with the answer (no round trip, and no need to read the list first)."""
        self._pushes.append((key, value, keep, ex))

    def _drop_later(self, *names: str) -> None:
        for n in names:
            self._later.pop(n, None)

    async def flush(self) -> None:
        """Write what `set_later` kept (one round trip)."""
        if not self._later and not self._counts and not self._pushes:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, (value, ex) in self._later.items():
                pipe.set(key, value, ex=ex)
            for key, member, ex in self._counts:
                pipe.hincrby(key, member, 1)
                pipe.expire(key, ex)
            for key, value, keep, ex in self._pushes:
                pipe.rpush(key, value)
                pipe.ltrim(key, -keep, -1)
                pipe.expire(key, ex)
            await pipe.execute()
        self.discard_later()

    async def finish(self, once: Once, answer: str, turn: Turn | None = None) -> None:
        """Store `answer` under the claim, write what `set_later` kept and give back `turn`
        (one round trip)."""
        names = [once.key, turn.key if turn else once.key, *self._later]
        args: list[Any] = [once.pending, answer, once.ttl, turn.token if turn else ""]
        for value, ex in self._later.values():
            args += ["s", value, ex]
        for key, member, ex in self._counts:
            names.append(key)
            args += ["c", member, ex]
        for key, value, keep, ex in self._pushes:
            names.append(key)
            args += [f"l{keep}", value, ex]
        await _FINISH(keys=names, args=args, client=self._redis)
        self.discard_later()

    def discard_later(self) -> None:
        self._later.clear()
        self._counts.clear()
        self._pushes.clear()

    async def get(self, key: str) -> Any:
        if key in self._values:
            return self._values[key]
        return await self._redis.get(key)

    async def exists(self, *names: str) -> int:
        if names and all(n in self._values for n in names):
            return sum(self._values[n] is not None for n in names)
        count: int = await self._redis.exists(*names)
        return count

    async def set(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self._values.pop(key, None)
        self._drop_later(key)
        return await self._redis.set(key, *args, **kwargs)

    async def getdel(self, key: str) -> Any:
        if key in self._later:
            value = self._later.pop(key)[0]
            await self._redis.delete(key)
        else:
            self._values.pop(key, None)
            value = await self._redis.getdel(key)
        self._values[key] = None
        return value

    async def delete(self, *names: str) -> int:
        values = self._values
        if all(n in values and values[n] is None for n in names):
            # Absent as far as this message knows (prefetched so, or deleted already): what
            # `get` answers from memory, so no round trip. A search clears two such keys.
            return 0
        for n in names:
            self._values.pop(n, None)
        kept = [n for n in names if n in self._later]  # exist as far as this message knows
        self._drop_later(*kept)
        others = [n for n in names if n not in kept]
        count = len(kept) + (await self._redis.delete(*others) if others else 0)
        if kept:
            await self._redis.delete(*kept)  # an older value in Redis goes too
        self._values.update(dict.fromkeys(names))
        return count

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        # A pipeline may write anything: stop answering from memory (what `set_later` kept is
        # still written at the end: it is for keys nothing else in the message writes).
        self._values = {k: v for k, v in self._values.items() if k in self._later}
        return self._redis.pipeline(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)


@dataclass
class Context:
    msg: Incoming
    services: Services
    _view: StateView | None = field(default=None, repr=False)
    # The user's turn (bot/turns.py), taken with the prefetch; `_waiting` when the claim found
    # it taken and `take_turn` must wait for it before anything reads the user's state.
    turn: Turn | None = field(default=None, repr=False)
    _waiting: bool = field(default=False, repr=False)

    @property
    def state(self) -> StateView:
        """This message's view of Redis (see StateView)."""
        if self._view is None:
            self._view = StateView(self.services.redis, {})
        return self._view

    @property
    def redis(self) -> Redis:
        """Redis for handlers: the StateView, which behaves as the client it wraps."""
        return self.state  # type: ignore[return-value]

    async def prefetch(self) -> None:
        """Take the user's turn (waiting while another of their messages is answered) and read
        their usual keys, in one round trip when the turn is free (see PREFETCH)."""
        turn = Turn.of(self.user)
        names = [key(self.conv) for key in PREFETCH]
        values = await turns.wait(self.services.redis, turn, names)
        self.turn = turn
        self._view = StateView(self.services.redis, dict(zip(names, values, strict=True)))

    async def take_turn(self) -> None:
        """After a claim that found the user busy: wait for the turn, then read the keys."""
        if not self._waiting or self.turn is None:
            return
        names = [key(self.conv) for key in PREFETCH]
        values = await turns.wait(self.services.redis, self.turn, names)
        self._view = StateView(self.services.redis, dict(zip(names, values, strict=True)))
        self._waiting = False

    async def give_back_turn(self) -> None:
        if self.turn is not None:
            await turns.give_back(self.services.redis, self.turn)

    async def claim(self, once: Once) -> bool:
        """Claim the message and prefetch (one round trip); False if it was claimed before."""
        turn = Turn.of(self.user)
        names = [key(self.conv) for key in PREFETCH]
        found = await _CLAIM(
            keys=[once.key, turn.key, *names],
            args=[once.pending, once.ttl, turn.token, turns.LEASE_MS],
            client=self.services.redis,
        )
        if found is None:
            return False
        self.turn = turn
        if found[0]:
            values = found[1:]
            self._view = StateView(self.services.redis, dict(zip(names, values, strict=True)))
        else:
            self._waiting = True
        return True

    @property
    def user(self) -> str:
        """Who is talking: the person (their User row is `openid=user`), whatever the chat."""
        return self.msg.user

    @property
    def conv(self) -> str:
        """Whose conversation state this is: one member in one chat (see Incoming.conversation).
        Forms, pending actions, locations and scratch keys are built from it; on the Official
        Account it is the openid itself."""
        return self.msg.conversation

    def now(self) -> datetime:
        return self.services.clock()

    @cached_property
    def nlu(self) -> ParseResult:
        from bot.nlu import parse

        return parse(self.msg.text, today=self.now().date())

    async def recent(self) -> list[dict[str, str]]:
        """The last few exchanges before this message, oldest first: {"at", "said", "answer"}."""
        out: list[dict[str, str]] = []
        for raw in await self.state.lrange(keys.recent(self.conv), 0, -1):
            try:
                said = jsontext.loads(raw)
            except ValueError:
                continue
            if isinstance(said, dict):
                out.append(said)
        return out

    async def remember_exchange(self, answer: str) -> None:
        """Keep this text message and its answer among the last few (written with the answer:
        no round trip of its own), for a person the user asks for later."""
        if self.msg.kind is not Kind.TEXT or not self.msg.text.strip():
            return
        said = {
            "at": f"{self.now():%m-%d %H:%M}",
            "said": self.msg.text.strip()[:RECENT_CHARS],
            "answer": answer.strip()[:RECENT_CHARS],
        }
        self.state.push_later(keys.recent(self.conv), jsontext.dumps(said), RECENT_KEEP, RECENT_TTL)

    async def remember_location(self, where: Location) -> None:
        if not where.usable:  # never keep NaN or out-of-range coordinates
            return
        value = jsontext.dumps({"lat": where.lat, "lng": where.lng, "label": where.label})
        await self.redis.set(keys.location(self.conv), value, ex=LOCATION_TTL)

    async def last_location(self) -> Location | None:
        raw = await self.redis.get(keys.location(self.conv))
        if not raw:
            return None
        try:
            data = jsontext.loads(raw)
            where = Location(float(data["lat"]), float(data["lng"]), data.get("label", ""))
        except (ValueError, TypeError, KeyError):  # a NaN kept before the check (not JSON)
            return None  # ask again
        return where if where.usable else None  # an infinity kept before the check: ask again

    async def wait_for_location(self, action: str, payload: dict[str, Any]) -> None:
        """Remember that `action` should run, with `payload`, once the user's location arrives."""
        value = jsontext.dumps({"action": action, "payload": payload})
        await self.redis.set(keys.pending(self.conv), value, ex=PENDING_TTL)

    async def take_pending(self) -> tuple[str, dict[str, Any]] | None:
        raw = await self.redis.getdel(keys.pending(self.conv))
        if not raw:
            return None
        data = jsontext.loads(raw)
        return data["action"], data["payload"]

    async def has_pending(self) -> bool:
        """Something waits for the user's location (a search asked "where are you")."""
        return bool(await self.redis.exists(keys.pending(self.conv)))

    async def clear_pending(self) -> bool:
        return bool(await self.redis.delete(keys.pending(self.conv)))
