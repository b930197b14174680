"""Routers with filters, first match wins (aiogram-style).

Each feature package exposes one `router`; `bot.dispatch.build_router` includes them in an
explicit order. A handler takes the Context and returns text, Reply, a list of them, or None.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from bot.acts import strip_filler
from bot.context import Context
from bot.messages import Kind, Reply, as_replies

# Sequence (covariant), so a handler may return list[Reply] or list[str] as it is.
HandlerResult = Reply | str | Sequence[Reply | str] | None
Handler = Callable[[Context], Awaitable[HandlerResult]]
Resumer = Callable[[Context, dict[str, Any]], Awaitable[HandlerResult]]
Filter = Callable[[Context], bool | Awaitable[bool]]
F = TypeVar("F", bound=Callable[..., Any])


Route = tuple[tuple[Filter, ...], Handler]
# What a message must be for a filter to pass, declared by the filter makers below (see
# `gated`): its kinds, the parser's intents, the command texts (`said`, or the text without
# punctuation, as `words` reads it), a test of `said` (a compiled pattern's match). A route is
# not even tried for a message its gates rule out: one dict or set lookup, or one C call,
# instead of a call into its filter, most of whose answers are "no".
class _Gates(NamedTuple):
    kinds: frozenset[Kind] | None = None
    intents: frozenset[str] | None = None
    texts: frozenset[str] | None = None
    test: Callable[[str], object] | None = None


# A route as `dispatch` walks it: its gates, its first filter, the others, the handler.
_Walked = tuple[_Gates, Filter, tuple[Filter, ...], Handler]

# Bumped whenever any router gains a route or a child: every router's flattened order (see
# `Router._in_order`) is worked out again on its next message.
_changes = [0]
_NO_GATES = _Gates()


def _always(ctx: Context) -> bool:
    return True


def _gates(filters: tuple[Filter, ...]) -> _Gates:
    """A route's gates: each filter's must hold, so kinds and intents (one value per message)
    are intersected; of texts and tests, the first filter's stands for them."""
    kinds: frozenset[Kind] | None = None
    intents: frozenset[str] | None = None
    texts: frozenset[str] | None = None
    test: Callable[[str], object] | None = None
    for f in filters:
        g: _Gates | None = getattr(f, "gates", None)
        if g is None:
            continue
        if g.kinds is not None:
            kinds = g.kinds if kinds is None else kinds & g.kinds
        if g.intents is not None:
            intents = g.intents if intents is None else intents & g.intents
        texts = texts if texts is not None else g.texts
        test = test if test is not None else g.test
    return _Gates(kinds, intents, texts, test)


def gated(
    check: F,
    *,
    kinds: Iterable[Kind] | None = None,
    intents: Iterable[str] | None = None,
    texts: Iterable[str] | None = None,
    test: Callable[[str], object] | None = None,
) -> F:
    """`check`, marked with what a message must be for it to pass (each a necessary condition
    of `check`, never more): `kinds` of message, parser `intents`, command `texts` (`said` or
    the text stripped of punctuation is one of them), a `test` of `said` that is falsy when
    `check` would fail (e.g. `pattern.fullmatch`)."""
    check.gates = _Gates(  # type: ignore[attr-defined]
        frozenset(kinds) if kinds is not None else None,
        frozenset(intents) if intents is not None else None,
        frozenset(texts) if texts is not None else None,
        test,
    )
    return check


def gate(
    *,
    kinds: Iterable[Kind] | None = None,
    intents: Iterable[str] | None = None,
    texts: Iterable[str] | None = None,
    test: Callable[[str], object] | None = None,
) -> Callable[[F], F]:
    """`gated` as a decorator, over a filter's `def`: `@gate(kinds=[Kind.TEXT], test=P.match)`.
    The filter is kept as it is; the gates are only what `dispatch` checks before calling it."""

    def mark(check: F) -> F:
        return gated(check, kinds=kinds, intents=intents, texts=texts, test=test)

    return mark


class _Order:
    """A router's routes and its children's, depth first (the order `dispatch` tries them),
    and, per kind of message, only those whose gates let it through: a text never meets the
    filters of a location or a menu click (their first-match order is kept)."""

    def __init__(self, routes: list[Route], anywhere: list[tuple[Filter, ...]]) -> None:
        self.changes = _changes[0]
        self.routes = routes
        self.anywhere = anywhere
        self._gates = [_gates(filters) for filters, _ in routes]
        self._by_kind: dict[Kind, list[_Walked]] = {}

    def walk(self, kind: Kind) -> list[_Walked]:
        walked = self._by_kind.get(kind)
        if walked is None:
            walked = self._by_kind[kind] = [
                (
                    _NO_GATES if gates._replace(kinds=None) == _NO_GATES else gates,
                    filters[0] if filters else _always,
                    filters[1:],
                    handler,
                )
                for (filters, handler), gates in zip(self.routes, self._gates, strict=True)
                if gates.kinds is None or kind in gates.kinds
            ]
        return walked


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
        self._order: _Order | None = None

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
        for filters in self._in_order().anywhere:
            if await _passes(filters, ctx):
                return True
        return False

    def _in_order(self) -> _Order:
        order = self._order
        if order is None or order.changes != _changes[0]:
            routes, anywhere = list(self._routes), list(self._anywhere)
            for child in self._children:
                more = child._in_order()
                routes += more.routes
                anywhere += more.anywhere
            order = self._order = _Order(routes, anywhere)
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
        # Only the routes this kind of message can pass, in their order; a route whose gates
        # rule the message out is passed over without calling its filters. The parse is made
        # when the first route that needs an intent comes (an answer to a form's step is
        # taken before, and never parsed for routing).
        text: str | None = None
        bare = ""
        for gates, first, rest, handler in self._in_order().walk(ctx.msg.kind):
            if gates is not _NO_GATES:
                if gates.intents is not None and ctx.nlu.intent not in gates.intents:
                    continue
                if gates.texts is not None or gates.test is not None:
                    if text is None:
                        text, bare = said(ctx), ctx.msg.text.strip(_PUNCT)
                    if gates.texts is not None and text not in gates.texts:
                        if bare not in gates.texts:
                            continue
                    if gates.test is not None and not gates.test(text):
                        continue
            ok = first(ctx)
            if ok is not True:
                if ok is False:
                    continue
                if inspect.isawaitable(ok):
                    ok = await ok
                if not ok:
                    continue
            if rest and not await _passes(rest, ctx):
                continue
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
    return gated(lambda ctx: ctx.msg.kind in kinds, kinds=kinds)


def event(*names: str) -> Filter:
    wanted = {n.lower() for n in names}
    return gated(
        lambda ctx: ctx.msg.kind is Kind.EVENT and ctx.msg.event in wanted, kinds=[Kind.EVENT]
    )


def intent(*names: str) -> Filter:
    """The message means one of `names`, and the parser is sure of it (an unsure parse falls
    through to the fallback router, which asks which reading is meant: bot.clarify). Danger is
    never kept waiting for an answer."""
    wanted = set(names)
    return gated(
        lambda ctx: (
            ctx.msg.kind is Kind.TEXT
            and bool(ctx.msg.text.strip())
            and (ctx.nlu.intent in wanted)
            and (ctx.nlu.confident or ctx.nlu.intent == "emergency")
        ),
        kinds=[Kind.TEXT],
        intents=wanted,
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
    return gated(
        lambda ctx: (
            ctx.msg.kind is Kind.TEXT
            and (said(ctx) in wanted or ctx.msg.text.strip(_PUNCT) in wanted)
        ),
        kinds=[Kind.TEXT],
        texts=wanted,
    )
