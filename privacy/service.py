"""Erasing a resident's data (删除我的信息, as PIPL expects): what identifies them is removed or
anonymised; what the community must still count (meals served, reports per building, review
stars) stays without them. Upcoming bookings are cancelled first (their places given back); a
meal already past its cutoff and on its way refuses the erasure until it has been delivered,
since the volunteer still needs the address."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from community.errors import DomainError
from delivery import service as delivery
from grid import photos as grid_photos
from grid import service as grid_service
from infra import keys
from models.canteen import MenuSubscription
from models.delivery import Recipient
from models.directory import Complaint, Review
from models.family import FamilyLink, LinkStatus
from models.grid import CourierVolunteer, GridReport, VolunteerStatus
from models.push import OutboxMessage, PushStatus
from models.users import ErasureRecord, ErasureStatus, RoleGrant, User
from models.volunteers import VolunteerTask
from privacy import texts

GONE = "（已删除）"


@dataclass(frozen=True)
class Erased:
    cancelled: int  # upcoming bookings cancelled
    recipients: int
    reports: int
    family_links: int = 0
    courier: int = 0  # the courier/rider volunteer registration removed


def who_digest(openid: str) -> str:
    """A short, stable digest of an openid: the erasure log's "who" (the account is gone; the
    digest lets staff match a later question from the same account without keeping it)."""
    return hashlib.sha256(openid.encode()).hexdigest()[:12]


async def erase(
    redis: Redis,
    openid: str,
    conversation: str,
    now: dt.datetime,
    *,
    data_dir: Path | None = None,
) -> Erased:
    """Erase what identifies `openid`. `data_dir`: where copies of report photos are kept
    (grid/photos.py), deleted too."""
    upcoming = await delivery.upcoming(openid, now.date())
    meals = []
    for signup in upcoming:
        meal = await delivery.meal_of(signup.slot)
        if meal is None or now >= delivery.cutoff_at(meal, signup.slot.date):
            await ErasureRecord.create(
                who=who_digest(openid), asked_at=now, status=ErasureStatus.REFUSED
            )
            raise DomainError(texts.MEAL_ON_ITS_WAY, code="meal_on_its_way")
        meals.append((signup, meal))
    cancelled = 0
    for signup, meal in meals:
        cancelled += await delivery.cancel(signup, meal, now)
    async with in_transaction() as conn:
        recipients = await Recipient.filter(openid=openid).using_db(conn)
        for r in recipients:
            # The row stays (past sign-ups point at it: counts per day and meal), nameless.
            r.openid, r.label = f"erased:{r.pk}", f"已删除{r.pk}"
            r.address, r.phone, r.emergency_phone, r.diet = GONE, "", None, ""
            await r.save(using_db=conn)
        # Grid reports stay for the community's counts and their state (open, closed, urgent,
        # which building), without who sent them, their phone, photos (faces, homes) or the
        # place they were sent from. A courier's/rider's 随手拍 is about a public place the
        # grid worker may still be fixing: its problem and where stay; a resident's own report
        # may tell of their home and family, so its words go too.
        mine = GridReport.filter(openid=openid).using_db(conn)
        report_ids: list[int] = [r.pk for r in await mine.only("id")]
        gone_person = {
            "openid": "erased", "phone": "", "photos": None, "lat": None, "lng": None,
            "place_label": None, "volunteer_id": None,
        }  # fmt: skip
        reports = await GridReport.filter(
            openid=openid, volunteer_id__isnull=False
        ).using_db(conn).update(**gone_person)  # fmt: skip
        reports += await GridReport.filter(openid=openid).using_db(conn).update(
            text=GONE, address=GONE, note="", **gone_person
        )  # fmt: skip
        # What the grid workers were sent about them (phone, words, photo links), once sent:
        # the rows stay (the console says a report reached its worker), their text does not.
        subjects = [f"{kind}:{i}" for i in report_ids for kind in ("grid_report", "grid_more")]
        await OutboxMessage.filter(
            subject__in=subjects, status__in=[PushStatus.SENT, PushStatus.FAILED]
        ).using_db(conn).update(payload={"text": GONE})  # fmt: skip
        # The courier's/rider's volunteer registration (name, phone, company, area).
        courier = await CourierVolunteer.filter(openid=openid).using_db(conn).delete()
        reviews = 0
        for review in await Review.filter(reviewer=openid).using_db(conn):
            review.reviewer = f"erased:{review.pk}"  # one review per reviewer and craftsman
            await review.save(using_db=conn, update_fields=["reviewer"])
            reviews += 1
        complaints = (
            await Complaint.filter(complainant=openid).using_db(conn).update(complainant="erased")
        )
        subscriptions = await MenuSubscription.filter(openid=openid).using_db(conn).delete()
        # Family links, as the elder or as the relative: nobody is told about them any more.
        links = (
            await FamilyLink.filter(Q(elder_openid=openid) | Q(relative_openid=openid))
            .using_db(conn)
            .delete()
        )
        pushes = (
            await OutboxMessage.filter(
                target=openid, status__in=[PushStatus.SENT, PushStatus.FAILED]
            )
            .using_db(conn)
            .delete()
        )
        tasks = 0
        if await RoleGrant.filter(user__openid=openid).using_db(conn).exists():
            # A volunteer or staff member keeps their account (their roles hang on it).
            await User.filter(openid=openid).using_db(conn).update(elderly=False, compound=None)
            account = 0
        else:
            account = await User.filter(openid=openid).using_db(conn).delete()
            # Their volunteer points' tasks (e.g. a former courier's) go with the account.
            tasks = await VolunteerTask.filter(openid=openid).using_db(conn).delete()
        await ErasureRecord.create(
            who=who_digest(openid),
            asked_at=now,
            removed={
                "cancelled": cancelled,
                "recipients": len(recipients),
                "reports": reports,
                "reviews": reviews,
                "complaints": complaints,
                "subscriptions": subscriptions,
                "family_links": links,
                "pushes": pushes,
                "account": account,
                "courier": courier,
                "tasks": tasks,
            },
            using_db=conn,
        )
    grid_service.forget_volunteers()  # the registration's DELETE fires no signal
    if data_dir is not None and report_ids:
        await asyncio.to_thread(grid_photos.forget, data_dir, report_ids)
    await redis.delete(
        keys.location(conversation),
        keys.recent(conversation),
        keys.form(conversation),
        keys.pending(conversation),
        # What searches keep of the account (its compound, its walking pace), both gone above.
        keys.compound(openid),
        keys.elderly(openid),
    )
    return Erased(cancelled, len(recipients), reports, links, courier)


# ---- what we keep ----------------------------------------------------------------------------


async def what_we_keep(openid: str) -> str:
    """我的信息存了什么: what we keep and why, and this account's own family links in force
    (whom, and which way: told of them, or they of you)."""
    # A relative's requests still waiting are kept too (WHAT_WE_KEEP says so) but not listed:
    # a request to an unknown phone makes none, so listing them would tell which are known.
    as_relative = await FamilyLink.filter(relative_openid=openid, status=LinkStatus.CONFIRMED)
    as_elder = await FamilyLink.filter(elder_openid=openid, status=LinkStatus.CONFIRMED)
    lines = []
    for link in as_relative:
        own = await Recipient.filter(openid=link.elder_openid, label=delivery.SELF).first()
        whom = f"尾号{own.phone[-4:]}的老人" if own and own.phone else "一位老人"
        lines.append(texts.linked_elder(whom))
    for link in as_elder:
        lines.append(texts.linked_relative(link.note))
    courier = await CourierVolunteer.get_or_none(openid=openid)
    registration = None
    if courier is not None:
        registration = texts.courier_registration(
            courier.trade, courier.status is VolunteerStatus.APPROVED
        )
    return texts.what_we_keep(lines, registration)


async def erasure_log(limit: int = 200) -> list[ErasureRecord]:
    """The newest erasure requests first (the console's privacy page)."""
    return await ErasureRecord.all().order_by("-asked_at", "-id").limit(limit)
