"""The bot: one entry point, `Bot.handle(Incoming) -> list[Reply]`, for every channel."""

from __future__ import annotations

import logging
import time

from bot import clarify, fallback, system, texts
from bot.context import Context, Once, Services
from bot.messages import Incoming, Reply, join_texts
from bot.router import Router
from infra import jsontext

log = logging.getLogger(__name__)


def build_router(*features: Router) -> Router:
    """System routes first (cancel, forms, locations, events), then features, then fallbacks;
    a feature router made `before_system` (emergencies) comes before everything."""
    root = Router("root")
    for feature in features:
        if feature.before_system:
            root.include_router(feature)
    root.include_router(system.router)
    root.include_router(clarify.router)  # "1"/"2" answering bot.clarify's question
    for feature in features:
        if not feature.before_system:
            root.include_router(feature)
    root.include_router(fallback.router)
    return root


async def _give_back(ctx: Context) -> None:
    """Give the user's turn back; if Redis fails here, the turn's lease frees it anyway."""
    try:
        await ctx.give_back_turn()
    except Exception:
        log.warning("turn not given back (its lease will end)", exc_info=True)


class Bot:
    def __init__(self, services: Services, router: Router) -> None:
        """`router` is the app's root router: `build_router(*features)`, composed by the app
        factory, so the bot never imports a feature."""
        self.services = services
        self.use_router(router)

    def use_router(self, router: Router) -> None:
        self.router = router
        self.services.router = router

    async def handle(self, msg: Incoming) -> list[Reply]:
        """Answer one message. Never raises: a failure becomes a polite apology."""
        ctx = Context(msg, self.services)
        try:
            await ctx.prefetch()  # waits for the user's turn: one message at a time per user
        except Exception:
            log.exception("state unavailable", extra={"kind": msg.kind.value})
            return [Reply(texts.ERROR)]
        try:
            replies = await self._answer(ctx)
            try:
                await ctx.state.flush()
            except Exception:
                log.exception("state not saved", extra={"kind": msg.kind.value})
                return [Reply(texts.ERROR)]
            return replies
        finally:
            await _give_back(ctx)

    async def claim(self, msg: Incoming, once: Once) -> Context | None:
        """Start answering a message that may be delivered again: None if it was claimed
        before. Redis errors propagate (the transport answers 503 and the sender retries)."""
        ctx = Context(msg, self.services)
        return ctx if await ctx.claim(once) else None

    async def answer_claimed(self, ctx: Context, once: Once) -> str:
        """Answer a claimed message; its text is stored under the claim for later deliveries,
        in the same round trip as the message's deferred writes and the user's turn given back.
        Redis errors propagate."""
        try:
            await ctx.take_turn()  # when the claim found another of the user's messages going
            text = join_texts(await self._answer(ctx))
            await ctx.state.finish(once, jsontext.dumps(text), ctx.turn)
        except BaseException:
            await _give_back(ctx)
            raise
        return text

    async def _answer(self, ctx: Context) -> list[Reply]:
        """Run the router. Never raises: a failure becomes a polite apology (and the failed
        message's deferred writes are dropped, so nothing half-done is kept)."""
        started = time.perf_counter()
        msg = ctx.msg
        try:
            replies = await self.router.dispatch(ctx) or []
        except Exception:
            log.exception("handler failed", extra={"kind": msg.kind.value, "event": msg.event})
            ctx.state.discard_later()
            replies = [Reply(texts.ERROR)]
        try:  # memory only (written with the answer): 转人工 hands these to a person
            await ctx.remember_exchange(join_texts(replies))
        except Exception:
            log.warning("recent exchange not kept", exc_info=True)
        if log.isEnabledFor(logging.DEBUG):
            ms = round((time.perf_counter() - started) * 1000, 2)
            log.debug("handled", extra={"kind": msg.kind.value, "ms": ms})
        return replies
