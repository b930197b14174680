"""The family chat: 绑定家人 PHONE (a relative), 同意 / 不同意 (the elder), 我的家人,
解除家人绑定."""

from __future__ import annotations

import re

from bot.context import Context
from bot.router import HandlerResult, Router, said, words
from community.errors import DomainError
from community.phones import as_digits
from family import service, texts

router = Router("family")

# "绑定家人 138…", and as said: "帮我绑定我妈 138…", "绑一下我爸的手机 138…"
_LINK = re.compile(
    r"^(?:帮我|我要|我想|请)?(?:绑定|关联|添加|绑)(?:一下)?(?:我的|我家)?"
    r"(?:家人|老人|家属|妈妈|爸爸|母亲|父亲|老妈|老爸|我妈妈?|我爸爸?|我母亲|我父亲|奶奶|爷爷|外婆|"
    r"姥姥|姥爷|外公|老人家)(?:的)?(?:手机号?|电话|号码)?(?:码|是)?[:：]?\s*(?P<rest>.*)$"
)
_PHONE = re.compile(r"[\d\s\-－—+]{7,20}")


def _is_link(ctx: Context) -> bool:
    return bool(_LINK.match(said(ctx)))


@router.message(_is_link)
async def link(ctx: Context) -> HandlerResult:
    m = _LINK.match(said(ctx))
    rest = as_digits(m.group("rest")) if m else ""
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


# A yes that may be about something else: consent is given in words that say so.
@router.message(words("好", "好的", "行", "可以", "嗯", "中", "好吧", "是的", "确认"), _answering)
async def vague_answer(ctx: Context) -> HandlerResult:
    return texts.SAY_AGREE


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
