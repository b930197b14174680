"""我的信息存了什么 / 删除我的信息 / 确认删除我的信息 in the chat."""

from __future__ import annotations

import re

from bot.context import Context
from bot.messages import Kind
from bot.router import HandlerResult, Router, command_text
from community.errors import DomainError
from privacy import service, texts

router = Router("privacy")

_WHAT = re.compile(
    r"^(?:你们|你)?(?:存|保存|记|收集)了(?:我的?)?(?:哪些|什么)(?:信息|资料|数据)?"
    r"|^我的(?:信息|资料|数据|个人信息)(?:存了什么|存了哪些|都有什么|有哪些|怎么用)"
)
_DELETE = re.compile(r"^(?:请|帮我)?(?:删除|删掉|清除|注销)(?:我的)?(?:个人)?(?:信息|资料|数据)$")
_CONFIRM = re.compile(r"^确认删除(?:我的)?(?:个人)?(?:信息|资料|数据)$")


def _text(ctx: Context) -> str:
    return command_text(ctx.msg.text) if ctx.msg.kind is Kind.TEXT else ""


@router.message(lambda ctx: bool(_WHAT.match(_text(ctx))))
async def what_we_keep(ctx: Context) -> HandlerResult:
    """我的信息存了什么: what we keep and why, in one reply (with this account's family links)."""
    return await service.what_we_keep(ctx.user)


@router.message(lambda ctx: bool(_DELETE.match(_text(ctx))))
async def ask_to_erase(ctx: Context) -> HandlerResult:
    """删除我的信息: say what goes and ask for the confirming words."""
    return texts.ASK_CONFIRM


@router.message(lambda ctx: bool(_CONFIRM.match(_text(ctx))))
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
    cancelled = f"，取消了{done.cancelled}份还没送的报名" if done.cancelled else ""
    return texts.ERASED.format(cancelled=cancelled)
