"""The last routes: help, out-of-scope requests, features still to come, and a polite default."""

from __future__ import annotations

import logging

from bot import clarify, nlu_review, texts
from bot.context import Context
from bot.messages import Kind
from bot.router import HandlerResult, Router, intent, kind

router = Router("fallback")
log = logging.getLogger(__name__)

# Intents whose feature is not wired in yet get a clear "coming soon" instead of silence.
# Feature routers included before this one take these intents over as they land.
PLACEHOLDERS: dict[str, str] = {
    "find_craftsman": "找师傅",
    "craftsman_register": "师傅登记",
    "menu_query": "食堂菜单",
    "menu_subscribe": "订阅菜单",
    "menu_unsubscribe": "退订菜单",
    "delivery_signup": "送餐报名",
    "delivery_cancel": "取消送餐",
    "delivery_status": "送餐查询",
    "contact_grid_worker": "联系网格员",
    "find_place": "找附近的服务点",
}

# Until the conversations feature answers emergencies, never answer danger with "coming soon".
EMERGENCY_FIRST = (
    "情况紧急请马上打电话：急救 120，火警 119，报警 110。"
    "闻到煤气味：别开灯别点火，开窗后到屋外再打电话。"
)


async def _for_review(ctx: Context, asked: bool) -> None:
    """Keep the message, scrubbed, for staff to label (bot.nlu_review); never fails a reply."""
    try:
        await nlu_review.remember(ctx.services.redis, ctx.msg.text, ctx.nlu, asked)
    except Exception:  # the answer matters more than the review queue
        log.warning("nlu review queue unavailable", exc_info=True)


@router.message(clarify.unsure)
async def unsure(ctx: Context) -> HandlerResult:
    """The parser could not decide between two readings: ask which one, numbered."""
    await _for_review(ctx, asked=True)
    return await clarify.question(ctx)


@router.message(intent("help"))
async def help_(ctx: Context) -> HandlerResult:
    """Greetings, "what can you do", "?"."""
    return texts.HELP


@router.message(intent("unknown"))
async def unknown(ctx: Context) -> HandlerResult:
    """Weather, jokes, stocks, gibberish: say what the bot can do instead."""
    await _for_review(ctx, asked=False)
    return texts.UNKNOWN


@router.message(intent("emergency"))
async def emergency(ctx: Context) -> HandlerResult:
    """Someone is in danger and no feature router answered: the numbers to call, first."""
    return EMERGENCY_FIRST


@router.message(intent(*PLACEHOLDERS))
async def coming_soon(ctx: Context) -> HandlerResult:
    """An intent whose feature has not landed yet."""
    return texts.COMING_SOON.format(name=PLACEHOLDERS[ctx.nlu.intent])


@router.message(kind(Kind.TEXT))
async def anything_else(ctx: Context) -> HandlerResult:
    """Text nothing else took (an unsure parse with no second reading to offer, ...)."""
    if ctx.msg.text.strip():
        await _for_review(ctx, asked=False)
    return texts.FALLBACK


@router.message(lambda ctx: True)
async def unsupported(ctx: Context) -> HandlerResult:
    """Unknown message or event types."""
    return texts.FALLBACK if ctx.msg.kind is not Kind.EVENT else None
