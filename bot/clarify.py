"""Ask when unsure: one short numbered question offering the two readings, then act on the one
the resident picks.

A parse that is not `confident` passes no `intent(...)` filter (bot.router), so no feature acts
on a guess; the fallback router asks (`question`), keeping the two readings for a while. A
reply of "1" / "2" (or 第一个 / 第二个) is answered by `router` here, included right after the
system routes: the original message is dispatched again with the chosen reading, as if the
parser had been sure of it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.context import Context
from bot.messages import Kind
from bot.router import HandlerResult, Router, command_text, gate
from infra import jsontext, keys

router = Router("clarify")

SCRATCH = "nlu_choice"
CHOICE_TTL = 10 * 60
_FIRST = {"1", "１", "一", "第一个", "第一", "1号", "前面那个"}
_SECOND = {"2", "２", "二", "第二个", "第二", "2号", "后面那个"}

# How a reading is offered to the resident (short, plain).
INTENT_TEXT: dict[str, str] = {
    "find_craftsman": "找师傅",
    "menu_query": "看食堂菜单",
    "delivery_signup": "报名送餐",
    "delivery_cancel": "取消送餐",
    "delivery_status": "查我的送餐",
    "craftsman_register": "登记成为师傅",
    "menu_subscribe": "每天收菜单",
    "menu_unsubscribe": "不再收菜单",
    "help": "看看能做什么",
    "contact_grid_worker": "找网格员反映情况",
    "emergency": "紧急求助",
    "find_place": "找附近的服务点",
    "unknown": "都不是",
}


def describe(reading: dict[str, Any]) -> str:
    from bot.nlu import default_parser

    labels = default_parser().lexicon
    intent = reading["intent"]
    if intent == "find_craftsman" and reading.get("category"):
        return f"找{labels.labels.get(reading['category'], '')}师傅"
    if intent == "find_place" and reading.get("place"):
        return f"找附近的{labels.place_labels.get(reading['place'], '服务点')}"
    return INTENT_TEXT.get(intent, str(intent))


def readings(ctx: Context) -> list[dict[str, Any]]:
    """The two readings worth offering; none when the best guess is "not something we do"
    (the fallback's "没太明白" then says what the bot can do instead)."""
    alts = ctx.nlu.alternatives
    if not alts or alts[0]["intent"] == "unknown":
        return []
    two = [a for a in alts if a["intent"] != "unknown"][:2]
    return two if len(two) == 2 else []


@gate(kinds=[Kind.TEXT])
def unsure(ctx: Context) -> bool:
    return (
        ctx.msg.kind is Kind.TEXT
        and bool(ctx.msg.text.strip())
        and not ctx.nlu.confident
        and bool(readings(ctx))
    )


async def question(ctx: Context) -> HandlerResult:
    """The parser was not sure: offer its two best readings, numbered."""
    two = readings(ctx)
    await ctx.redis.set(
        keys.scratch(ctx.conv, SCRATCH),
        jsontext.dumps({"text": ctx.msg.text, "readings": two}),
        ex=CHOICE_TTL,
    )
    return f"您是想：\n1. {describe(two[0])}\n2. {describe(two[1])}\n请回复 1 或 2。"


@gate(kinds=[Kind.TEXT], texts=_FIRST | _SECOND)
async def _answering(ctx: Context) -> bool:
    if ctx.msg.kind is not Kind.TEXT:
        return False
    said = command_text(ctx.msg.text)
    if said not in _FIRST and said not in _SECOND:
        return False
    return bool(await ctx.redis.exists(keys.scratch(ctx.conv, SCRATCH)))


@router.message(_answering)
async def chosen(ctx: Context) -> HandlerResult:
    """ "1" / "2" after the question: answer the first message as the chosen reading."""
    raw = await ctx.redis.getdel(keys.scratch(ctx.conv, SCRATCH))
    if not raw:  # taken meanwhile (expired, or answered twice)
        return None
    kept = jsontext.loads(raw)
    pick = kept["readings"][0 if command_text(ctx.msg.text) in _FIRST else 1]
    ctx.msg = dataclasses.replace(ctx.msg, text=kept["text"])
    ctx.__dict__.pop("nlu", None)  # forget the parse of "1"
    first = ctx.nlu  # the original message, parsed again (today's dates)
    ctx.__dict__["nlu"] = dataclasses.replace(
        first,
        intent=pick["intent"],
        category=pick.get("category") if pick["intent"] == "find_craftsman" else None,
        place=pick.get("place") if pick["intent"] == "find_place" else None,
        clarify=[],
        confident=True,
    )
    return await ctx.services.root_router().dispatch(ctx)
