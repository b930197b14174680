"""The family chat: 绑定家人 PHONE (a relative), 同意 / 不同意 (the elder), 我的家人,
解除家人绑定."""

from __future__ import annotations

import re

from bot.context import Context
from bot.messages import Kind
from bot.router import HandlerResult, Router, gate, gated, said, words
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


def _typed(ctx: Context) -> str:
    """The text as typed, without command_text's final 了 ("不想绑了")."""
    return ctx.msg.text.strip(" 。.!！?？~～，,") if ctx.msg.kind is Kind.TEXT else ""


@gate(kinds=[Kind.TEXT], test=_LINK.match)
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


# "我绑了谁", "我家人绑定了吗", "绑定了哪些家人"
_MINE = re.compile(
    r"^(?:我的家人|家人绑定|绑定的家人)$"
    r"|^(?:我|俺)?(?:都)?绑(?:定)?了(?:谁|哪些人|哪些家人|几个人)$"
    r"|^(?:我|俺)?(?:的|家)?(?:家人|老人)(?:绑定|绑)(?:好)?了(?:吗|没有?)?$"
)
# "解除家人绑定", and as said: "取消绑定", "解绑", "不想绑了", "不绑了"
_UNLINK = re.compile(
    r"^(?:解除家人绑定|解除绑定|取消家人绑定|取消绑定|解绑|解除家人|不想绑了?|不绑了?|不要绑定了?)$"
)
# What each of _UNLINK's words has, typed or said (`command_text` strips only filler before and
# particles after them): a cheap test for routing (bot.router.gated).
_UNLINK_SAID = re.compile("绑|解除")


@router.message(
    gated(lambda ctx: bool(_MINE.match(said(ctx))), kinds=[Kind.TEXT], test=_MINE.match),
    anywhere=True,
)
async def mine(ctx: Context) -> HandlerResult:
    try:
        return await service.summary(ctx.user)
    except DomainError as exc:
        return exc.message


@router.message(
    gated(
        lambda ctx: bool(_UNLINK.match(said(ctx)) or _UNLINK.match(_typed(ctx))),
        kinds=[Kind.TEXT],
        test=_UNLINK_SAID.search,
    )
)
async def unlink(ctx: Context) -> HandlerResult:
    try:
        await service.unlink(ctx.user)
    except DomainError as exc:
        return exc.message
    return texts.UNLINKED
