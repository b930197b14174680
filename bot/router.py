"""Routers with filters, first match wins (aiogram-style).

Each feature package exposes one `router`; `bot.dispatch.build_router` includes them in an
explicit order. A handler takes the Context and returns text, Reply, a list of them, or None.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any

from bot.acts import strip_filler
from bot.context import Context
from bot.messages import Kind, Reply, as_replies

# Sequence (covariant), so a handler may return list[Reply] or list[str] as it is.
HandlerResult = Reply | str | Sequence[Reply | str] | None
Handler = Callable[[Context], Awaitable[HandlerResult]]
Resumer = Callable[[Context, dict[str, Any]], Awaitable[HandlerResult]]
Filter = Callable[[Context], bool | Awaitable[bool]]


Route = tuple[tuple[Filter, ...], Handler]

# Bumped whenever any router gains a route or a child: every router's flattened order (see
# `Router._in_order`) is worked out again on its next message.
_changes = [0]


class Router:
    def __init__(self, name: str, *, before_system: bool = False) -> None:
        self.name = name
        # Tried before the system routes (cancel, forms): emergencies, whatever the state.
        self.before_system = before_system
        self._routes: list[tuple[tuple[Filter, ...], Handler]] = []
        # Routes whose words mean one thing only ("我反映的事怎么样了", "删除我的信息"): a form in
        # progress answers them as a question asked in passing, never as its step's answer.
        self._anywhere: list[tuple[Filter, ...]] = []
        self._children: list[Router] = []
        self._resumers: dict[str, Resumer] = {}
        # Own routes then each child's, depth first (the order `dispatch` tries them), and
        # the same for `_anywhere`, as of `_changes[0]`: a message walks one flat list.
        self._order: tuple[int, list[Route], list[tuple[Filter, ...]]] | None = None

    def __repr__(self) -> str:
        return f"Router({self.name!r})"

    def message(
        self, *filters: Filter, anywhere: bool | Filter = False
    ) -> Callable[[Handler], Handler]:
        """Register a handler that runs when every filter passes; with `anywhere`, also in the
        middle of a form (the form asks its step again after the answer). `anywhere` may be a
        stricter filter that says when a form gives way (a volunteer's "今天去不成了", not a
        resident's)."""

        def register(handler: Handler) -> Handler:
            _changes[0] += 1
            self._routes.append((filters, handler))
            if anywhere is True:
                self._anywhere.append(filters)
            elif anywhere is not False:
                self._anywhere.append((*filters, anywhere))
            return handler

        return register

    async def wanted_anywhere(self, ctx: Context) -> bool:
        """Some route registered `anywhere` (here or in an included router) takes the message."""
        for filters in self._in_order()[2]:
            if await _passes(filters, ctx):
                return True
        return False

    def _in_order(self) -> tuple[int, list[Route], list[tuple[Filter, ...]]]:
        order = self._order
        if order is None or order[0] != _changes[0]:
            routes, anywhere = list(self._routes), list(self._anywhere)
            for child in self._children:
                _, more, more_anywhere = child._in_order()
                routes += more
                anywhere += more_anywhere
            order = self._order = (_changes[0], routes, anywhere)
        return order

    def on_resume(self, action: str) -> Callable[[Resumer], Resumer]:
        """Register what carries on a pending `action` once the awaited input arrives."""

        def register(handler: Resumer) -> Resumer:
            self._resumers[action] = handler
            return handler

        return register

    def include_router(self, router: Router) -> Router:
        if router is self or router in self._children:
            raise ValueError(f"{router!r} is already included in {self!r}")
        _changes[0] += 1
        self._children.append(router)
        return router

    def find_resumer(self, action: str) -> Resumer | None:
        if action in self._resumers:
            return self._resumers[action]
        for child in self._children:
            found = child.find_resumer(action)
            if found is not None:
                return found
        return None

    async def dispatch(self, ctx: Context) -> list[Reply] | None:
        """Run the first matching handler (own routes, then children in order)."""
        # Every message meets dozens of filters on its way, most of them plain functions that
        # answer True or False: those are taken as they are, without a coroutine per route,
        # and the included routers' routes are one list, without a coroutine per router.
        for filters, handler in self._in_order()[1]:
            for check in filters:
                ok = check(ctx)
                if ok is True:
                    continue
                if ok is not False and inspect.isawaitable(ok):
                    ok = await ok
                if not ok:
                    break
            else:
                return as_replies(await handler(ctx))
        return None


async def _passes(filters: tuple[Filter, ...], ctx: Context) -> bool:
    for check in filters:
        ok = check(ctx)
        if ok is not True and ok is not False and inspect.isawaitable(ok):
            ok = await ok
        if not ok:
            return False
    return True


# ---- filters ---------------------------------------------------------------------------------


def kind(*kinds: Kind) -> Filter:
    return lambda ctx: ctx.msg.kind in kinds


def event(*names: str) -> Filter:
    wanted = {n.lower() for n in names}
    return lambda ctx: ctx.msg.kind is Kind.EVENT and ctx.msg.event in wanted


def intent(*names: str) -> Filter:
    """The message means one of `names`, and the parser is sure of it (an unsure parse falls
    through to the fallback router, which asks which reading is meant: bot.clarify). Danger is
    never kept waiting for an answer."""
    wanted = set(names)
    return lambda ctx: (
        ctx.msg.kind is Kind.TEXT
        and bool(ctx.msg.text.strip())
        and (ctx.nlu.intent in wanted)
        and (ctx.nlu.confident or ctx.nlu.intent == "emergency")
    )


_TRAILING = "。.!！?？~～ 　呀啊吧呢哈嘛啦了"


@lru_cache(maxsize=256)  # a message meets dozens of `words` filters: strip it once
def command_text(text: str) -> str:
    """Text with surrounding spaces, punctuation, trailing particles and a voice message's
    leading filler ("嗯 那个 就是说 …") removed."""
    return strip_filler(text.strip()).rstrip(_TRAILING).strip()


def said(ctx: Context) -> str:
    """What a text message says, as `command_text` reads it; "" for a location, voice, event."""
    msg = ctx.msg
    text = msg.memo.get("said")  # dozens of filters ask: worked out once per message
    if text is None:
        text = msg.memo["said"] = command_text(msg.text) if msg.kind is Kind.TEXT else ""
    return text


_PUNCT = "。.!！?？~～ 　，,"


def words(*options: str) -> Filter:
    """The whole message is one of `options` (ignoring punctuation and trailing particles).

    Compared with and without the particles stripped: "算了" and "不要了" end in 了, which
    `command_text` would strip to "算" and "不要"."""
    wanted = set(options)
    return lambda ctx: ctx.msg.kind is Kind.TEXT and (
        command_text(ctx.msg.text) in wanted or ctx.msg.text.strip(_PUNCT) in wanted
    )
