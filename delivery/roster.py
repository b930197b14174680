"""The day's delivery roster: built per area at the cutoff, pushed to the area's volunteers,
reported on by chat, with alerts when nobody answers the door or a line goes unreported.

Every step is claimed with a conditional UPDATE and pushes go through the outbox in the same
transaction, so several workers (or a retried tick) never build, send or alert twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from community.buildings import UNASSIGNED, area_for, covers
from community.roles import Duty
from delivery.days import day_name
from delivery.service import SELF, meal_label, serve_until, sql_for
from family import service as family_links
from family import texts as family_texts
from infra.spreadsheets import safe_row
from models.canteen import Canteen, CanteenMeal, Meal, meal_rank
from models.delivery import MealSlot, Outcome, Signup, SignupStatus
from models.push import PushChannel, PushUrgency
from models.users import Role, RoleGrant
from models.volunteers import Handover, HandoverStatus
from push.outbox import enqueue_text

OVERDUE_AFTER = dt.timedelta(hours=1)  # after the end of the meal
OUTCOME_NAMES = {
    Outcome.DELIVERED: "已送达",
    Outcome.NO_ANSWER: "敲门无人应答",
    Outcome.NOT_HOME: "不在家",
}
REPORT_HINT = (
    "送到后回复“1 送到”；敲门没人应回复“1 没人”；知道不在家回复“1 不在家”。"
    "可一次报多户，如“1 2 3 送到”。"
)


@dataclass(frozen=True)
class Volunteer:
    openid: str
    area: str | None
    grid: bool


async def volunteers(canteen_id: int) -> list[Volunteer]:
    grants = await RoleGrant.filter(role=Role.VOLUNTEER).prefetch_related("user")
    return [
        Volunteer(g.user.openid, g.area, g.duty == Duty.GRID)
        for g in grants
        if g.canteen_id in (None, canteen_id)
    ]


async def staff_of(canteen_id: int) -> list[str]:
    grants = await RoleGrant.filter(
        role=Role.CANTEEN_STAFF, canteen_id=canteen_id
    ).prefetch_related("user")
    return sorted({g.user.openid for g in grants})


def _who(signup: Signup) -> str:
    return (
        "住户本人订" if signup.recipient.label == SELF else f"家属代订（{signup.recipient.label}）"
    )


def roster_line(signup: Signup) -> str:
    r = signup.recipient
    parts = [f"{signup.line_no}. {r.address}", f"{signup.count}份"]
    if r.diet:
        parts.append(f"忌口：{r.diet}")
    parts.append(f"电话 {r.phone}")
    parts.append(_who(signup))
    return "｜".join(parts)


async def _claim(conn: BaseDBAsyncClient, slot: MealSlot, column: str, now: dt.datetime) -> bool:
    sql = sql_for(
        conn,
        f"UPDATE delivery_slots SET {column} = {{}} "
        f"WHERE id = {{}} AND {column} IS NULL RETURNING id",
    )
    rows = await conn.execute_query_dict(sql, [now, slot.pk])
    return bool(rows)


async def build_roster(slot: MealSlot, now: dt.datetime) -> int:
    """Number the slot's lines per area and push each area's list to its volunteers (canteen
    staff get the lines no area covers). Returns the number of lines; 0 if already built."""
    canteen = await Canteen.get(pk=slot.canteen_id)
    crew = await volunteers(slot.canteen_id)
    staff = await staff_of(slot.canteen_id)
    async with in_transaction() as conn:
        if not await _claim(conn, slot, "roster_built_at", now):
            return 0
        signups = (
            await Signup.filter(slot=slot, status=SignupStatus.BOOKED)
            .using_db(conn)
            .prefetch_related("recipient")
        )
        areas = [v.area for v in crew if v.area]
        by_area: dict[str, list[Signup]] = defaultdict(list)
        for s in signups:
            by_area[area_for(areas, s.recipient.building, s.recipient.address)].append(s)
        line = 0
        for area in sorted(by_area, key=lambda a: (a == UNASSIGNED, a)):
            lines = sorted(
                by_area[area],
                key=lambda s: (int(s.recipient.building), s.recipient.address),
            )
            for s in lines:
                line += 1
                s.area, s.line_no = area, line
                await s.save(using_db=conn, update_fields=["area", "line_no", "updated_at"])
            portions = sum(s.count for s in lines)
            head = (
                f"【送餐名单】{canteen.name} {day_name(slot.date)}{meal_label(slot.meal)}"
                f" · {area} · 共{len(lines)}户{portions}份"
            )
            text = "\n".join([head, *(roster_line(s) for s in lines), REPORT_HINT])
            if area == UNASSIGNED:
                targets = staff
                text = text.replace("【送餐名单】", "【送餐名单·无人负责的片区，请安排】", 1)
            else:
                targets = sorted({v.openid for v in crew if v.area == area})
            for openid in targets:
                await enqueue_text(
                    PushChannel.WECHAT_CS,
                    openid,
                    text,
                    dedupe_key=f"roster:{slot.pk}:{area}:{openid}",
                    using_db=conn,
                    # A volunteer without the roster means meals not delivered: retried for
                    # hours, then the canteen staff get it (push/escalation.py).
                    urgency=PushUrgency.IMPORTANT,
                    escalate_to=staff,
                    subject=f"roster:{slot.pk}",
                )
    return line


# ---- reports from volunteers ---------------------------------------------------------------


@dataclass(frozen=True)
class ReportResult:
    done: list[int]
    unknown: list[int]
    alerted: int


def _reaches(grants: list[RoleGrant], signup: Signup) -> bool:
    """Whether one of these volunteer grants covers this roster line (its canteen and area)."""
    r = signup.recipient
    return any(
        g.canteen_id in (None, signup.slot.canteen_id)
        and (not g.area or g.area == signup.area or covers(g.area, r.building, r.address))
        for g in grants
    )


@dataclass(frozen=True)
class Handed:
    """Where a line went by handovers today: the last settled one, and everyone who gave it."""

    last: Handover
    givers: frozenset[str]


async def handed_on(day: dt.date) -> dict[int, Handed]:
    """The day's lines moved by a settled handover (今天我去不了: taken by a volunteer, or back
    to the staff), by sign-up id. An offer still waiting moves nothing."""
    out: dict[int, Handed] = {}
    settled = Handover.filter(
        day=day, status__in=[HandoverStatus.TAKEN, HandoverStatus.TO_STAFF]
    ).order_by("id")
    for h in await settled:
        for sid in h.signup_ids:
            before = out.get(sid)
            givers = (before.givers if before else frozenset()) | {h.giver}
            out[sid] = Handed(h, givers)
    return out


def _follows(volunteer: str, handed: dict[int, Handed], signup: Signup, reaches: bool) -> bool:
    """Whether a line is this volunteer's: the roster follows a handover. A line taken over is
    its taker's alone; a line that went back to the staff is no longer its givers'."""
    moved = handed.get(signup.pk)
    if moved is None:
        return reaches
    if moved.last.status == HandoverStatus.TAKEN:
        return moved.last.taker == volunteer
    return reaches and volunteer not in moved.givers


async def _lines_for(
    volunteer: str, numbers: list[int], today: dt.date, slot_id: int | None = None
) -> list[Signup]:
    """The volunteer's lines with these numbers on the most recent roster of today (or on the
    roster of `slot_id`, when the caller knows which one, as the mini-program does)."""
    grants = await RoleGrant.filter(user__openid=volunteer, role=Role.VOLUNTEER)
    handed = await handed_on(today)
    slots = MealSlot.filter(date=today, roster_built_at__isnull=False)
    if slot_id is not None:
        slots = slots.filter(pk=slot_id)
    for slot in await slots.order_by("-roster_built_at"):
        if not any(g.canteen_id in (None, slot.canteen_id) for g in grants):
            continue
        lines = await Signup.filter(
            slot=slot, line_no__in=numbers, status=SignupStatus.BOOKED
        ).prefetch_related("recipient", "slot")
        mine = [s for s in lines if _follows(volunteer, handed, s, _reaches(grants, s))]
        if mine:
            return mine
    return []


async def volunteer_lines(volunteer: str, day: dt.date) -> list[Signup]:
    """Every line of the day's built rosters that this volunteer's areas cover (or that they
    took over, less what they handed on), by meal and line number: what they may report on."""
    grants = await RoleGrant.filter(user__openid=volunteer, role=Role.VOLUNTEER)
    if not grants:
        return []
    lines = await Signup.filter(
        slot__date=day,
        slot__roster_built_at__isnull=False,
        status=SignupStatus.BOOKED,
        line_no__isnull=False,
    ).prefetch_related("recipient", "slot")
    handed = await handed_on(day)
    mine = [s for s in lines if _follows(volunteer, handed, s, _reaches(grants, s))]
    return sorted(mine, key=lambda s: (meal_rank(s.slot.meal), s.slot.canteen_id, s.line_no))


async def report(
    volunteer: str,
    numbers: list[int],
    outcome: Outcome,
    now: dt.datetime,
    slot_id: int | None = None,
) -> ReportResult:
    lines = await _lines_for(volunteer, numbers, now.date(), slot_id)
    found = {s.line_no for s in lines}
    alerted = 0
    for signup in lines:
        async with in_transaction() as conn:
            await (
                Signup.filter(pk=signup.pk)
                .using_db(conn)
                .update(outcome=outcome, reported_by=volunteer, reported_at=now)
            )
            if outcome != Outcome.DELIVERED:
                alerted += await _alert(conn, signup, outcome, volunteer, now)
    return ReportResult(
        sorted(n for n in numbers if n in found),
        sorted(n for n in numbers if n not in found),
        alerted,
    )


async def _alert(
    conn: BaseDBAsyncClient,
    signup: Signup,
    outcome: Outcome | None,
    reporter: str | None,
    now: dt.datetime,
) -> int:
    """Tell the area's grid worker (else its other volunteers, else the canteen staff), and the
    relative who ordered. Once per sign-up (alerted_at). Returns messages queued."""
    claimed = (
        await Signup.filter(pk=signup.pk, alerted_at__isnull=True)
        .using_db(conn)
        .update(alerted_at=now)
    )
    if not claimed:
        return 0
    slot, r = signup.slot, signup.recipient
    crew = [
        v
        for v in await volunteers(slot.canteen_id)
        if v.openid != reporter and covers(v.area, r.building, r.address)
    ]
    targets = sorted({v.openid for v in crew if v.grid}) or sorted({v.openid for v in crew})
    if not targets:
        targets = await staff_of(slot.canteen_id)
    when = f"{day_name(slot.date)}{meal_label(slot.meal)}"
    if outcome is None:
        what = f"送到{r.address}的{when}过了送餐时间一小时还没有人报告是否送到"
    else:
        what = f"{when}送到{r.address}时{OUTCOME_NAMES[outcome]}（{now:%H:%M}志愿者报告）"
    contact = f"住户电话 {r.phone}"
    if r.emergency_phone:
        contact += f"；紧急联系人 {r.emergency_phone}"
    text = f"【送餐提醒】{what}。{contact}。请尽快联系或上门看看。"
    backup = [s for s in await staff_of(slot.canteen_id) if s not in targets]
    queued = 0
    for openid in targets:
        await enqueue_text(
            PushChannel.WECHAT_CS,
            openid,
            text,
            dedupe_key=f"alert:{signup.pk}:{openid}",
            using_db=conn,
            # A welfare alert: retried for hours, then the canteen staff (push/escalation.py).
            urgency=PushUrgency.IMPORTANT,
            escalate_to=backup,
            subject=f"alert:{signup.pk}",
        )
        queued += 1
    if r.label != SELF:  # the relative who ordered is the family's first contact
        family = f"【送餐提醒】您为{r.label}订的{what}。已通知网格员，请您也尽快联系{r.label}。"
        await enqueue_text(
            PushChannel.WECHAT_CS,
            r.openid,
            family,
            dedupe_key=f"alert:{signup.pk}:family",
            using_db=conn,
        )
        queued += 1
    else:  # the elder's own line: the relatives the elder linked (family/) are told too
        for openid in await family_links.relatives_of(r.openid, using_db=conn):
            await enqueue_text(
                PushChannel.WECHAT_CS,
                openid,
                family_texts.delivery_alert(what),
                dedupe_key=f"alert:{signup.pk}:family:{openid}",
                using_db=conn,
            )
            queued += 1
    return queued


async def alert_overdue(slot: MealSlot, meal: CanteenMeal, now: dt.datetime) -> int:
    """An hour after the meal, alert once for every line nobody reported. Returns lines."""
    if now < serve_until(meal, slot.date) + OVERDUE_AFTER:
        return 0
    async with in_transaction() as conn:
        if not await _claim(conn, slot, "overdue_checked_at", now):
            return 0
        silent = (
            await Signup.filter(
                slot=slot, status=SignupStatus.BOOKED, outcome__isnull=True, alerted_at__isnull=True
            )
            .using_db(conn)
            .prefetch_related("recipient", "slot")
        )
        for signup in silent:
            await _alert(conn, signup, None, None, now)
    return len(silent)


# ---- for canteen staff -----------------------------------------------------------------------

CSV_COLUMNS = [
    "date", "meal", "line", "area", "address", "count", "diet", "phone", "emergency_phone",
    "ordered_for", "status", "outcome", "reported_at",
]  # fmt: skip


async def booked_on(
    canteen_id: int, day: dt.date, meal: Meal | str
) -> tuple[MealSlot | None, list[Signup]]:
    """One meal's slot on `day` (None before anyone signed up) and its booked sign-ups in
    roster order (line numbers, given at the cutoff, then sign-up order)."""
    slot = await MealSlot.get_or_none(canteen_id=canteen_id, date=day, meal=meal)
    if slot is None:
        return None, []
    signups = (
        await Signup.filter(slot=slot, status=SignupStatus.BOOKED)
        .order_by("line_no", "id")
        .prefetch_related("recipient")
    )
    return slot, list(signups)


async def day_signups(canteen_id: int, day: dt.date) -> list[Signup]:
    rows = await Signup.filter(slot__canteen_id=canteen_id, slot__date=day).prefetch_related(
        "recipient", "slot"
    )
    return sorted(
        rows, key=lambda s: (meal_rank(s.slot.meal), s.line_no or 10**6, s.recipient.address)
    )


async def export_csv(canteen_id: int, day: dt.date) -> str:
    """The day's sign-ups and delivery results as CSV (UTF-8 with BOM, so Excel reads it).
    Residents' text (address, diet, label) is made safe to open: never a formula (safe_row)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for s in await day_signups(canteen_id, day):
        r = s.recipient
        writer.writerow(
            safe_row([
                s.slot.date.isoformat(), s.slot.meal, s.line_no or "", s.area or "", r.address,
                s.count, r.diet, r.phone, r.emergency_phone or "", r.label, s.status,
                s.outcome or "", s.reported_at.isoformat() if s.reported_at else "",
            ])
        )  # fmt: skip
    return out.getvalue()


async def day_summary(canteen: Canteen, day: dt.date, console: str = "") -> str:
    """The day's sign-ups for the staff; `console` is the staff console's address, where the
    full list can be exported (never a command line: staff read this in WeChat)."""
    rows = [s for s in await day_signups(canteen.pk, day) if s.status == SignupStatus.BOOKED]
    slots = {s.meal: s for s in await MealSlot.filter(canteen_id=canteen.pk, date=day)}
    if not rows:
        return f"{day_name(day)}没有送餐报名。"
    lines = [f"{canteen.name} {day_name(day)}送餐："]
    for meal in (Meal.BREAKFAST, Meal.LUNCH, Meal.DINNER):
        mine = [s for s in rows if s.slot.meal == meal]
        if not mine:
            continue
        slot = slots[meal]
        counts = {o: sum(1 for s in mine if s.outcome == o) for o in Outcome}
        pending = sum(1 for s in mine if s.outcome is None)
        state = "名单已推送" if slot.roster_built_at else "未到截止时间"
        lines.append(
            f"{meal_label(meal)}：{len(mine)}户{sum(s.count for s in mine)}份"
            f"（名额{slot.booked}/{slot.capacity}，{state}）"
            f" 已送达{counts[Outcome.DELIVERED]} 无人应答{counts[Outcome.NO_ANSWER]}"
            f" 不在家{counts[Outcome.NOT_HOME]} 未报告{pending}"
        )
        for s in mine:
            result = OUTCOME_NAMES.get(s.outcome, "未报告") if s.outcome else "未报告"
            number = f"{s.line_no}. " if s.line_no else ""
            lines.append(f"  {number}{s.recipient.address} {s.count}份 {result}")
    if console:
        lines.append(f"完整名单和导出请用管理后台：{console}")
    return "\n".join(lines)
