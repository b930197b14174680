"""Meal-delivery rules shared by the bot, the CLI and the REST API: cutoffs, places, bookings.

Places are counted in `MealSlot.booked` and only change through conditional UPDATEs inside the
transaction that writes the sign-up, so a meal is never overbooked, whatever the number of
server processes, and a failed sign-up leaves no count behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from canteen.service import default_canteen, meals_of
from community.clock import SHANGHAI
from community.errors import DomainError
from delivery import round_off, subsidy, texts
from delivery.days import day_name
from infra.orm import flat
from models.canteen import MEAL_NAMES, Canteen, CanteenMeal, Meal, meal_rank
from models.delivery import MealSlot, Recipient, Signup, SignupStatus
from models.push import PushChannel, PushUrgency
from models.users import Role, RoleGrant
from push.outbox import enqueue_text

MAX_COUNT = 5  # portions per meal for one address
MAX_DAYS = 31  # days in one sign-up: a month at a time
SELF = "本人"
# Residents' limits, unless the canteen sets its own (Canteen.portions_per_*): one account held
# 10 recipients × 5 portions × 31 days in under a minute, and the next resident found every
# meal full. Staff bookings are exempt.
PORTIONS_PER_ACCOUNT = 6  # one account, one meal on one day, all its recipients together
PORTIONS_PER_RECIPIENT = MAX_COUNT  # one recipient, one meal on one day


class Result(StrEnum):
    BOOKED = "booked"
    UPDATED = "updated"  # was booked already; the count changed
    ALREADY = "already"  # booked already, same count
    FULL = "full"
    CLOSED = "closed"  # past the sign-up cutoff
    LIMIT = "limit"  # past the canteen's per-account or per-recipient limit (residents)
    DAY_CLOSED = "day_closed"  # the canteen closed that meal on that day (停餐)
    SOLD_OUT = "sold_out"  # the staff said that meal is sold out (售罄)


@dataclass(frozen=True)
class Booking:
    day: dt.date
    meal: Meal
    result: Result
    count: int
    # For LIMIT, DAY_CLOSED, SOLD_OUT: what to tell the resident (the chat and the API show it)
    reason: str = ""


def recipient_limit_text(limit: int) -> str:
    return f"每位送餐对象每餐最多订{limit}份。"


def account_limit_text(limit: int, held: int) -> str:
    others = f"您这一餐已给其他家人订了{held}份，" if held else ""
    return f"{others}每个账号每餐最多订{limit}份。如有特殊需要，请联系食堂。"


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def cutoff_at(meal: CanteenMeal, day: dt.date) -> dt.datetime:
    """Sign-ups (and cancellations) for `day` close then: the same day, or the evening before
    when the cutoff is later than the meal (breakfast, cutoff 20:00)."""
    if meal.signup_cutoff > meal.serve_from:
        return _at(day - dt.timedelta(days=1), meal.signup_cutoff)
    return _at(day, meal.signup_cutoff)


def serve_until(meal: CanteenMeal, day: dt.date) -> dt.datetime:
    return _at(day, meal.serve_until)


def meal_label(meal: Meal | str) -> str:
    return MEAL_NAMES[Meal(meal)]


async def delivered_meals(canteen: Canteen) -> list[CanteenMeal]:
    """The canteen's meals that deliver (capacity above zero), breakfast to dinner."""
    return [m for m in await meals_of(canteen) if m.delivery_capacity > 0]


async def slot_for(meal: CanteenMeal, day: dt.date) -> MealSlot:
    """The day's slot, created on first use with the meal's capacity (safe when two race)."""
    slot = await MealSlot.get_or_none(canteen_id=meal.canteen_id, date=day, meal=meal.meal)  # type: ignore[attr-defined]
    if slot is not None:
        return slot
    try:
        return await MealSlot.create(
            canteen_id=meal.canteen_id,  # type: ignore[attr-defined]
            date=day,
            meal=meal.meal,
            capacity=meal.delivery_capacity,
        )
    except IntegrityError:
        return await MealSlot.get(canteen_id=meal.canteen_id, date=day, meal=meal.meal)  # type: ignore[attr-defined]


def sql_for(conn: BaseDBAsyncClient, template: str) -> str:
    """`{}` placeholders in the connection's own style ($1 on PostgreSQL, ? on SQLite)."""
    if conn.capabilities.dialect == "postgres":
        count = template.count("{}")
        return template.format(*(f"${i}" for i in range(1, count + 1)))
    return template.replace("{}", "?")


async def _lock(conn: BaseDBAsyncClient, slot_id: int) -> None:
    """Start the booking transaction with a write to the slot: PostgreSQL locks its row, and
    SQLite takes its write lock now, waiting its busy timeout (a transaction that reads first
    and writes later fails at once with "database is locked" when another process wrote)."""
    await conn.execute_query(
        sql_for(conn, "UPDATE delivery_slots SET booked = booked WHERE id = {}"), [slot_id]
    )


async def _take(conn: BaseDBAsyncClient, slot_id: int, places: int) -> bool:
    """Take `places` (may be negative to give back) if they are free; atomic in the database."""
    sql = sql_for(
        conn,
        "UPDATE delivery_slots SET booked = booked + {} "
        "WHERE id = {} AND booked + {} <= capacity AND booked + {} >= 0 RETURNING id",
    )
    # Fetch, not execute: the rows RETURNING gives are the proof (on both databases).
    rows = await conn.execute_query_dict(sql, [places, slot_id, places, places])
    return bool(rows)


async def _limits(conn: BaseDBAsyncClient, canteen_id: int) -> tuple[int, int]:
    """(portions per account, portions per recipient) for one meal at this canteen."""
    row = (
        await Canteen.filter(pk=canteen_id)
        .using_db(conn)
        .values("portions_per_account", "portions_per_recipient")
    )
    account = row[0]["portions_per_account"] if row else None
    recipient = row[0]["portions_per_recipient"] if row else None
    return (
        PORTIONS_PER_ACCOUNT if account is None else account,
        PORTIONS_PER_RECIPIENT if recipient is None else recipient,
    )


async def _is_staff(conn: BaseDBAsyncClient, openid: str, canteen_id: int) -> bool:
    """Staff of this canteen, or an admin: their bookings (for others) are not limited."""
    return await (
        RoleGrant.filter(user__openid=openid)
        .filter(Q(role=Role.ADMIN) | Q(role=Role.CANTEEN_STAFF, canteen_id=canteen_id))
        .using_db(conn)
        .exists()
    )


async def _over_limit(
    conn: BaseDBAsyncClient, recipient: Recipient, slot: MealSlot, count: int
) -> str:
    """Why `count` portions for `recipient` would pass the canteen's limits ("" if they don't).
    Runs after the slot is locked, so two bookings by one account cannot both slip under."""
    per_account, per_recipient = await _limits(conn, slot.canteen_id)
    if count > per_recipient:
        return recipient_limit_text(per_recipient)
    others = await flat(
        Signup.filter(
            slot_id=slot.pk, status=SignupStatus.BOOKED, recipient__openid=recipient.openid
        )
        .exclude(recipient_id=recipient.pk)
        .using_db(conn)
        .values_list("count", flat=True)
    )
    held = sum(others)
    if held + count > per_account:
        return account_limit_text(per_account, held)
    return ""


async def book(
    recipient: Recipient,
    meal: CanteenMeal,
    day: dt.date,
    count: int,
    now: dt.datetime,
    *,
    by_staff: bool = False,
) -> Booking:
    """Book `count` portions of `meal` on `day` for `recipient`; never more than the capacity.

    A resident's booking stays within the canteen's limits (portions per account and per
    recipient, for one meal): past them the result is LIMIT with the reason to show. Staff
    bookings are exempt: `by_staff` (staff booking for residents, e.g. a pasted 接龙 list), or
    the booking account is staff of this canteen or an admin."""
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"count must be 1..{MAX_COUNT}")
    if now >= cutoff_at(meal, day):
        return Booking(day, meal.meal, Result.CLOSED, count)
    slot = await slot_for(meal, day)
    # The meal's subsidy terms (tier, price, subsidy), recorded with the sign-up (subsidy.py).
    stamp = (await subsidy.terms(recipient, meal, day)).fields()
    try:
        async with in_transaction() as conn:
            await _lock(conn, slot.pk)
            existing = await Signup.filter(recipient=recipient, slot=slot).using_db(conn).first()
            held = existing.count if existing and existing.status == SignupStatus.BOOKED else 0
            if held == count:
                return Booking(day, meal.meal, Result.ALREADY, count)
            if count > held and not by_staff:
                reason = await _over_limit(conn, recipient, slot, count)
                if reason and not await _is_staff(conn, recipient.openid, slot.canteen_id):
                    return Booking(day, meal.meal, Result.LIMIT, count, reason)
            if not await _take(conn, slot.pk, count - held):
                refused = await _why_no_places(conn, slot.pk, meal)
                if refused is Result.FULL:
                    return Booking(day, meal.meal, Result.FULL, count)
                reason = await _refusal(refused, meal, day, count, now)
                return Booking(day, meal.meal, refused, count, reason)
            if existing is None:
                await Signup.create(
                    recipient=recipient, slot=slot, count=count, **stamp, using_db=conn
                )
            else:
                existing.count, existing.status = count, SignupStatus.BOOKED
                existing.update_from_dict(stamp)
                await existing.save(
                    using_db=conn, update_fields=["count", "status", *stamp, "updated_at"]
                )
    except IntegrityError:
        # The same recipient, meal and day signed up twice at the same moment: one row won.
        return Booking(day, meal.meal, Result.ALREADY, count)
    return Booking(day, meal.meal, Result.UPDATED if held else Result.BOOKED, count)


async def _why_no_places(conn: BaseDBAsyncClient, slot_id: int, meal: CanteenMeal) -> Result:
    """Why a slot took no more places: closed (停餐 leaves it no places at all), sold out (售罄
    lowered its places to what was booked), or simply full (its places are the meal's own).
    A meal sold out before anyone booked it has no places either: it reads as closed, which to
    a resident is the same (no delivery of that meal that day)."""
    rows = await MealSlot.filter(pk=slot_id).using_db(conn).values("capacity")
    capacity = rows[0]["capacity"] if rows else 0
    if capacity <= 0 < meal.delivery_capacity:
        return Result.DAY_CLOSED
    if capacity < meal.delivery_capacity:
        return Result.SOLD_OUT
    return Result.FULL


async def _other_open_meal(
    meal: CanteenMeal, day: dt.date, count: int, now: dt.datetime
) -> CanteenMeal | None:
    """Another delivered meal of the same canteen on `day` that still takes `count` places."""
    others = await CanteenMeal.filter(
        canteen_id=meal.canteen_id,  # type: ignore[attr-defined]
        delivery_capacity__gt=0,
    ).exclude(meal=meal.meal)
    for other in sorted(others, key=lambda m: meal_rank(m.meal)):
        if now >= cutoff_at(other, day):
            continue
        slot = await MealSlot.get_or_none(
            canteen_id=meal.canteen_id,  # type: ignore[attr-defined]
            date=day,
            meal=other.meal,
        )
        free = other.delivery_capacity if slot is None else slot.capacity - slot.booked
        if free >= count:
            return other
    return None


async def _refusal(
    refused: Result, meal: CanteenMeal, day: dt.date, count: int, now: dt.datetime
) -> str:
    """The words for a closed day or a sold-out meal, with what is still open: that day's
    other meal, else the next day this meal takes sign-ups."""
    today = now.astimezone(SHANGHAI).date()
    other = await _other_open_meal(meal, day, count, now)
    later = None if other else await next_open_day(meal, day, count, now)
    offer = (
        texts.other_meal_open(meal_label(other.meal), day, count)
        if other
        else texts.later_day_open(day_name(later, today), later, meal_label(meal.meal), count)
        if later
        else ""
    )
    said = day_name(day, today)
    if refused is Result.DAY_CLOSED:
        return texts.booking_day_closed(said, meal_label(meal.meal), offer)
    return texts.booking_sold_out(said, meal_label(meal.meal), offer)


async def next_open_day(
    meal: CanteenMeal, after: dt.date, count: int, now: dt.datetime, within: int = 7
) -> dt.date | None:
    """The first day after `after` that still takes `count` more sign-ups for `meal`."""
    for i in range(1, within + 1):
        day = after + dt.timedelta(days=i)
        if now >= cutoff_at(meal, day):
            continue
        slot = await MealSlot.get_or_none(canteen_id=meal.canteen_id, date=day, meal=meal.meal)  # type: ignore[attr-defined]
        free = meal.delivery_capacity if slot is None else slot.capacity - slot.booked
        if free >= count:
            return day
    return None


async def cancel(signup: Signup, meal: CanteenMeal, now: dt.datetime) -> bool:
    """Cancel one booked sign-up before its cutoff and give its places back. False if too late
    (or already cancelled)."""
    slot = await signup.slot
    if now >= cutoff_at(meal, slot.date):
        return False
    async with in_transaction() as conn:
        changed = (
            await Signup.filter(pk=signup.pk, status=SignupStatus.BOOKED)
            .using_db(conn)
            .update(status=SignupStatus.CANCELLED)
        )
        if changed:
            await _take(conn, slot.pk, -signup.count)
    return bool(changed)


# ---- the sign-up rules every channel checks the same way -----------------------------------


async def delivering_canteen(canteen_id: int | None = None) -> Canteen:
    """The canteen a sign-up goes to: the one named, else the community's."""
    if canteen_id is not None:
        canteen = await Canteen.get_or_none(pk=canteen_id)
        if canteen is None:
            raise DomainError(texts.NO_SUCH_CANTEEN, code="invalid", field="canteen_id")
        return canteen
    canteen = await default_canteen()
    if canteen is None:
        raise DomainError(texts.NO_CANTEEN, code="invalid", field="canteen_id")
    return canteen


def offered_meal(offered: list[CanteenMeal], wanted: Meal | str) -> CanteenMeal:
    """The canteen's delivered meal asked for; the reason names what it does deliver."""
    for meal in offered:
        if meal.meal == wanted:
            return meal
    raise DomainError(
        texts.only_meals([meal_label(m.meal) for m in offered]), code="invalid", field="meal"
    )


def day_problems(days: list[dt.date], today: dt.date) -> dict[str, str]:
    """Each bad sign-up day's field (dates.i) and reason: none in the past, at most MAX_DAYS.
    The API shows them all; the chat says the first."""
    found = {f"dates.{i}": texts.PAST_DAY for i, day in enumerate(days) if day < today}
    if len(days) > MAX_DAYS:
        found["dates"] = texts.TOO_MANY_DAYS
    return found


def check_days(days: list[dt.date], today: dt.date) -> None:
    for field, message in day_problems(days, today).items():
        raise DomainError(message, code="invalid", field=field)


async def _stored_status(signup: Signup) -> SignupStatus:
    """The sign-up's status as stored now (another request may have changed it)."""
    await signup.refresh_from_db(fields=["status"])
    return signup.status


async def cancel_booked(signup: Signup, now: dt.datetime) -> None:
    """Cancel a resident's booked sign-up, or say why not (already cancelled, past cutoff)."""
    if signup.status == SignupStatus.CANCELLED:
        raise DomainError(texts.ALREADY_CANCELLED, code="already_cancelled")
    meal = await meal_of(await signup.slot)
    if meal is None or not await cancel(signup, meal, now):
        # cancelled at the same moment elsewhere?
        if await _stored_status(signup) == SignupStatus.CANCELLED:
            raise DomainError(texts.ALREADY_CANCELLED, code="already_cancelled")
        raise DomainError(texts.PAST_CUTOFF_CANCEL, code="past_cutoff")
    await signup.refresh_from_db(fields=["status"])


async def upcoming(openid: str, today: dt.date, label: str | None = None) -> list[Signup]:
    """Booked sign-ups from today on made by this account, by day and meal."""
    query = Signup.filter(
        recipient__openid=openid, status=SignupStatus.BOOKED, slot__date__gte=today
    )
    if label is not None:
        query = query.filter(recipient__label=label)
    rows = await query.select_related("slot", "recipient")  # one query with its joins
    return sorted(rows, key=lambda s: (s.slot.date, meal_rank(s.slot.meal), s.recipient.label))


async def meal_of(slot: MealSlot) -> CanteenMeal | None:
    return await CanteenMeal.get_or_none(canteen_id=slot.canteen_id, meal=slot.meal)


async def save_recipient(openid: str, **fields: object) -> Recipient:
    label = str(fields.pop("label"))
    recipient, _ = await Recipient.update_or_create(openid=openid, label=label, defaults=fields)
    return recipient


async def recipients_of(openid: str) -> list[Recipient]:
    return await Recipient.filter(openid=openid).order_by("id")


async def known_recipient(openid: str, label: str) -> Recipient | None:
    return await Recipient.get_or_none(openid=openid, label=label)


async def own_recipient(openid: str, recipient_id: int) -> Recipient | None:
    """One of this account's recipients; None for anyone else's (nobody orders for others)."""
    return await Recipient.get_or_none(pk=recipient_id, openid=openid)


async def update_recipient(recipient: Recipient, **fields: object) -> Recipient:
    """Change what is known of a recipient (a relative moved, a new phone); a label already used
    by the same account raises IntegrityError."""
    recipient.update_from_dict(fields)
    await recipient.save()
    return recipient


async def own_signup(openid: str, signup_id: int) -> Signup | None:
    """A sign-up made by this account (the only one who may cancel it), with slot and recipient."""
    return (
        await Signup.filter(pk=signup_id, recipient__openid=openid)
        .prefetch_related("slot", "recipient")
        .first()
    )


# ---- a closed day (停餐) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedDay:
    day: dt.date
    meals: list[Meal]
    cancelled: int  # sign-ups cancelled
    told: list[str]  # openids told


@dataclass(frozen=True)
class ClosePreview:
    """What 停餐 would do now, before staff confirm it."""

    day: dt.date
    meals: list[Meal]
    bookings: int  # sign-ups it would cancel
    residents: int  # booking accounts it would tell
    volunteers: int  # volunteers sent the roster it would tell


async def _meals_to_close(
    staff: str, canteen: Canteen, day: dt.date, now: dt.datetime, meal: Meal | None
) -> list[CanteenMeal]:
    """The meals 停餐 names, after its rules: staff of this canteen or admins only, never a
    past day, only meals the canteen delivers."""
    async with in_transaction() as conn:
        allowed = await _is_staff(conn, staff, canteen.pk)
    if not allowed:
        raise DomainError(texts.NOT_STAFF_CLOSE, code="not_staff")
    if day < now.astimezone(SHANGHAI).date():
        raise DomainError(texts.CLOSE_PAST, code="past", field="day")
    offered = await delivered_meals(canteen)
    meals = [m for m in offered if meal is None or m.meal == meal]
    if not meals:
        names = [meal_label(m.meal) for m in offered]
        raise DomainError(texts.only_meals(names), code="not_delivered", field="meal")
    return meals


async def _to_cancel(conn: BaseDBAsyncClient, slot_id: int) -> list[Signup]:
    """The sign-ups a closing of this slot cancels (with their recipients)."""
    return list(
        await Signup.filter(slot_id=slot_id, status=SignupStatus.BOOKED)
        .using_db(conn)
        .prefetch_related("recipient")
    )


async def preview_close(
    staff: str, canteen: Canteen, day: dt.date, now: dt.datetime, meal: Meal | None = None
) -> ClosePreview:
    """What close_day would cancel and whom it would tell, were it said now (same rules, same
    sign-ups); nothing is changed. Staff confirm from this; close_day counts again then."""
    meals = await _meals_to_close(staff, canteen, day, now, meal)
    bookings, residents, volunteers = 0, set[str](), set[str]()
    for m in meals:
        slot = await MealSlot.get_or_none(canteen_id=canteen.pk, date=day, meal=m.meal)
        if slot is None:
            continue  # nobody booked it yet: a slot is made on first use
        async with in_transaction() as conn:
            booked = await _to_cancel(conn, slot.pk)
            volunteers |= set(await round_off.volunteers_to_tell(conn, slot, booked, staff))
        bookings += len(booked)
        residents |= {s.recipient.openid for s in booked}
    return ClosePreview(day, [m.meal for m in meals], bookings, len(residents), len(volunteers))


async def close_day(
    staff: str, canteen: Canteen, day: dt.date, now: dt.datetime, meal: Meal | None = None
) -> ClosedDay:
    """The canteen does not deliver `meal` (or any meal) on `day`: the slot takes no more
    sign-ups (capacity 0), every booked sign-up is cancelled and each booking account is told,
    in one transaction per meal. Staff of this canteen or admins only; past the cutoff too (a
    broken kitchen does not wait for it). The chat asks first (preview_close)."""
    meals = await _meals_to_close(staff, canteen, day, now, meal)
    cancelled, told = 0, []
    day_name = f"{day.month}月{day.day}日"
    for m in meals:
        slot = await slot_for(m, day)
        async with in_transaction() as conn:
            await _lock(conn, slot.pk)
            booked = await _to_cancel(conn, slot.pk)
            await (
                Signup.filter(pk__in=[s.pk for s in booked])
                .using_db(conn)
                .update(status=SignupStatus.CANCELLED)
            )
            await MealSlot.filter(pk=slot.pk).using_db(conn).update(capacity=0, booked=0)
            for signup in booked:
                who = signup.recipient.openid
                await enqueue_text(
                    PushChannel.WECHAT_CS,
                    who,
                    texts.day_closed_for_resident(
                        day_name, meal_label(m.meal), signup.recipient.label
                    ),
                    dedupe_key=f"closed:{slot.pk}:{signup.pk}",
                    using_db=conn,
                    # Someone expecting a meal that will not come: if the notice cannot be
                    # delivered, the staff who closed the day hear it and can phone.
                    urgency=PushUrgency.IMPORTANT,
                    escalate_to=[staff],
                    subject=f"closed_day:{slot.pk}",
                )
                told.append(who)
            # The roster already went out: its volunteers are told the round is off.
            await round_off.tell_volunteers(
                conn, slot, booked, day_name, meal_label(m.meal), staff
            )
            cancelled += len(booked)
    return ClosedDay(day, [m.meal for m in meals], cancelled, sorted(set(told)))


async def reopen(
    staff: str, canteen: Canteen, day: dt.date, now: dt.datetime, meal: Meal | None = None
) -> list[Meal]:
    """Staff change their mind (12月3日不停餐了, 恢复供餐 明天午餐): a closed or sold-out meal on
    `day` takes sign-ups again, up to the meal's own capacity. Bookings cancelled by the closing
    stay cancelled (their residents were told). The meals that were reopened."""
    meals = await _meals_to_close(staff, canteen, day, now, meal)
    reopened = []
    for m in meals:
        slot = await MealSlot.get_or_none(canteen_id=canteen.pk, date=day, meal=m.meal)
        if slot is None:
            continue  # never closed: a slot is made on first use with the full capacity
        async with in_transaction() as conn:
            await _lock(conn, slot.pk)  # a booking at the same moment lands before or after
            now_slot = await MealSlot.filter(pk=slot.pk).using_db(conn).get()
            if now_slot.capacity >= m.delivery_capacity:
                continue
            capacity = max(now_slot.booked, m.delivery_capacity)
            await MealSlot.filter(pk=slot.pk).using_db(conn).update(capacity=capacity)
        reopened.append(m.meal)
    return reopened


async def sold_out(
    staff: str, canteen: Canteen, meal: Meal, day: dt.date, now: dt.datetime
) -> MealSlot:
    """售罄 午餐: the meal takes no more sign-ups on `day` (capacity down to what is booked);
    those already booked are delivered as usual. Staff of this canteen or admins only."""
    async with in_transaction() as conn:
        allowed = await _is_staff(conn, staff, canteen.pk)
    if not allowed:
        raise DomainError(texts.NOT_STAFF_CLOSE, code="not_staff")
    if day < now.astimezone(SHANGHAI).date():
        raise DomainError(texts.CLOSE_PAST, code="past", field="day")
    offered = await delivered_meals(canteen)
    chosen = [m for m in offered if m.meal == meal]
    if not chosen:
        names = [meal_label(m.meal) for m in offered]
        raise DomainError(texts.only_meals(names), code="not_delivered", field="meal")
    slot = await slot_for(chosen[0], day)
    async with in_transaction() as conn:
        await _lock(conn, slot.pk)  # a booking at the same moment lands before or after
        await MealSlot.filter(pk=slot.pk).using_db(conn).update(capacity=F("booked"))
    await slot.refresh_from_db()
    return slot
