"""Family links: a relative asks (绑定家人 PHONE), the elder agrees (同意), or the staff link them;
linked relatives are told of the elder's no-answer delivery alerts and emergencies.

The elder is found by the phone number they gave for their own deliveries (a `Recipient` with
label 本人): the relative must know it, and the elder still has to agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from redis.asyncio import Redis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from community.errors import DomainError
from community.phones import normalise_phone
from family import texts
from infra import keys
from infra.orm import flat
from models.delivery import Recipient
from models.family import FamilyLink, LinkStatus
from models.push import PushChannel
from push.outbox import enqueue_text

SELF = "本人"  # delivery.service.SELF: the resident's own recipient row
NOTE_MAX = 20


async def elder_by_phone(phone: str) -> str:
    """The account that signed up for itself with this phone; DomainError when none."""
    phone = normalise_phone(phone)
    found = await flat(
        Recipient.filter(phone=phone, label=SELF)
        .order_by("-updated_at")
        .values_list("openid", flat=True)
    )
    if not found:
        raise DomainError(texts.NO_ELDER, code="no_elder", field="phone")
    return str(found[0])


REQUESTS_PER_DAY = 5  # 绑定家人 requests one account may make in a day (known phones or not)


async def _count_request(redis: Redis, relative: str, day: dt.date) -> None:
    """One more request today, atomically (INCR and its expiry in one transaction); past the
    daily limit a DomainError. Counted before the phone is looked up, so trying numbers costs
    the same whether they are known."""
    key = keys.family_requests(relative, day.isoformat())
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 2 * 24 * 3600)
        count, _ = await pipe.execute()
    if int(count) > REQUESTS_PER_DAY:
        raise DomainError(texts.TOO_MANY, code="rate_limited")


async def request_link(
    redis: Redis, relative: str, phone: str, now: dt.datetime, note: str = ""
) -> FamilyLink | None:
    """The relative asks to be linked; the elder is asked to agree (a push).

    The chat answers the same (texts.ASKED) whether the phone is an elder's or nobody's, and
    whether a request to that elder was made or declined before: an unknown phone makes nothing
    (None), a repeated or declined one sends nothing again. Only the asker's own phone and a
    link the relative already knows of (told when the elder agreed) are said."""
    phone = normalise_phone(phone)  # a malformed number is said so: that tells nothing
    await _count_request(redis, relative, now.date())
    try:
        elder = await elder_by_phone(phone)
    except DomainError:
        return None
    if elder == relative:
        raise DomainError(texts.NOT_YOURSELF, code="self_link", field="phone")
    link = await FamilyLink.get_or_none(elder_openid=elder, relative_openid=relative)
    if link is not None:
        if link.status is LinkStatus.CONFIRMED:
            raise DomainError(texts.ALREADY, code="already_linked")
        return None  # pending or declined: the elder is not asked twice
    async with in_transaction() as conn:
        link = await FamilyLink.create(
            elder_openid=elder,
            relative_openid=relative,
            note=note.strip()[:NOTE_MAX],
            using_db=conn,
        )
        await enqueue_text(
            PushChannel.WECHAT_CS,
            elder,
            texts.ask_elder(link.note),
            dedupe_key=f"family:ask:{link.pk}",
            using_db=conn,
        )
    return link


async def has_pending(elder: str) -> bool:
    return await FamilyLink.exists(elder_openid=elder, status=LinkStatus.PENDING)


async def answer(elder: str, agree: bool, now: dt.datetime) -> int:
    """The elder answers every pending request at once; each relative is told. Returns how
    many were answered."""
    async with in_transaction() as conn:
        pending = await FamilyLink.filter(elder_openid=elder, status=LinkStatus.PENDING).using_db(
            conn
        )
        if not pending:
            raise DomainError(texts.NOTHING_PENDING, code="nothing_pending")
        status = LinkStatus.CONFIRMED if agree else LinkStatus.DECLINED
        await (
            FamilyLink.filter(id__in=[link.pk for link in pending])
            .using_db(conn)
            .update(status=status, confirmed_at=now if agree else None, linked_by="elder")
        )
        for link in pending:
            await enqueue_text(
                PushChannel.WECHAT_CS,
                link.relative_openid,
                texts.TOLD_AGREED if agree else texts.TOLD_DECLINED,
                dedupe_key=f"family:answer:{link.pk}",
                using_db=conn,
            )
    return len(pending)


async def link_by_staff(
    elder_phone: str, relative: str, staff: str, now: dt.datetime
) -> FamilyLink:
    """The staff link them (the elder gave consent in person): confirmed at once, the relative
    told. The elder is found by the phone of their own sign-up."""
    elder = await elder_by_phone(elder_phone)
    if elder == relative:
        raise DomainError(texts.NOT_YOURSELF, code="self_link")
    async with in_transaction() as conn:
        link, _ = await FamilyLink.update_or_create(
            elder_openid=elder,
            relative_openid=relative,
            defaults={"status": LinkStatus.CONFIRMED, "confirmed_at": now, "linked_by": staff},
            using_db=conn,
        )
        await enqueue_text(
            PushChannel.WECHAT_CS,
            relative,
            texts.TOLD_BY_STAFF,
            dedupe_key=f"family:staff:{link.pk}:{now.timestamp():.0f}",
            using_db=conn,
        )
    return link


async def relatives_of(elder: str, using_db: BaseDBAsyncClient | None = None) -> list[str]:
    """The confirmed relatives of an elder: whom to tell of their alerts and emergencies."""
    rows = await flat(
        FamilyLink.filter(elder_openid=elder, status=LinkStatus.CONFIRMED)
        .using_db(using_db)
        .values_list("relative_openid", flat=True)
    )
    return sorted(set(rows) - {elder})


async def summary(openid: str) -> str:
    """我的家人: the links in force. A relative's requests still waiting are not counted: an
    unknown phone makes none, so showing them would tell which phones are known."""
    as_relative = await FamilyLink.filter(relative_openid=openid, status=LinkStatus.CONFIRMED)
    as_elder = await FamilyLink.filter(elder_openid=openid, status=LinkStatus.CONFIRMED)
    if not as_relative and not as_elder:
        raise DomainError(texts.NOT_LINKED, code="not_linked")
    return texts.listing(
        [x.elder_openid for x in as_relative], [x.relative_openid for x in as_elder]
    )


async def unlink(openid: str) -> int:
    """Every link this user is part of, as elder or relative, is removed (consent withdrawn),
    requests still waiting too. Answered by the links that were in force only (a request to an
    unknown phone makes none, so a waiting one must not answer differently)."""
    mine = FamilyLink.filter(Q(elder_openid=openid) | Q(relative_openid=openid))
    in_force = await mine.filter(status=LinkStatus.CONFIRMED).count()
    await FamilyLink.filter(Q(elder_openid=openid) | Q(relative_openid=openid)).delete()
    if not in_force:
        raise DomainError(texts.NOT_LINKED, code="not_linked")
    return in_force


# ---- the staff console -----------------------------------------------------------------------


@dataclass(frozen=True)
class LinkRow:
    """A link as the staff see it: the elder by their own sign-up (address, phone)."""

    link: FamilyLink
    elder_address: str
    elder_phone: str


async def board(limit: int = 300) -> list[LinkRow]:
    """Every link, pending ones first, then the newest; each elder's own sign-up beside it."""
    links = await FamilyLink.all().order_by("-created_at").limit(limit)
    links.sort(key=lambda x: x.status is not LinkStatus.PENDING)
    own = {
        r.openid: r
        for r in await Recipient.filter(
            openid__in={x.elder_openid for x in links}, label=SELF
        ).order_by("updated_at")
    }
    return [
        LinkRow(
            x,
            own[x.elder_openid].address if x.elder_openid in own else "",
            own[x.elder_openid].phone if x.elder_openid in own else "",
        )
        for x in links
    ]


async def revoke(link_id: int, staff: str, now: dt.datetime) -> FamilyLink:
    """The staff end a link (the elder asked in person, a wrong link): removed, and whoever was
    linked told, in one transaction."""
    async with in_transaction() as conn:
        link = await FamilyLink.filter(pk=link_id).using_db(conn).first()
        if link is None:
            raise DomainError(texts.NO_SUCH_LINK, code="not_found")
        await FamilyLink.filter(pk=link.pk).using_db(conn).delete()
        if link.status is LinkStatus.CONFIRMED:
            for who in (link.relative_openid, link.elder_openid):
                await enqueue_text(
                    PushChannel.WECHAT_CS,
                    who,
                    texts.REVOKED_BY_STAFF,
                    dedupe_key=f"family:revoked:{link.pk}:{who}",
                    using_db=conn,
                )
    return link
