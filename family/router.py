"""The family chat: 绑定家人 PHONE (a relative), 同意 / 不同意 (the elder), 我的家人,
解除家人绑定."""

from __future__ import annotations

import re

from bot.context import Context
from bot.router import HandlerResult, Router, said, words
from community.errors import DomainError
from family import service, texts

router = Router("family")

_LINK = re.compile(r"^(?:绑定|关联|添加)(?:家人|老人|家属)\s*(?P<rest>.*)$")
_PHONE = re.compile(r"[\d\s\-－—+]{7,20}")


def _is_link(ctx: Context) -> bool:
    return bool(_LINK.match(said(ctx)))


@router.message(_is_link)
async def link(ctx: Context) -> HandlerResult:
    m = _LINK.match(said(ctx))
    rest = m.group("rest") if m else ""
    phone = _PHONE.search(rest)
    if phone is None:
        return texts.HOW
    note = (rest[: phone.start()] + " " + rest[phone.end() :]).strip(" ，,。")
    try:
        await service.request_link(ctx.redis, ctx.user, phone.group(0), ctx.now(), note)
    except DomainError as exc:
        return exc.message
    return texts.ASKED


async def _answering(ctx: Context) -> bool:
    return await service.has_pending(ctx.user)


@router.message(words("同意", "同意绑定", "好的同意", "我同意"), _answering)
async def agree(ctx: Context) -> HandlerResult:
    try:
        count = await service.answer(ctx.user, True, ctx.now())
    except DomainError as exc:
        return exc.message
    return texts.agreed(count)


@router.message(words("不同意", "拒绝", "不同意绑定", "我不同意"), _answering)
async def decline(ctx: Context) -> HandlerResult:
    try:
        await service.answer(ctx.user, False, ctx.now())
    except DomainError as exc:
        return exc.message
    return texts.DECLINED


@router.message(words("我的家人", "家人绑定", "绑定的家人"), anywhere=True)
async def mine(ctx: Context) -> HandlerResult:
    try:
        return await service.summary(ctx.user)
    except DomainError as exc:
        return exc.message


@router.message(words("解除家人绑定", "解除绑定", "取消家人绑定"))
async def unlink(ctx: Context) -> HandlerResult:
    try:
        await service.unlink(ctx.user)
    except DomainError as exc:
        return exc.message
    return texts.UNLINKED
