"""One Redis connection that carries many commands at once, for the scripts every message runs.

redis-py's asyncio client takes a connection from its pool for each command, checks it for
stale data, sends, waits for the reply and gives the connection back: about 58 µs of CPU per
EVALSHA on this machine with 32 messages in flight, three times per message. Redis answers
the commands of one connection in order, so a single connection can carry them all at once
(pipelining, as the old aioredis did): each call writes its command and waits on a future;
replies are read by hiredis (the C parser redis-py itself uses) and handed to the futures in
order. The same EVALSHA costs about 3 µs of CPU that way.

The app's client is `LaneRedis`: redis-py's client, whose ordinary commands (and the scripts,
through `Script`) go over a lane, with redis-py's own reply handling; blocking and stateful
commands, pipelines and pub/sub keep redis-py's pooled connections. A lane is made per
connection pool and event loop, from the pool's own connection settings (TCP or unix socket,
db, credentials), and redis-py does the work where a lane cannot speak for the pool (TLS, a
custom connection class, an encoding other than UTF-8).
A lost connection fails the calls in flight with redis-py's ConnectionError (nothing is
retried: a claim is not idempotent), and the next call connects again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import weakref
from collections import Counter, deque
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import (
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, NoScriptError, ResponseError


class _Protocol(asyncio.Protocol):
    def __init__(self, lane: Lane) -> None:
        self._lane = lane
        decode = {"encoding": "utf-8"} if lane._settings.get("decode_responses") else {}
        self._reader = hiredis.Reader(
            protocolError=InvalidResponse, replyError=ResponseError, **decode
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._lane._made(transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        waiting = self._lane._waiting
        while (reply := self._reader.gets()) is not False:
            if not waiting:  # a reply nobody asked for: the stream is out of step
                self._lane._lost(InvalidResponse("unexpected reply from Redis"))
                return
            future = waiting.popleft()
            if future.done():  # its caller gave up (cancelled): the reply is dropped
                continue
            if isinstance(reply, ResponseError):
                future.set_exception(_error(str(reply)))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        lane = self._lane
        if lane._transport is self._transport:  # not an older connection's late goodbye
            lane._lost(RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}"))
        if lane._gone is not None and not lane._gone.done():
            lane._gone.set_result(None)


def _error(message: str) -> ResponseError:
    return NoScriptError(message) if message.startswith("NOSCRIPT") else ResponseError(message)


class Lane:
    """A pipelined connection: `await lane.call("EVALSHA", sha, 1, key, arg)`."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self._settings = settings
        self._transport: asyncio.Transport | None = None
        self._waiting: deque[asyncio.Future[Any]] = deque()
        # Commands sent in this turn of the event loop, written together at its end: with
        # many messages in flight, one write (one system call, one read for Redis) carries
        # the claims, searches and answers of all of them.
        self._out: list[bytes] = []
        self._lock = asyncio.Lock()
        self._closed = False
        self._gone: asyncio.Future[None] | None = None  # set when closing: the server let go
        self.loop = asyncio.get_running_loop()
        self.sent: Counter[str] = Counter()  # commands sent, by name (for tests and benches)

    # -- the connection ----------------------------------------------------------------------

    def _made(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def _lost(self, error: Exception) -> None:
        transport, self._transport = self._transport, None
        self._out = []  # never written to a later connection: their callers fail below
        waiting, self._waiting = self._waiting, deque()
        for future in waiting:
            if not future.done():
                future.set_exception(error)
        if transport is not None:
            transport.abort()

    async def _connect(self) -> None:
        s = self._settings
        if s.get("path"):
            await self.loop.create_unix_connection(lambda: _Protocol(self), s["path"])
        else:
            await self.loop.create_connection(
                lambda: _Protocol(self), s.get("host") or "localhost", int(s.get("port") or 6379)
            )
        hello: list[asyncio.Future[Any]] = []
        if s.get("password"):
            auth = (s["username"], s["password"]) if s.get("username") else (s["password"],)
            hello.append(self._send("AUTH", *auth))
        if int(s.get("db") or 0):
            hello.append(self._send("SELECT", int(s["db"])))
        for reply in hello:
            await reply

    async def _ensure(self) -> None:
        async with self._lock:  # one connection attempt at a time; the others wait for it
            if self._transport is not None and not self._transport.is_closing():
                return
            try:
                await self._connect()
            except (OSError, ResponseError, RedisConnectionError) as exc:
                self._lost(RedisConnectionError(f"cannot connect to Redis: {exc}"))
                raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc

    def _send(self, *args: Any) -> asyncio.Future[Any]:
        assert self._transport is not None
        future = self.loop.create_future()
        out = self._out
        out.append(hiredis.pack_command(args))
        if len(out) == 1:
            self.loop.call_soon(self._write)
        self._waiting.append(future)
        self.sent[str(args[0])] += 1
        return future

    def _write(self) -> None:
        out, self._out = self._out, []
        if out and self._transport is not None:
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))

    # -- calls -------------------------------------------------------------------------------

    async def call(self, *args: Any) -> Any:
        """Send one command and wait for its reply (other calls may be in flight meanwhile)."""
        if self._transport is None or self._transport.is_closing():
            if self._closed:
                raise RedisConnectionError("the Redis lane is closed (the app is stopping)")
            await self._ensure()
        return await self._send(*args)

    def close(self) -> None:
        """Close at once (the server notices the connection go in its own time)."""
        self._closed = True
        self._lost(RedisConnectionError("lane closed"))

    async def aclose(self, wait: float = 2.0) -> None:
        """Close, and wait until Redis itself has let go of the connection: QUIT, which Redis
        answers and then closes its side. The embedded server stops only when no client is
        connected, so closing our end alone could leave it running."""
        self._closed = True
        transport = self._transport
        if transport is not None and not transport.is_closing():
            self._gone = self.loop.create_future()
            bye = self._send("QUIT")
            bye.add_done_callback(_retrieved)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._gone), wait)
        self._lost(RedisConnectionError("lane closed"))


_LANES: weakref.WeakKeyDictionary[ConnectionPool, Lane] = weakref.WeakKeyDictionary()
_SETTINGS = ("host", "port", "path", "db", "username", "password", "decode_responses")


def lane_of(client: Redis) -> Lane | None:
    """The lane for this client's connection pool on the running loop; None where a lane
    cannot speak for the pool (TLS or another connection class): use redis-py then."""
    pool = client.connection_pool
    lane = _LANES.get(pool)
    if lane is not None and lane.loop is asyncio.get_running_loop():
        return lane
    kind = pool.connection_class
    if issubclass(kind, SSLConnection) or not issubclass(
        kind, (Connection, UnixDomainSocketConnection)
    ):
        return None
    kwargs = pool.connection_kwargs
    if kwargs.get("ssl") or kwargs.get("credential_provider"):
        return None
    if str(kwargs.get("protocol") or 2) != "2":  # RESP3 replies take redis-py's own parsing
        return None
    if kwargs.get("decode_responses") and (
        kwargs.get("encoding", "utf-8").lower().replace("-", "") != "utf8"
        or kwargs.get("encoding_errors", "strict") != "strict"
    ):
        return None
    lane = Lane({k: kwargs.get(k) for k in _SETTINGS})
    _LANES[pool] = lane
    return lane


async def close_lane(client: Redis) -> None:
    """Close the lane of this client's pool (when the app stops)."""
    lane = _LANES.pop(client.connection_pool, None)
    if lane is not None:
        await lane.aclose()


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # a reply nobody awaits: seen, so never "never retrieved"


class Script:
    """A Lua script run by EVALSHA over the lane (EVAL once when Redis does not know it yet).
    Used like redis-py's AsyncScript: `await SCRIPT(keys=[...], args=[...], client=redis)`."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.sha = hashlib.sha1(source).hexdigest()

    async def __call__(self, *, keys: list[Any], args: list[Any], client: Any) -> Any:
        real: Redis = getattr(client, "_redis", client)  # a StateView wraps the client
        lane = lane_of(real)
        if lane is None:
            try:
                return await real.evalsha(self.sha, len(keys), *keys, *args)  # type: ignore[misc]
            except NoScriptError:
                return await real.eval(self.source.decode(), len(keys), *keys, *args)  # type: ignore[misc]
        try:
            return await lane.call("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await lane.call("EVAL", self.source, len(keys), *keys, *args)


# Commands that block their connection, change its state or stream to it: never on the lane.
_OWN_CONNECTION = frozenset(
    {
        "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP",
        "XREAD", "XREADGROUP", "WAIT", "WAITAOF", "SELECT", "AUTH", "HELLO", "RESET", "CLIENT",
        "MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE",
        "SUNSUBSCRIBE", "WATCH", "UNWATCH", "MULTI", "EXEC", "DISCARD", "QUIT", "SHUTDOWN",
        "DEBUG", "SYNC", "PSYNC", "REPLICAOF", "SLAVEOF",
    }
)  # fmt: skip
_PLAIN = (str, bytes, int, float)


class LaneRedis(Redis):
    """redis-py's client, whose ordinary commands go over the lane: the same commands, replies
    and response callbacks, without a pool checkout per command. Blocking and stateful
    commands, pipelines, pub/sub and undecoded replies keep redis-py's own connections."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        name = args[0]
        if (
            self.single_connection_client
            or not isinstance(name, str)
            or name.partition(" ")[0].upper() in _OWN_CONNECTION
            or NEVER_DECODE in options
            or not all(type(a) in _PLAIN for a in args)  # bool, None...: redis-py's DataError
        ):
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        lane = lane_of(self)
        if lane is None:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        # redis-py names some commands with their subcommand ("SCRIPT FLUSH", "CONFIG GET").
        wire = (*name.split(), *args[1:]) if " " in name else args
        try:
            response = await lane.call(*wire)
        except ResponseError:
            if EMPTY_RESPONSE in options:
                return options[EMPTY_RESPONSE]
            raise
        options.pop(EMPTY_RESPONSE, None)
        options.pop("keys", None)
        callback = self.response_callbacks.get(name)
        if callback is None:
            return response
        result = callback(response, **options)
        return await result if inspect.isawaitable(result) else result
