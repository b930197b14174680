"""Emergencies, in any state: what to do now and the number first, then the grid worker.

Tried before every form and feature (`before_system`). The first reply is two or three short
lines: what to do right now and the number to call. Then the building's grid worker is alerted
at once (an URGENT outbox push: escalated to a second person if not delivered within minutes)
when the building is known: named in the message, the relative or the resident's own delivery
address, or an earlier report. Otherwise the bot asks only 哪栋楼. A saved emergency contact is
given to the grid worker to call, and told directly when they use the bot too.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from tortoise.transactions import in_transaction

from bot import forms
from bot.context import Context
from bot.forms import Form, Invalid, Step
from bot.messages import Kind
from bot.nlu.slots import extract_address, extract_for_whom
from bot.router import HandlerResult, Router, gate
from bot.safety import Emergency, detect
from bot.safety import Kind as Danger
from community.buildings import AddressError, parse_building
from community.roles import grid_workers_for
from family.service import relatives_of
from grid.router import second_people
from infra import keys
from infra.orm import flat
from models.delivery import Recipient
from models.grid import GridReport
from models.push import PushChannel, PushUrgency
from push.outbox import enqueue_text, wake

log = logging.getLogger(__name__)
router = Router("emergency", before_system=True)

SELF = "本人"  # delivery.service.SELF: the resident's own recipient row
# One alert per resident per emergency: the same danger written again within this window
# ("快来人啊", a second voice message) does not alert the grid worker twice.
REALERT_AFTER = 10 * 60

LIFT_PHONE_DEFAULT = "96333"
NLU_SURE = 0.9

# What to do right now, and whom to call: two or three short lines per kind.
ADVICE: dict[Danger, str] = {
    Danger.FALL: "先别硬扶起来，盖件衣服保暖，问问哪里疼、有没有流血。\n"
    "起不来、头疼头晕或说话不清，马上打 120。",
    Danger.FIRE: "马上离开，用湿毛巾捂住口鼻，弯腰走楼梯，别坐电梯，别回去拿东西。\n"
    "到安全的地方打 119。",
    Danger.GAS: "别开关电灯电器，别点火，别在屋里打电话；关上燃气阀门，开窗，马上出门。\n"
    "到屋外再打 119{gas}。",
    Danger.LIFT: "被困的人别扒门、别往外爬，按电梯里的警铃，等救援。\n"
    "打电梯里铭牌上的救援电话{lift}，打不通就打 119。",
    Danger.UNCONSCIOUS: "马上打 120，开免提，照接线员说的做；没有呼吸就开始按压胸口。\n"
    "把门打开，方便急救人员进来。",
    Danger.CHEST_PAIN: "马上打 120。让他坐下或半躺着别动，别自己走去医院。\n"
    "医生开过急救药的，按医嘱用。",
    Danger.MEDICAL: "马上打 120，记下发病的时间，先别给吃东西喝水。",
    Danger.ELECTRIC_WATER: "别碰水和电器；能安全走到电闸就先拉闸断电。\n"
    "有人触电先断电再救人，打 120；电线冒火打 119。",
    Danger.NEIGHBOUR: "可能有人在屋里出事了：马上打 110 请民警来开门，需要时打 120。\n"
    "别自己撬门进去。",
    Danger.HELP: "情况紧急请马上打电话：急救 120，火警 119，报警 110。",
}
NAMES: dict[Danger, str] = {
    Danger.FALL: "有人摔倒",
    Danger.FIRE: "着火冒烟",
    Danger.GAS: "燃气泄漏",
    Danger.LIFT: "电梯困人",
    Danger.UNCONSCIOUS: "有人昏迷",
    Danger.CHEST_PAIN: "胸痛",
    Danger.MEDICAL: "急病",
    Danger.ELECTRIC_WATER: "漏水漏电",
    Danger.NEIGHBOUR: "独居邻居可能出事",
    Danger.HELP: "紧急求助",
}
UNDELIVERED = "抱歉，网格员还没收到您的求助，已转给社区工作人员。请一定先打电话：120、119、110。"
ASK_WHERE = "在哪栋楼？回个楼号（比如“3号楼2单元”），我马上通知网格员。"


def advice(danger: Danger, settings: object | None) -> str:
    """What to do now: the community's own numbers where it has them (per-deployment settings)."""
    lift = getattr(settings, "lift_rescue_phone", LIFT_PHONE_DEFAULT)  # "": none in this city
    gas = getattr(settings, "gas_company_phone", None)
    return ADVICE[danger].format(
        lift=f"或 {lift}" if lift else "",
        gas=f"或燃气公司 {gas}" if gas else "或燃气公司",
    )


async def _danger_of(ctx: Context) -> Emergency | None:
    if ctx.msg.kind is not Kind.TEXT or not ctx.msg.text.strip():
        return None
    found = detect(ctx.msg.text)
    if found is not None:
        return found
    # The NLU may know phrasings the rules miss: trust its `emergency` intent too, when sure
    # (a learned model also says it, less sure, of "什么意思"). Not for an answer to a form's
    # step (an address, a count), which would otherwise be parsed for this alone: the form key
    # is prefetched, so asking costs no round trip.
    if await ctx.redis.get(keys.form(ctx.conv)):
        return None
    if ctx.nlu.intent == "emergency" and ctx.nlu.confidence >= NLU_SURE:
        return Emergency(Danger.HELP, ctx.msg.text.strip()[:20])
    return None


@gate(kinds=[Kind.TEXT])
async def is_emergency(ctx: Context) -> bool:
    return await _danger_of(ctx) is not None


@router.message(is_emergency)
async def emergency(ctx: Context) -> HandlerResult:
    """Someone is in danger: the advice and the number first, then the grid worker."""
    found = await _danger_of(ctx)
    assert found is not None
    lines = [advice(found.kind, ctx.services.settings)]
    if await ctx.redis.get(keys.scratch(ctx.conv, "emergency")):
        return lines + ["网格员已经收到您刚才的求助，正在赶来。情况有变化就直接打电话。"]
    where, building, contact = await _known_place(ctx, found)
    data = {
        "kind": found.kind.value,
        "text": ctx.msg.text.strip()[:200],
        "contact": contact,
    }
    if building:
        data.update(where=where, building=building)
        state = await forms.active(ctx)
        if state is not None and state[0] is WHERE_FORM:  # "在哪栋楼" is answered by this
            await forms.clear(ctx)
        lines.append(await _alert(ctx, data))
        return lines
    # Where is unknown: ask only that (a one-step form, so the answer is not read as anything
    # else); the advice above stands whatever they answer.
    if await forms.has_active(ctx):
        await forms.suspend(ctx)  # a sign-up under way waits; offered again afterwards
    return lines + await forms.start(ctx, WHERE_FORM, data)


async def _known_place(ctx: Context, found: Emergency) -> tuple[str, str, str]:
    """(place, building number, emergency contact) from the message, the delivery sign-ups
    (the relative named, else the resident's own) or the resident's last report."""
    text = ctx.msg.text
    where = building = ""
    try:
        where, building = parse_building(text)
        # the place, not the whole message ("5号楼有人在楼道里堆了纸箱子 着火了" → 5号楼)
        where = extract_address(text) or f"{building}号楼"
    except AddressError:
        pass
    who = extract_for_whom(text)
    label = SELF if who in (None, "self") else who
    rows = await Recipient.filter(openid=ctx.user).order_by("-updated_at")
    mine = next((r for r in rows if r.label == label), None)
    if mine is None and label == SELF and len(rows) == 1:
        mine = rows[0]
    contact = ""
    if mine is not None:
        contact = mine.emergency_phone or ""
        if not building:
            where, building = mine.address, mine.building
    if not building:
        last = await GridReport.filter(openid=ctx.user).order_by("-id").first()
        if last is not None and last.building:
            where, building = last.address, last.building
    return where, building, contact


async def _where(ctx: Context, data: forms.Data) -> str:
    text = ctx.msg.text if ctx.msg.kind is Kind.TEXT else ""
    try:
        place, building = parse_building(text)
    except AddressError:
        if data.get("asked"):  # asked twice: alert every grid worker rather than wait
            data["building"] = ""
            return text.strip()[:30] or "楼号不详"
        data["asked"] = True
        raise Invalid("没看到楼号。") from None
    data["building"] = building
    return place[:30]


async def _after_where(ctx: Context, data: forms.Data) -> HandlerResult:
    return await _alert(ctx, data)


WHERE_FORM = Form(
    name="emergency.where",
    title="紧急求助",
    steps=[Step("where", ASK_WHERE, _where)],
    on_done=_after_where,
    # Whatever they say about the place is an answer here ("东门那边有人倒了" is no new report).
    own_intents=frozenset({"contact_grid_worker", "emergency", "find_place", "find_craftsman"}),
    leave_hint=False,
)


async def _alert(ctx: Context, data: forms.Data) -> str:
    """Queue the URGENT alert to the building's grid workers (and a contact who uses the bot)."""
    danger = Danger(data["kind"])
    targets = await grid_workers_for(data["building"], data["where"])
    now = ctx.now()
    contact = data.get("contact") or ""
    family = await _contact_openids(contact, ctx.user)
    # Relatives the resident linked (family/): told at once, like a contact who uses the bot.
    family = sorted(set(family) | set(await relatives_of(ctx.user)))
    text = (
        f"【紧急·{NAMES[danger]}】{data['where']}：{data['text']}\n"
        f"居民刚在公众号求助（{now:%H:%M}），已提醒他打电话。请马上联系、赶到现场。"
        + (f"\n紧急联系人：{contact}" if contact else "")
    )
    if not targets:
        return "本社区还没有登记网格员，请一定先打电话求助。"
    # Not delivered within minutes: the other grid workers and the admins (push/escalation.py).
    backup = await second_people(targets)
    async with in_transaction() as conn:
        report = await GridReport.create(
            openid=ctx.user,
            text=f"【紧急】{data['text']}"[:300],
            address=data["where"][:64],
            building=data["building"][:16],
            phone="",
            forwarded_to=targets,
            using_db=conn,
        )
        for openid in [*targets, *family]:
            await enqueue_text(
                PushChannel.WECHAT_CS,
                openid,
                text if openid in targets else _family_text(danger, data, now),
                dedupe_key=f"emergency:{report.pk}:{openid}",
                using_db=conn,
                urgency=PushUrgency.URGENT,
                escalate_to=backup,
                subject=f"emergency:{report.pk}",
                tell_if_undelivered=(ctx.user, UNDELIVERED),
            )
    await wake(ctx.services.redis)
    await ctx.redis.set(keys.scratch(ctx.conv, "emergency"), str(report.pk), ex=REALERT_AFTER)
    log.warning("emergency alert", extra={"kind": danger.value, "report": report.pk})
    told = "已通知网格员马上过来"
    if family:
        told += "，也告诉了您的紧急联系人"
    elif contact:
        told += f"，网格员会打给您的紧急联系人（{contact}）"
    return told + "。请先打电话求助，别等。"


def _family_text(danger: Danger, data: forms.Data, now: dt.datetime) -> str:
    return (
        f"【紧急】您的家人刚在公众号求助（{now:%H:%M}，{NAMES[danger]}，{data['where']}）："
        f"{data['text']}\n已通知网格员。请马上联系家人。"
    )


_DIGITS = re.compile(r"\D")


async def _contact_openids(phone: str, user: str) -> list[str]:
    """Residents who gave `phone` as their own number in a sign-up: they use the bot."""
    digits = _DIGITS.sub("", phone)
    if len(digits) < 7:
        return []
    rows = await flat(
        Recipient.filter(phone=phone).exclude(openid=user).values_list("openid", flat=True)
    )
    return sorted(set(rows))
