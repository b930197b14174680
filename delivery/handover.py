"""今天我去不了: a volunteer who cannot do today's round offers it to the other volunteers of
their area, each told how many homes and where. The first to answer 我来送 (or 接 12, the offer's
number) takes it: the roster follows (their 我的名单 shows the lines, the first volunteer's no
longer does, delivery.roster.handed_on), the staff are told who took it, and those who answer
later hear it is taken. Nobody within the wait (30 minutes, or until the meal's delivery time
if sooner): it goes back to the staff with a push (`expire_due`, on the delivery scheduler's
tick). While nobody has accepted, the volunteer may take it back (我又能去了). With nobody else
in the area, the staff get it at once.

The offer is a row (models.volunteers.Handover), moved out of OFFERED only by a conditional
UPDATE: of two volunteers accepting at the same moment exactly one wins, on SQLite as on
PostgreSQL, and the accepted handover stays for the points and the console."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from community.clock import SHANGHAI
from community.errors import DomainError
from delivery import points, texts
from delivery.roster import REPORT_HINT, roster_line, staff_of, volunteer_lines, volunteers
from models.canteen import CanteenMeal
from models.delivery import Signup, SignupStatus
from models.push import PushChannel, PushUrgency
from models.users import Role, RoleGrant
from models.volunteers import Handover, HandoverStatus
from push.outbox import enqueue_text

# How long an offer waits for a volunteer before it goes back to the staff (the settings'
# HANDOVER_WAIT_MINUTES, passed in by the chat), and never past the meal's delivery time, but
# always at least MIN_WAIT (an offer made at 11:10 for an 11:00 meal still gets a few minutes).
DEFAULT_WAIT = dt.timedelta(minutes=30)
MIN_WAIT = dt.timedelta(minutes=5)


def name_of(openid: str) -> str:
    """How a volunteer is named to others (the openid's tail, as on the points list)."""
    return f"志愿者…{openid[-4:]}"


@dataclass(frozen=True)
class HandOver:
    handover: Handover
    lines: int  # lines handed over
    to_volunteers: list[str]
    to_staff: list[str]


async def _deadline(now: dt.datetime, lines: list[Signup], wait: dt.timedelta) -> dt.datetime:
    """`now + wait`, or the earliest delivery start of the lines' meals if sooner; at least
    MIN_WAIT from now."""
    latest = now + wait
    for s in lines:
        meal = await CanteenMeal.get_or_none(canteen_id=s.slot.canteen_id, meal=s.slot.meal)
        if meal is not None:
            start = dt.datetime.combine(
                s.slot.date, dt.time.fromisoformat(meal.serve_from), tzinfo=SHANGHAI
            )
            latest = min(latest, start)
    return max(latest, now + MIN_WAIT)


def _where(lines: list[Signup]) -> str:
    shown = "、".join(s.recipient.address for s in lines[:6])
    return shown + (f"等{len(lines)}户" if len(lines) > 6 else "")


def _hhmm(at: dt.datetime) -> str:
    return f"{at.astimezone(SHANGHAI):%H:%M}"


async def hand_over(
    volunteer: str, now: dt.datetime, wait: dt.timedelta = DEFAULT_WAIT
) -> HandOver:
    """Offer the volunteer's undelivered lines of today to the other volunteers of their area
    (or give them to the staff when nobody else covers it)."""
    grants = await RoleGrant.filter(user__openid=volunteer, role=Role.VOLUNTEER)
    if not grants:
        raise DomainError(texts.NOT_VOLUNTEER_ROUND, code="not_volunteer")
    today = now.astimezone(SHANGHAI).date()
    if await Handover.exists(giver=volunteer, day=today, status=HandoverStatus.OFFERED):
        raise DomainError(texts.ALREADY_OFFERED, code="already_offered")
    lines = [s for s in await volunteer_lines(volunteer, today) if s.outcome is None]
    if not lines:
        raise DomainError(texts.NOTHING_TO_HAND_OVER, code="nothing_to_hand_over")
    areas = {g.area for g in grants if g.area}
    others: set[str] = set()
    staff: set[str] = set()
    for canteen_id in {s.slot.canteen_id for s in lines}:
        others |= {
            v.openid
            for v in await volunteers(canteen_id)
            if v.area in areas and v.openid != volunteer
        }
        staff |= set(await staff_of(canteen_id))
    where = "、".join(sorted(areas)) or "全部片区"
    body = "\n".join(roster_line(s) for s in lines)
    deadline = await _deadline(now, lines, wait)
    async with in_transaction() as conn:
        h = await Handover.create(
            day=today,
            giver=volunteer,
            area=where[:64],
            signup_ids=[s.pk for s in lines],
            offered_to=sorted(others),
            staff=sorted(staff),
            status=HandoverStatus.OFFERED if others else HandoverStatus.TO_STAFF,
            created_at=now,
            expires_at=deadline,
            settled_at=None if others else now,
            using_db=conn,
        )
        offer = texts.handover_offer(where, len(lines), _where(lines), _hhmm(deadline), h.pk)
        for target in sorted(others):
            await enqueue_text(
                PushChannel.WECHAT_CS,
                target,
                offer,
                dedupe_key=f"handover:{h.pk}:offer:{target}",
                using_db=conn,
                # Meals waiting: retried; the staff hear of the round anyway (below, and when
                # nobody takes it in time).
                urgency=PushUrgency.IMPORTANT,
                subject=f"handover:{today}",
            )
        for target in sorted(staff):
            await enqueue_text(
                PushChannel.WECHAT_CS,
                target,
                texts.handover_for_staff(where, len(lines), body, len(others), _hhmm(deadline)),
                dedupe_key=f"handover:{h.pk}:staff:{target}",
                using_db=conn,
                urgency=PushUrgency.IMPORTANT,
                subject=f"handover:{today}",
            )
    return HandOver(h, len(lines), sorted(others), sorted(staff))


async def _still_to_deliver(h: Handover) -> list[Signup]:
    rows = await Signup.filter(
        pk__in=h.signup_ids, status=SignupStatus.BOOKED, outcome__isnull=True
    ).prefetch_related("recipient", "slot")
    return sorted(rows, key=lambda s: (s.slot_id, s.line_no or 0))


async def _tell(
    conn: BaseDBAsyncClient,
    h: Handover,
    who: list[str],
    text: str,
    step: str,
    urgency: PushUrgency = PushUrgency.ROUTINE,
) -> None:
    for target in who:
        await enqueue_text(
            PushChannel.WECHAT_CS,
            target,
            text,
            dedupe_key=f"handover:{h.pk}:{step}:{target}",
            using_db=conn,
            urgency=urgency,
            subject=f"handover:{h.day}",
        )


def _gone(h: Handover, volunteer: str) -> DomainError:
    """Why an offer can no longer be taken, in the words for this volunteer."""
    if h.status == HandoverStatus.TAKEN and h.taker == volunteer:
        return DomainError(texts.ALREADY_YOURS, code="already_yours")
    message = {
        HandoverStatus.TAKEN: texts.ALREADY_TAKEN,
        HandoverStatus.TO_STAFF: texts.GONE_TO_STAFF,
        HandoverStatus.WITHDRAWN: texts.GIVER_CAN_GO,
    }.get(h.status, texts.ALREADY_TAKEN)
    return DomainError(message, code="taken")


@dataclass(frozen=True)
class Taken:
    handover: Handover
    lines: list[Signup]


async def offered_to(volunteer: str, day: dt.date) -> list[Handover]:
    """Today's handovers offered to this volunteer (any state), oldest first."""
    rows = await Handover.filter(day=day).exclude(giver=volunteer).order_by("id")
    return [h for h in rows if volunteer in h.offered_to]


async def accept(
    volunteer: str,
    now: dt.datetime,
    number: int | None = None,
    weights: points.Weights = points.WEIGHTS,
) -> Taken:
    """我来送 / 接 12: the volunteer takes an offered round. Exactly one of several volunteers
    answering at once gets it; the others are told it is taken."""
    today = now.astimezone(SHANGHAI).date()
    offers = await offered_to(volunteer, today)
    if number is not None:
        offers = [h for h in offers if h.pk == number]
    if not offers:
        raise DomainError(texts.NO_OFFER, code="no_offer")
    waiting = [h for h in offers if h.status == HandoverStatus.OFFERED]
    if not waiting:
        raise _gone(offers[-1], volunteer)
    if len(waiting) > 1:
        choices = [(h.pk, h.area, len(h.signup_ids)) for h in waiting]
        raise DomainError(texts.which_offer(choices), code="which")
    h = waiting[0]
    async with in_transaction() as conn:
        won = (
            await Handover.filter(pk=h.pk, status=HandoverStatus.OFFERED)
            .using_db(conn)
            .update(status=HandoverStatus.TAKEN, taker=volunteer, settled_at=now)
        )
        if won:
            await points.credit_task(
                volunteer, points.HANDOVER, f"handover:{h.pk}", now, using_db=conn,
                note=f"接手{name_of(h.giver)}的{len(h.signup_ids)}户", weights=weights,
            )  # fmt: skip
            n = len(h.signup_ids)
            taker = name_of(volunteer)
            await _tell(conn, h, [h.giver], texts.taken_for_giver(taker, n), "taken")
            await _tell(
                conn, h, h.staff, texts.taken_for_staff(h.area, name_of(h.giver), taker, n),
                "taken",
            )  # fmt: skip
            others = [o for o in h.offered_to if o != volunteer]
            await _tell(conn, h, others, texts.TAKEN_FOR_OTHERS, "taken")
    if not won:
        await h.refresh_from_db()
        raise _gone(h, volunteer)
    await h.refresh_from_db()
    return Taken(h, await _still_to_deliver(h))


async def take_back(volunteer: str, now: dt.datetime) -> Handover:
    """我又能去了: the volunteer's offer still waiting is withdrawn; the lines stay theirs."""
    today = now.astimezone(SHANGHAI).date()
    mine = await Handover.filter(giver=volunteer, day=today).order_by("-id").first()
    if mine is None:
        raise DomainError(texts.NOTHING_TO_TAKE_BACK, code="no_offer")
    async with in_transaction() as conn:
        moved = (
            await Handover.filter(pk=mine.pk, status=HandoverStatus.OFFERED)
            .using_db(conn)
            .update(status=HandoverStatus.WITHDRAWN, settled_at=now)
        )
        if moved:
            await _tell(conn, mine, mine.offered_to, texts.WITHDRAWN_FOR_OTHERS, "withdrawn")
            await _tell(conn, mine, mine.staff, texts.withdrawn_for_staff(mine.area), "withdrawn")
    await mine.refresh_from_db()
    if not moved:
        if mine.status == HandoverStatus.TAKEN:
            raise DomainError(texts.TAKE_BACK_TAKEN, code="taken")
        if mine.status == HandoverStatus.TO_STAFF:
            raise DomainError(texts.TAKE_BACK_TO_STAFF, code="to_staff")
        raise DomainError(texts.NOTHING_TO_TAKE_BACK, code="no_offer")
    return mine


async def expire_due(now: dt.datetime) -> int:
    """Offers nobody accepted in time go back to the staff (a push with the lines still to
    deliver); the volunteer and those offered are told. Returns handovers moved."""
    moved_count = 0
    for h in await Handover.filter(status=HandoverStatus.OFFERED, expires_at__lte=now):
        lines = await _still_to_deliver(h)
        body = "\n".join(roster_line(s) for s in lines)
        async with in_transaction() as conn:
            moved = (
                await Handover.filter(pk=h.pk, status=HandoverStatus.OFFERED)
                .using_db(conn)
                .update(status=HandoverStatus.TO_STAFF, settled_at=now)
            )
            if not moved:
                continue
            moved_count += 1
            await _tell(conn, h, h.offered_to, texts.EXPIRED_FOR_OTHERS, "expired")
            if not lines:  # delivered meanwhile, or the day was closed: nothing to arrange
                continue
            await _tell(
                conn, h, h.staff, texts.expired_for_staff(h.area, len(lines), body), "expired",
                PushUrgency.IMPORTANT,
            )  # fmt: skip
            await _tell(conn, h, [h.giver], texts.expired_for_giver(len(lines)), "expired")
    return moved_count


async def of_day(day: dt.date) -> list[Handover]:
    """The day's handovers, oldest first (the console's list)."""
    return list(await Handover.filter(day=day).order_by("id"))


def taken_reply(taken: Taken) -> str:
    """What the volunteer who accepted is told: the lines, as on a roster."""
    if not taken.lines:
        return texts.taken_nothing_left()
    body = "\n".join(roster_line(s) for s in taken.lines)
    return texts.taken_reply(len(taken.lines), body, REPORT_HINT)
