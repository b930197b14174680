"""有事就找网格员: a resident's problem goes to the grid worker of their building."""

from __future__ import annotations

import re

from bot import forms
from bot.context import Context
from bot.forms import Form, Invalid, Step
from bot.messages import Kind
from bot.router import HandlerResult, Router, intent, said
from bot.safety import unseen_neighbour
from community.buildings import AddressError, parse_building
from community.errors import DomainError
from community.phones import normalise_phone
from delivery.service import SELF, known_recipient
from grid import service, texts
from grid.service import second_people as second_people  # conversation/emergency.py uses it

router = Router("grid")
# Commands worded so they mean one thing only (我的待办, 办结 3 …, 我反映的事怎么样了): tried
# before the other features, whose searches would take "办结 3 灯已换好" for an electrician.
commands = Router("grid.commands")

_BARE = re.compile(
    r"^(我要|我想|请|帮我)?(找|联系|叫|呼叫|问问)?(一下)?(社区)?网格员?(在吗|电话|是谁)?$"
)
NO_PHONE = {"不留", "不用", "不要", "没有", "跳过", "算了"}


async def _problem(ctx: Context, data: forms.Data) -> str:
    if len(said(ctx)) < 2:
        raise Invalid("请用文字或语音说说是什么事。")
    return ctx.msg.text.strip()[:300]


async def _where(ctx: Context, data: forms.Data) -> str:
    try:
        place, building = parse_building(said(ctx))
    except AddressError as exc:
        raise Invalid(str(exc)) from None
    data["building"] = building
    return place


_phone = forms.phone_step(normalise_phone, NO_PHONE, "不想留电话就回复“不留”。")


async def _forward(ctx: Context, data: forms.Data) -> HandlerResult:
    # A neighbour not seen for days is urgent even with no sign of danger yet.
    urgent = unseen_neighbour(data["problem"])
    phone = data["phone"]
    try:
        await service.file_report(
            ctx.user, data["problem"], data["where"], data["building"], phone, ctx.now(),
            urgent=urgent,
        )  # fmt: skip
    except DomainError as exc:
        return exc.message
    if urgent:
        return (
            "已记下，正在转告网格员，请他马上上门看看。敲门没人应、闻到异味或听到呼救，"
            "请马上打110请民警开门，需要时打120。"
        )
    later = "会尽快联系您" if phone else "会尽快上门看看"
    # Queued, not yet delivered: say so; if it cannot be delivered the resident is told.
    return f"已记下，正在转告网格员，{later}。万一没送到，我会告诉您。有急事请拨打110或120。"


REPORT_FORM = Form(
    name="grid.report",
    title="找网格员",
    steps=[
        Step(
            "problem", "请说说遇到了什么事，我转告网格员。", _problem, lambda d: "problem" in d,
            label="什么事", names=r"事情|问题", free=True,
            accepts=frozenset({"contact_grid_worker", "find_craftsman", "find_place"}),
        ),
        Step(
            "where",
            "在哪栋楼？比如“5号楼楼道”或“3号楼2单元401”。",
            _where,
            lambda d: "where" in d,
            label="地点", names=r"地址|地点|哪栋|号楼|栋|幢|单元|楼道",
        ),
        Step(
            "phone",
            "留个电话方便网格员联系您？不想留就回复“不留”。",
            _phone,
            lambda d: "phone" in d,
            label="电话", names=r"电话|手机|号码",
        ),
    ],  # fmt: skip
    on_done=_forward,
    own_intents=frozenset({"contact_grid_worker"}),
)


# ---- after the report: the grid worker's to-do list, closing one, the resident asking -------
# Each route is a cheap text match first; only a message that matches asks the database.

_TODO = re.compile(
    r"^(我的|俺的|今天的?)?(待办|待办事项|待处理|工单|待办的事)(列表|清单)?$"
    # as said: "俺手上有几件没办", "我还有哪些没处理的"
    r"|^(?:我|俺)?(?:手上|手头|这边)?还?有(?:几件|几个|几条|多少|哪些)(?:事|件)?"
    r"(?:没办|没处理|没办完|要处理|待办|待处理)(?:完)?的?(?:事)?(?:吗|呢|啊)?$"
)
_CLOSE = re.compile(r"^办结\s*(?:第|#|＃)?\s*(\d{1,9})\s*(?:号|条)?[\s:：,，。.、]*(.*)$", re.S)
_MINE = re.compile(
    r"^(我|我们)?(之前|上次|前几天)?(反映|报|提|说|投诉)(过)?的(事情?|问题|情况|那件事)"
    r"(怎么样|怎样|处理|办|有结果|有进展|进展|解决)?.{0,8}$"
    r"|^我的反映$"
)


def _is_todo(ctx: Context) -> bool:
    return bool(_TODO.match(said(ctx)))


def _is_close(ctx: Context) -> bool:
    return ctx.msg.kind is Kind.TEXT and bool(_CLOSE.match(ctx.msg.text.strip()))


def _is_mine(ctx: Context) -> bool:
    return bool(_MINE.match(said(ctx)))


@commands.message(_is_todo)
async def todo(ctx: Context) -> HandlerResult:
    """我的待办: a grid worker's open reports, urgent first."""
    try:
        return texts.todo(await service.open_reports(ctx.user))
    except DomainError as exc:
        return exc.message


@commands.message(_is_close)
async def close(ctx: Context) -> HandlerResult:
    """办结 3 灯已换好: close report 3; the resident is told, with the note."""
    m = _CLOSE.match(ctx.msg.text.strip())
    assert m is not None
    try:
        report = await service.close_report(ctx.user, int(m.group(1)), m.group(2), ctx.now())
    except DomainError as exc:
        return exc.message
    return texts.closed_for_worker(report)


@commands.message(_is_mine)
async def my_reports(ctx: Context) -> HandlerResult:
    """我反映的事怎么样了: each of the resident's reports and its state."""
    return texts.mine(await service.reports_of(ctx.user))


# ---- a person, not a bot: 转人工 / 找个真人 / 打电话给社区 ------------------------------------

_HANDOFF = re.compile(
    r"^(我要|我想|请|帮我|给我|麻烦)?(转|接|找|要|叫|联系)?(一下)?(个)?"
    r"(人工|人工客服|人工服务|真人|活人|客服|社区工作人员|工作人员)(说话|聊聊|帮忙|来)?$"
    r"|^(我要|我想)?(打电话给社区|给社区打电话|打社区电话|联系社区)$"
    r"|^(社区|居委会?)(的)?(值班)?电话(是多少|多少)?$"
)


def _is_handoff(ctx: Context) -> bool:
    return bool(_HANDOFF.match(said(ctx)))


def _duty_phone(ctx: Context) -> str | None:
    return getattr(ctx.services.settings, "community_duty_phone", None)


async def _hand_off(ctx: Context, data: forms.Data) -> HandlerResult:
    try:
        await service.file_report(
            ctx.user, texts.HANDOFF_PROBLEM, data["where"], data["building"], data["phone"],
            ctx.now(), handoff=data.get("recent", []),
        )  # fmt: skip
    except DomainError as exc:
        duty = _duty_phone(ctx)
        return f"社区值班电话：{duty}，直接打过去就有人接。" if duty else exc.message
    return texts.handed_off(_duty_phone(ctx), data["phone"])


HANDOFF_FORM = Form(
    name="grid.handoff",
    title="找真人",
    steps=[
        Step(
            "where",
            "好的，我请您楼的网格员来帮您。您住哪栋楼？比如“3号楼2单元401”。",
            _where,
            lambda d: "where" in d,
            label="地点", names=r"地址|地点|哪栋|号楼|栋|幢|单元",
        ),
        Step(
            "phone",
            "留个电话方便网格员打给您？不想留就回复“不留”。",
            _phone,
            lambda d: "phone" in d,
            label="电话", names=r"电话|手机|号码",
        ),
    ],  # fmt: skip
    on_done=_hand_off,
)


@commands.message(_is_handoff)
async def hand_off(ctx: Context) -> HandlerResult:
    """转人工 / 找个真人 / 打电话给社区: the duty phone, and the building's grid worker gets the
    resident's last few exchanges with the bot (so they need not say it all again)."""
    data: forms.Data = {"recent": await ctx.recent()}
    known = await known_recipient(ctx.user, SELF)
    if known is not None:
        data.update(where=known.address, building=known.building, phone=known.phone)
    return await forms.start(ctx, HANDOFF_FORM, data)


@router.message(intent("contact_grid_worker"))
async def report(ctx: Context) -> HandlerResult:
    data: forms.Data = {}
    text = said(ctx)
    if not _BARE.match(text):
        data["problem"] = ctx.msg.text.strip()[:300]
    try:  # "5号楼楼道灯坏了": the message says where
        data["where"], data["building"] = parse_building(text)
    except AddressError:
        pass
    known = await known_recipient(ctx.user, SELF)  # a delivery sign-up told us where they live
    if known is not None:
        if "where" not in data:
            data.update(where=known.address, building=known.building)
        data["phone"] = known.phone
    return await forms.start(ctx, REPORT_FORM, data)
