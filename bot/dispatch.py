"""The bot: one entry point, `Bot.handle(Incoming) -> list[Reply]`, for every channel."""

from __future__ import annotations

import logging
import time

from bot import fallback, system, texts
from bot.context import Context, Services
from bot.messages import Incoming, Reply
from bot.router import Router

log = logging.getLogger(__name__)


def build_router(*features: Router) -> Router:
    """System routes first (cancel, forms, locations, events), then features, then fallbacks."""
    root = Router("root")
    root.include_router(system.router)
    for feature in features:
        root.include_router(feature)
    root.include_router(fallback.router)
    return root


def default_features() -> list[Router]:
    """Feature routers in priority order; each feature package exposes one `router`."""
    from canteen.router import router as canteen
    from craftsman_directory.router import router as directory
    from delivery.router import router as delivery
    from grid.router import router as grid

    # Delivery first: a volunteer's "3 送到" is a report, not a sign-up.
    return [delivery, canteen, directory, grid]


def current_router(ctx: Context) -> Router:
    return ctx.services.extras["router"]


class Bot:
    def __init__(self, services: Services, router: Router | None = None) -> None:
        self.services = services
        self.use_router(router or build_router(*default_features()))

    def use_router(self, router: Router) -> None:
        self.router = router
        self.services.extras["router"] = router

    async def handle(self, msg: Incoming) -> list[Reply]:
        """Answer one message. Never raises: a failure becomes a polite apology."""
        started = time.perf_counter()
        ctx = Context(msg, self.services)
        try:
            await ctx.prefetch()
            replies = await self.router.dispatch(ctx) or []
        except Exception:
            log.exception("handler failed", extra={"kind": msg.kind.value, "event": msg.event})
            replies = [Reply(texts.ERROR)]
        log.debug(
            "handled",
            extra={"kind": msg.kind.value, "ms": round((time.perf_counter() - started) * 1000, 2)},
        )
        return replies
