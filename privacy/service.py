"""Erasing a resident's data (删除我的信息, as PIPL expects): what identifies them is removed or
anonymised; what the community must still count (meals served, reports per building, review
stars) stays without them. Upcoming bookings are cancelled first (their places given back); a
meal already past its cutoff and on its way refuses the erasure until it has been delivered,
since the volunteer still needs the address."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from community.errors import DomainError
from delivery import service as delivery
from infra import keys
from models.canteen import MenuSubscription
from models.delivery import Recipient
from models.directory import Complaint, Review
from models.family import FamilyLink, LinkStatus
from models.grid import GridReport
from models.push import OutboxMessage, PushStatus
from models.users import ErasureRecord, ErasureStatus, RoleGrant, User
from privacy import texts

GONE = "（已删除）"


@dataclass(frozen=True)
class Erased:
    cancelled: int  # upcoming bookings cancelled
    recipients: int
    reports: int
    family_links: int = 0


def who_digest(openid: str) -> str:
    """A short, stable digest of an openid: the erasure log's "who" (the account is gone; the
    digest lets staff match a later question from the same account without keeping it)."""
    return hashlib.sha256(openid.encode()).hexdigest()[:12]


async def erase(redis: Redis, openid: str, conversation: str, now: dt.datetime) -> Erased:
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
        reports = (
            await GridReport.filter(openid=openid)
            .using_db(conn)
            .update(openid="erased", text=GONE, address=GONE, phone="", note="")
        )
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
        if await RoleGrant.filter(user__openid=openid).using_db(conn).exists():
            # A volunteer or staff member keeps their account (their roles hang on it).
            await User.filter(openid=openid).using_db(conn).update(elderly=False, compound=None)
            account = 0
        else:
            account = await User.filter(openid=openid).using_db(conn).delete()
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
            },
            using_db=conn,
        )
    await redis.delete(
        keys.location(conversation),
        keys.recent(conversation),
        keys.form(conversation),
        keys.pending(conversation),
    )
    return Erased(cancelled, len(recipients), reports, links)


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
    return texts.what_we_keep(lines)


async def erasure_log(limit: int = 200) -> list[ErasureRecord]:
    """The newest erasure requests first (the console's privacy page)."""
    return await ErasureRecord.all().order_by("-asked_at", "-id").limit(limit)
