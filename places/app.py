"""The places' part of the app's start-up: the search index is rebuilt from the database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from handlers.appkeys import redis_key
from places import index

log = logging.getLogger(__name__)


async def index_ctx(app: web.Application) -> AsyncIterator[None]:
    """The place search index is rebuilt from the database (the truth) at every start."""
    count = await index.rebuild(app[redis_key])
    log.info("place index rebuilt", extra={"places": count})
    yield
