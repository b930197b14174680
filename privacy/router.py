"""我的信息存了什么 / 删除我的信息 / 确认删除我的信息 in the chat."""

from __future__ import annotations

import re

from bot.context import Context
from bot.messages import Kind
from bot.router import Filter, HandlerResult, Router, command_text, gated, words
from community.errors import DomainError
from infra import keys
from privacy import service, texts

router = Router("privacy")
# 删除我的信息 was just asked: a short 确认 then hears the words that erase.
ASKED = "privacy_asked"
ASKED_SECONDS = 600

_WHAT = re.compile(
    r"^(?:你们|你)?(?:都)?(?:存|保存|记|收集)了(?:我的?|俺的?)?(?:哪些|什么|啥)(?:个人)?"
    r"(?:信息|资料|数据)?"
    r"|^(?:我的|俺的)(?:个人)?(?:信息|资料|数据)(?:你们)?(?:都)?"
    r"(?:存了什么|存了哪些|存了啥|都有什么|都有啥|有哪些|怎么用)"
)
# "删除我的信息", and as said: "把我的信息删了", "注销账号", "不想用了 把我的东西都删掉"
_DELETE = re.compile(
    r"^(?:我?不(?:想)?用了[，, ]*)?(?:请|帮我|麻烦)?(?:删除|删掉|清除|清空|注销)(?:我的)?(?:个人)?"
    r"(?:信息|资料|数据|账号|账户)(?:吧)?$"
    r"|^(?:我?不(?:想)?用了[，, ]*)?(?:请|帮我|麻烦)?把(?:我的|俺的)(?:个人)?"
    r"(?:信息|资料|数据|东西)(?:都|全)?(?:删了?|删掉|删除|清除|清掉)(?:吧)?$"
)
_CONFIRM = re.compile(r"^确认删除(?:我的)?(?:个人)?(?:信息|资料|数据)$")


def _text(ctx: Context) -> str:
    return command_text(ctx.msg.text) if ctx.msg.kind is Kind.TEXT else ""


def _saying(pattern: re.Pattern[str]) -> Filter:
    """A filter: the command text matches `pattern` (gated: see bot.router.gated)."""
    return gated(lambda ctx: bool(pattern.match(_text(ctx))), test=pattern.match)


@router.message(_saying(_WHAT), anywhere=True)
async def what_we_keep(ctx: Context) -> HandlerResult:
    """我的信息存了什么: what we keep and why, in one reply (with this account's family links)."""
    return await service.what_we_keep(ctx.user)


@router.message(_saying(_DELETE), anywhere=True)
async def ask_to_erase(ctx: Context) -> HandlerResult:
    """删除我的信息: say what goes and ask for the confirming words."""
    await ctx.redis.set(keys.scratch(ctx.conv, ASKED), "1", ex=ASKED_SECONDS)
    return texts.ASK_CONFIRM


async def _just_asked(ctx: Context) -> bool:
    return bool(await ctx.redis.exists(keys.scratch(ctx.conv, ASKED)))


_SHORT_YES = ("确认", "确定", "是的", "对", "好的", "删吧", "删除", "删", "确认删除")


@router.message(words(*_SHORT_YES), _just_asked)
async def short_yes(ctx: Context) -> HandlerResult:
    """A short yes after 删除我的信息: erasure takes the whole confirming words."""
    return texts.SAY_CONFIRM


@router.message(_saying(_CONFIRM), anywhere=True)
async def erase(ctx: Context) -> HandlerResult:
    """确认删除我的信息: erase (upcoming bookings cancelled; counts kept without the person)."""
    try:
        # Through the message's state view: what it prefetched (the recent exchanges) goes
        # too, and is not written back with the answer.
        settings = ctx.services.settings
        done = await service.erase(
            ctx.redis, ctx.user, ctx.conv, ctx.now(),
            data_dir=settings.data_dir if settings is not None else None,
        )  # fmt: skip
    except DomainError as exc:
        return exc.message
    await ctx.redis.delete(keys.scratch(ctx.conv, ASKED))
    cancelled = f"，取消了{done.cancelled}份还没送的报名" if done.cancelled else ""
    return texts.ERASED.format(cancelled=cancelled)
