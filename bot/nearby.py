"""A search near the resident that may have to wait for where they are (craftsmen, places).

Where the resident is: the last location they sent, else the centre of their compound; else
the search waits for it (`Context.wait_for_location`, under its own action) and asks. What
arrives next carries the search on: a location sent (the router's resumer), or a compound name
typed, which is also remembered as their compound so the next search needs no question.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.context import PREFETCH, Context
from bot.messages import Kind
from bot.router import HandlerResult, Router, gate, said
from infra import jsontext, keys
from models.users import User

ASK_LOCATION = "请发送您的位置（点“+”→位置），或直接打小区名。"
# Seconds the resident's compound is kept in Redis (keys.compound). Every write of
# User.compound writes the key too (here, and privacy erasure), so this only bounds its life.
COMPOUND_TTL = 24 * 3600

# Prefetched by conversation like the walking pace (craftsman_directory.router): on the Official
# Account a search without a location learns the compound without a round trip; in a group the
# key is per person and read from Redis when needed.
PREFETCH.append(keys.compound)

# What the search looks for (a trade, a kind of place) and where → the answer.
Answer = Callable[[Context, str, float, float], Awaitable[str]]
# A typed compound name → (name, lat, lng) of its centre, or None: no compound we know.
Compounds = Callable[[str], Awaitable[tuple[str, float, float] | None]]


class NearbySearch:
    """One feature's nearby search. Built at the point of the feature's router where its
    location handlers belong (routes are tried in the order they are registered): it registers
    the resumer for `action` and the handler of a compound name typed while it waits."""

    def __init__(
        self, router: Router, action: str, slot: str, answer: Answer, compounds: Compounds
    ) -> None:
        self.action = action
        self.slot = slot  # the payload's key for what is looked for ("category", "kind")
        self._answer = answer
        self._compounds = compounds
        router.on_resume(action)(self._resume)
        router.message(self._typed_compound)(self._compound_answer)

    async def resident_location(self, ctx: Context) -> tuple[float, float] | None:
        """The last location the resident sent, else the centre of their compound; None: ask."""
        where = await ctx.last_location()
        if where is not None:
            return where.lat, where.lng
        compound = await self.resident_compound(ctx)
        if compound:
            found = await self._compounds(compound)
            if found is not None:
                return found[1], found[2]
        return None

    @staticmethod
    async def resident_compound(ctx: Context) -> str:
        """User.compound ("" for none, or no account) through keys.compound: a search from
        someone who never sent a location asked the database every time."""
        key = keys.compound(ctx.user)
        raw = await ctx.state.get(key)
        if raw is not None:
            return raw.decode() if isinstance(raw, bytes) else str(raw)
        user = await User.get_or_none(openid=ctx.user)
        compound = user.compound if user is not None and user.compound else ""
        # Written with the answer (no round trip); a message that fails writes nothing.
        ctx.state.set_later(key, compound, ex=COMPOUND_TTL)
        return compound

    async def typed_compound_location(self, ctx: Context) -> tuple[float, float] | None:
        """A compound name typed while the search waits: its centre, remembered as the
        resident's compound. None: no compound we know."""
        found = await self._compounds(said(ctx))
        if found is None:
            return None
        name, lat, lng = found
        user, _ = await User.get_or_create(openid=ctx.user)
        if user.compound != name:
            user.compound = name
            await user.save(update_fields=["compound", "updated_at"])
        # At once, not with the answer: the row is saved whatever happens to this message.
        await ctx.redis.set(keys.compound(ctx.user), name, ex=COMPOUND_TTL)
        return lat, lng

    async def find(self, ctx: Context, wanted: str) -> str:
        """Search where the resident is, or ask for the location and wait."""
        where = await self.resident_location(ctx)
        if where is not None:
            return await self._answer(ctx, wanted, *where)
        await ctx.wait_for_location(self.action, {self.slot: wanted})
        return ASK_LOCATION

    async def waiting(self, ctx: Context) -> dict[str, Any] | None:
        """The payload of this search when it is the one waiting for a location."""
        raw = await ctx.redis.get(keys.pending(ctx.conv))
        if not raw:
            return None
        data = jsontext.loads(raw)
        return data["payload"] if data.get("action") == self.action else None

    async def _resume(self, ctx: Context, payload: dict[str, Any]) -> HandlerResult:
        """The location the search was waiting for has arrived: answer without asking again."""
        assert ctx.msg.location is not None
        return await self._answer(
            ctx, payload[self.slot], ctx.msg.location.lat, ctx.msg.location.lng
        )

    @gate(kinds=[Kind.TEXT])
    async def _typed_compound(self, ctx: Context) -> bool:
        if ctx.msg.kind is not Kind.TEXT or await self.waiting(ctx) is None:
            return False
        return await self._compounds(said(ctx)) is not None

    async def _compound_answer(self, ctx: Context) -> HandlerResult:
        """A compound name typed while the search waits for the resident's location."""
        payload = await self.waiting(ctx)
        where = await self.typed_compound_location(ctx)
        assert payload is not None and where is not None
        await ctx.clear_pending()
        return await self._answer(ctx, payload[self.slot], *where)
