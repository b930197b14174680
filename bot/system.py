"""Routes that come before every feature: media, empty voice, cancel/back, active forms,
locations (and what was waiting for one), subscribe/unsubscribe and menu clicks."""

from __future__ import annotations

import dataclasses
import logging
import operator

from bot import acts, forms, texts
from bot.context import Context
from bot.messages import Kind
from bot.router import HandlerResult, Router, event, gate, gated, kind, words
from infra import keys
from models.users import User

log = logging.getLogger(__name__)
router = Router("system")

CANCEL_WORDS = ("取消", "算了", "不要了", "退出", "不办了", "不填了", "quit", "cancel")
BACK_WORDS = ("上一步", "返回", "返回上一步", "退回", "back")
CONTINUE_WORDS = ("继续", "接着填")
INBOX_WORDS = ("消息", "查看消息", "完整消息", "看消息")

# Custom-menu (自定义菜单) CLICK keys, answered as if the resident had typed the text.
MENU_KEYS: dict[str, str] = {
    "FIND_CRAFTSMAN": "找师傅",
    "MENU_TODAY": "今天吃什么",
    "MENU_TOMORROW": "明天吃什么",
    "DELIVERY_SIGNUP": "报名送餐",
    "DELIVERY_STATUS": "我的送餐",
    "MENU_SUBSCRIBE": "订阅菜单",
    "GRID_WORKER": "找网格员",
    "CRAFTSMAN_REGISTER": "师傅登记",
    "HELP": "帮助",
}


@router.message(kind(Kind.MEDIA))
async def media(ctx: Context) -> HandlerResult:
    """Images, videos, links, files: the bot reads text and voice only."""
    return texts.ONLY_TEXT


# An empty text leaves `said` empty: operator.not_ of it, one C call for every other text.
@router.message(
    kind(Kind.TEXT),
    gated(lambda ctx: ctx.msg.voice and not ctx.msg.text.strip(), test=operator.not_),
)
async def voice_unrecognised(ctx: Context) -> HandlerResult:
    """A voice message WeChat could not turn into text."""
    return texts.VOICE_UNCLEAR


@router.message(words(*INBOX_WORDS))
async def inbox(ctx: Context) -> HandlerResult:
    """Messages WeChat only let through shortened (as a template): here in full."""
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.lrange(keys.inbox(ctx.user), 0, -1)
        pipe.delete(keys.inbox(ctx.user))
        kept, _ = await pipe.execute()
    if not kept:
        return texts.INBOX_EMPTY
    return [t.decode() if isinstance(t, bytes) else t for t in kept]


@gate(kinds=[Kind.TEXT], test=acts.LEAVE_SAID.search)
async def _leaves_waiting(ctx: Context) -> bool:
    """ "嗯 算了吧", "不找了", "回头再说" while a search waits for a location (a form's own
    leaving is the form's): the waiting search is dropped, not read as a compound's name."""
    return ctx.msg.kind is Kind.TEXT and acts.is_leave(ctx.msg.text) and await ctx.has_pending()


@router.message(words(*CANCEL_WORDS))
@router.message(_leaves_waiting)
async def cancel(ctx: Context) -> HandlerResult:
    """ "取消" leaves any form and drops anything waiting for the user's input."""
    state = await forms.active(ctx)
    left_form = await forms.clear(ctx)
    dropped = await ctx.clear_pending()
    if not (left_form or dropped):
        return texts.NOTHING_TO_CANCEL
    # A form with its own words for leaving says them (停餐: "已取消" would read as done).
    said = state[0].left if state is not None and state[0].left else texts.CANCELLED
    # A form set aside for the one just left is offered again ("继续").
    return [said, *(await forms.offer_suspended(ctx) if left_form else [])]


@router.message(words(*BACK_WORDS), forms.has_active)
async def back(ctx: Context) -> HandlerResult:
    """ "上一步" inside a form."""
    return await forms.back(ctx)


@router.message(words(*CONTINUE_WORDS), forms.has_active)
async def resume_form(ctx: Context) -> HandlerResult:
    """ "继续" repeats the question the form is waiting on."""
    return await forms.repeat(ctx)


def _unusable_location(ctx: Context) -> bool:
    return ctx.msg.location is None or not ctx.msg.location.usable


@router.message(kind(Kind.LOCATION), _unusable_location)
async def unusable_location(ctx: Context) -> HandlerResult:
    """A location without real coordinates (NaN, infinity, out of range): not remembered, and
    the question waiting for it is asked again."""
    again = await forms.repeat(ctx) if await forms.has_active(ctx) else None
    return [texts.LOCATION_UNUSABLE, *(again or [])]


@router.message(kind(Kind.LOCATION))
async def location(ctx: Context) -> HandlerResult:
    """A location message: remember it, then feed a form or a pending action waiting for it."""
    assert ctx.msg.location is not None
    await ctx.remember_location(ctx.msg.location)
    if await forms.has_active(ctx):
        return await forms.handle(ctx)
    return await _resume_pending(ctx) or texts.LOCATION_SAVED


@router.message(event("location"))
async def location_event(ctx: Context) -> HandlerResult:
    """The periodic LOCATION report (when enabled): remember silently, unless something waits."""
    assert ctx.msg.location is not None
    if not ctx.msg.location.usable:
        return None
    await ctx.remember_location(ctx.msg.location)
    return await _resume_pending(ctx)


@router.message(forms.has_active)
async def in_form(ctx: Context) -> HandlerResult:
    """Any other message while a form is active goes to the form."""
    return await forms.handle(ctx)


@router.message(event("subscribe", "subscribe_scan"))
async def subscribe(ctx: Context) -> HandlerResult:
    """A new follower: record them and say what the bot can do."""
    user, created = await User.get_or_create(openid=ctx.user)
    if not created and not user.followed:
        user.followed = True
        await user.save(update_fields=["followed", "updated_at"])
    return texts.WELCOME


@router.message(event("unsubscribe"))
async def unsubscribe(ctx: Context) -> HandlerResult:
    """Unfollowed: no more pushes to this user (WeChat shows no reply to it anyway)."""
    await User.filter(openid=ctx.user).update(followed=False)
    await forms.clear(ctx)
    await ctx.clear_pending()
    return None


@router.message(event("click"))
async def menu_click(ctx: Context) -> HandlerResult:
    """A custom-menu button: answer as if its text had been typed."""
    text = MENU_KEYS.get(ctx.msg.event_key)
    if text is None:
        log.info("unknown menu key", extra={"event_key": ctx.msg.event_key})
        return texts.FALLBACK
    typed = dataclasses.replace(ctx.msg, kind=Kind.TEXT, text=text, event="", event_key="")
    # The same state view: what the typed text's handler defers is written with this message.
    return await ctx.services.root_router().dispatch(Context(typed, ctx.services, ctx.state))


@router.message(event("view", "view_miniprogram", "scancode_push", "templatesendjobfinish"))
async def silent_events(ctx: Context) -> HandlerResult:
    """Events that need no answer (a link opened, a template delivery report, ...)."""
    return None


async def _resume_pending(ctx: Context) -> HandlerResult:
    pending = await ctx.take_pending()
    if pending is None:
        return None
    action, payload = pending
    resumer = ctx.services.root_router().find_resumer(action)
    if resumer is None:
        log.warning("no resumer for pending action", extra={"action": action})
        return None
    return await resumer(ctx, payload)
