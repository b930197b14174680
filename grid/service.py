"""The rules of residents' reports to grid workers: who sees which open report, who may close
one, and what the resident is told. Raises `DomainError` for refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.transactions import in_transaction

from community.errors import DomainError
from community.roles import Duty, admin_openids, grid_workers_for, is_admin, is_grid_worker
from grid import texts
from infra.kept import Kept
from models.grid import CourierVolunteer, GridReport, VolunteerStatus
from models.push import OutboxMessage, PushChannel, PushStatus, PushUrgency
from models.users import Role, RoleGrant
from push.outbox import enqueue_text

NOTE_MAX = 200
# Photos one report keeps (a chat bubble of links, not an album).
PHOTOS_MAX = 9
# A photo or a place sent this soon after a report joins it (the resident's "and here it is").
JOIN_SECONDS = 5 * 60
# Seconds another process's approval, rejection or erasure may take to show in `kept_volunteer`.
VOLUNTEERS_FRESH_FOR = 5.0

# Every approved courier/rider, by openid, kept in process (infra/kept.py): each location
# message asks whether its sender is one, and nearly nobody is. Kept whole, "no" costs no query
# and memory grows with the registrations, not with the people who ask. Saves and deletes of a
# CourierVolunteer drop it (signals); the bulk writes (decide_volunteer's conditional UPDATE,
# privacy erasure's DELETE) call `forget_volunteers` once their transaction has committed.
_approved = Kept(VOLUNTEERS_FRESH_FOR, CourierVolunteer)

# A photo: {"url": PicUrl, "media_id": MediaId}; a place: {"lat", "lng", "label"}.
Photo = dict[str, Any]
Place = dict[str, Any]


def photo(url: str, media_id: str = "") -> Photo:
    return {"url": url[:500], "media_id": media_id[:128]}


def place(lat: float, lng: float, label: str = "") -> Place:
    return {"lat": round(lat, 6), "lng": round(lng, 6), "label": label.strip()[:100]}


async def second_people(first: list[str]) -> list[str]:
    """Who hears a report its grid worker could not be reached with: the other grid workers,
    then the admins (push/escalation.py sends it there)."""
    grid = RoleGrant.filter(role=Role.VOLUNTEER, duty=Duty.GRID.value).prefetch_related("user")
    others = {g.user.openid for g in await grid} | set(await admin_openids())
    return sorted(others - set(first))


async def file_report(
    openid: str,
    problem: str,
    where: str,
    building: str,
    phone: str,
    now: dt.datetime,
    *,
    urgent: bool = False,
    handoff: list[dict[str, str]] | None = None,
    photos: list[Photo] | None = None,
    at: Place | None = None,
    volunteer: CourierVolunteer | None = None,
) -> GridReport:
    """Record a resident's report and queue it to the building's grid workers, in one
    transaction. `handoff`: the resident asked for a person (转人工); their last few exchanges
    with the bot go with it. `photos` and `at` (a place sent as a location) go with the report;
    `volunteer`: an approved courier/rider sent it (their area helps find the grid worker); it
    earns them a task's volunteer points (counted from the report: delivery.points)."""
    if volunteer is not None and volunteer.status is not VolunteerStatus.APPROVED:
        raise DomainError(texts.VOLUNTEER_NOT_APPROVED, code="volunteer_not_approved")
    seen = where if volunteer is None else f"{where} {volunteer.area}"
    targets = await grid_workers_for(building, seen)
    if not targets:
        raise DomainError(texts.NO_GRID_WORKER, code="no_grid_worker")
    contact = f"联系电话 {phone}" if phone else "居民没有留电话"
    backup = await second_people(targets)
    sorry = texts.undelivered(problem, now)
    async with in_transaction() as conn:
        report = await GridReport.create(
            openid=openid,
            text=problem[:300],
            address=where,
            building=building,
            phone=phone,
            forwarded_to=targets,
            urgent=urgent,
            photos=(photos or [])[:PHOTOS_MAX] or None,
            lat=at["lat"] if at else None,
            lng=at["lng"] if at else None,
            place_label=(at.get("label") or None) if at else None,
            volunteer_id=volunteer.pk if volunteer is not None else None,
            using_db=conn,
        )
        # Its volunteer points (an approved courier's, or a role-holding volunteer's) are counted
        # from this row by delivery.points.grid_reports: the one rule, nothing to credit here.
        text = texts.worker_push(report, contact, now, volunteer)
        if handoff is not None:
            text = texts.handoff_push(report, contact, handoff, now)
        for target in targets:
            await enqueue_text(
                PushChannel.WECHAT_CS,
                target,
                text,
                dedupe_key=f"grid:{report.pk}:{target}",
                using_db=conn,
                # A lost report is a resident left waiting: retried for hours, then a second
                # person, and the resident hears the truth (push/escalation.py).
                urgency=PushUrgency.URGENT if urgent else PushUrgency.IMPORTANT,
                escalate_to=backup,
                subject=f"grid_report:{report.pk}",
                tell_if_undelivered=(openid, sorry),
            )
    return report


async def add_to_report(
    openid: str,
    report_id: int,
    now: dt.datetime,
    *,
    new_photo: Photo | None = None,
    at: Place | None = None,
) -> GridReport:
    """A photo or a place sent right after a report joins it; its grid workers are told (the
    link to the photo, the place on a map). Only the resident's own open report."""
    async with in_transaction() as conn:
        report = await GridReport.select_for_update().using_db(conn).get_or_none(pk=report_id)
        if report is None or report.openid != openid:
            raise DomainError(texts.NO_SUCH_REPORT.format(id=report_id), code="not_found")
        if report.closed_at is not None:
            raise DomainError(
                texts.ALREADY_CLOSED.format(id=report_id, when=texts.day(report.closed_at)),
                code="already_closed",
            )
        photos = list(report.photos or [])
        fields = []
        if new_photo is not None:
            if len(photos) >= PHOTOS_MAX:
                raise DomainError(texts.TOO_MANY_PHOTOS.format(n=PHOTOS_MAX), code="too_many")
            photos.append(new_photo)
            report.photos = photos
            fields.append("photos")
        if at is not None:
            report.lat, report.lng = at["lat"], at["lng"]
            report.place_label = at.get("label") or None
            fields += ["lat", "lng", "place_label"]
        if not fields:
            return report
        await report.save(update_fields=fields, using_db=conn)
        text = texts.addition_push(report, new_photo, at, now)
        tag = f"photo{len(photos)}" if new_photo is not None else f"place{now:%H%M%S}"
        for target in report.forwarded_to or []:
            await enqueue_text(
                PushChannel.WECHAT_CS,
                target,
                text,
                dedupe_key=f"grid_more:{report.pk}:{tag}:{target}",
                using_db=conn,
                urgency=PushUrgency.IMPORTANT,
                subject=f"grid_more:{report.pk}",
            )
    return report


async def recent_report(openid: str, report_id: int | None) -> GridReport | None:
    """The resident's report a photo or place sent now would join: the one just filed (its id
    kept for JOIN_SECONDS by the chat), if still open."""
    if report_id is None:
        return None
    report = await GridReport.get_or_none(pk=report_id, openid=openid)
    return report if report is not None and report.closed_at is None else None


# ---- couriers and riders as volunteers (随手拍 on their rounds) -------------------------------


async def register_volunteer(
    openid: str, name: str, phone: str, area: str, company: str, trade: str
) -> CourierVolunteer:
    """A courier's or rider's registration, waiting for an admin (who is told); registering
    again while waiting updates it."""
    found = await CourierVolunteer.get_or_none(openid=openid)
    if found is not None and found.status is VolunteerStatus.APPROVED:
        raise DomainError(texts.ALREADY_VOLUNTEER, code="already_volunteer")
    values = {
        "name": name[:32],
        "phone": phone[:20],
        "area": area[:64],
        "company": company[:32],
        "trade": trade[:16],
        "status": VolunteerStatus.PENDING,
        "decided_at": None,
        "decided_by": None,
    }
    async with in_transaction() as conn:
        if found is None:
            volunteer = await CourierVolunteer.create(openid=openid, using_db=conn, **values)
        else:
            found.update_from_dict(values)
            await found.save(using_db=conn)
            volunteer = found
        for admin in await admin_openids():
            await enqueue_text(
                PushChannel.WECHAT_CS,
                admin,
                texts.volunteer_for_admin(volunteer),
                dedupe_key=f"courier_new:{volunteer.pk}:{admin}:{volunteer.phone}",
                using_db=conn,
                urgency=PushUrgency.ROUTINE,
                subject=f"courier_volunteer:{volunteer.pk}",
            )
    return volunteer


async def approved_volunteer(openid: str) -> CourierVolunteer | None:
    """As stored now: for filing a report as a volunteer's."""
    return await CourierVolunteer.get_or_none(openid=openid, status=VolunteerStatus.APPROVED)


async def kept_volunteer(openid: str) -> CourierVolunteer | None:
    """`approved_volunteer` from the kept set (no query): for the chat's every location and
    photo. Read the row, never change it; filing checks again (`approved_volunteer`)."""

    async def load() -> dict[str, CourierVolunteer]:
        rows = await CourierVolunteer.filter(status=VolunteerStatus.APPROVED)
        return {v.openid: v for v in rows}

    approved: dict[str, CourierVolunteer] = await _approved.get("approved", load)
    return approved.get(openid)


def forget_volunteers() -> None:
    """Drop the kept approved set: a registration changed by a write that fires no signal."""
    _approved.clear()


async def volunteer_of(openid: str) -> CourierVolunteer | None:
    return await CourierVolunteer.get_or_none(openid=openid)


async def pending_volunteers() -> list[CourierVolunteer]:
    return await CourierVolunteer.filter(status=VolunteerStatus.PENDING).order_by("id")


async def approved_volunteers() -> list[CourierVolunteer]:
    return await CourierVolunteer.filter(status=VolunteerStatus.APPROVED).order_by("id")


async def decide_volunteer(
    admin: str, volunteer_id: int, approve: bool, now: dt.datetime, *, operator: bool = False
) -> CourierVolunteer:
    """An admin approves or turns down a registration; the courier is told either way.
    `operator`: the command line's user (`main.py approve-grid-volunteer`), trusted as such."""
    if not operator and not await is_admin(admin):
        raise DomainError(texts.NOT_ADMIN, code="not_admin")
    try:
        return await _decide(admin, volunteer_id, approve, now)
    finally:
        forget_volunteers()  # the UPDATE fires no signal; dropped after it committed


async def _decide(
    admin: str, volunteer_id: int, approve: bool, now: dt.datetime
) -> CourierVolunteer:
    async with in_transaction() as conn:
        status = VolunteerStatus.APPROVED if approve else VolunteerStatus.REJECTED
        changed = (
            await CourierVolunteer.filter(pk=volunteer_id, status=VolunteerStatus.PENDING)
            .using_db(conn)
            .update(status=status, decided_at=now, decided_by=admin)
        )
        volunteer = await CourierVolunteer.get_or_none(pk=volunteer_id, using_db=conn)
        if volunteer is None:
            raise DomainError(texts.NO_SUCH_VOLUNTEER.format(id=volunteer_id), code="not_found")
        if not changed:
            raise DomainError(
                texts.VOLUNTEER_DECIDED.format(id=volunteer_id), code="already_decided"
            )
        await enqueue_text(
            PushChannel.WECHAT_CS,
            volunteer.openid,
            texts.VOLUNTEER_APPROVED if approve else texts.VOLUNTEER_REJECTED,
            dedupe_key=f"courier_decided:{volunteer.pk}:{now:%Y%m%d%H%M%S}",
            using_db=conn,
            urgency=PushUrgency.ROUTINE,
            subject=f"courier_volunteer:{volunteer.pk}",
        )
    return volunteer


async def may_handle(openid: str) -> bool:
    """A grid worker or an admin: who sees the open reports and closes them."""
    return await _may_handle(openid)


async def _may_handle(openid: str) -> bool:
    return await is_grid_worker(openid) or await is_admin(openid)


async def open_reports(worker: str) -> list[GridReport]:
    """The worker's open reports (forwarded to them; an admin sees all), urgent first, then
    oldest first: the one waiting longest is the next to do."""
    if not await _may_handle(worker):
        raise DomainError(texts.NOT_GRID_WORKER, code="not_grid_worker")
    admin = await is_admin(worker)
    # Open reports are few (they get closed); the JSON list is filtered here rather than with a
    # JSON query, which SQLite and Postgres spell differently.
    reports = await GridReport.filter(closed_at__isnull=True).order_by("-urgent", "id")
    return [r for r in reports if admin or worker in (r.forwarded_to or [])]


async def listed_report(worker: str, place: int) -> GridReport:
    """The report at `place` (from 1) of the worker's 我的待办, in the order it lists them."""
    reports = await open_reports(worker)
    if not 1 <= place <= len(reports):
        raise DomainError(
            texts.NOT_LISTED.format(place=place, count=len(reports)), code="not_listed"
        )
    return reports[place - 1]


async def close_report(worker: str, report_id: int, note: str, now: dt.datetime) -> GridReport:
    """Close a report with the worker's note and tell the resident, in one transaction.

    Any grid worker or admin may close any report (a colleague covers a holiday); closing twice
    is refused by a conditional UPDATE, so two workers closing at once tell the resident once."""
    if not await _may_handle(worker):
        raise DomainError(texts.NOT_GRID_WORKER, code="not_grid_worker")
    note = " ".join(note.split())
    if not note:
        raise DomainError(texts.NOTE_NEEDED.format(id=report_id), code="note_needed", field="note")
    note = note[:NOTE_MAX]
    async with in_transaction() as conn:
        report = await GridReport.get_or_none(pk=report_id, using_db=conn)
        if report is None:
            raise DomainError(texts.NO_SUCH_REPORT.format(id=report_id), code="not_found")
        closed = (
            await GridReport.filter(pk=report_id, closed_at__isnull=True)
            .using_db(conn)
            .update(closed_at=now, closed_by=worker, note=note)
        )
        if not closed:
            await report.refresh_from_db(using_db=conn)
            assert report.closed_at is not None
            raise DomainError(
                texts.ALREADY_CLOSED.format(id=report_id, when=texts.day(report.closed_at)),
                code="already_closed",
            )
        report.closed_at, report.closed_by, report.note = now, worker, note
        await enqueue_text(
            PushChannel.WECHAT_CS,
            report.openid,
            texts.closed_for_resident(report),
            dedupe_key=f"grid_done:{report.pk}",
            using_db=conn,
            # Retried a few times like any confirmation: a copy to the staff would not help.
            urgency=PushUrgency.ROUTINE,
            subject=f"grid_done:{report.pk}",
        )
    return report


async def reports_of(resident: str, limit: int = texts.SHOWN) -> list[GridReport]:
    """A resident's own reports, newest first."""
    return await GridReport.filter(openid=resident).order_by("-id").limit(limit)


async def last_place(resident: str) -> GridReport | None:
    """The resident's latest report that named a building: where they were last heard of."""
    return await GridReport.filter(openid=resident).exclude(building="").order_by("-id").first()


# ---- for the console -------------------------------------------------------------------------


async def board(limit: int = 20) -> list[tuple[GridReport, list[OutboxMessage]]]:
    """Reports still open (urgent first, oldest first: all of them, up to a bound), then the
    `limit` most recent closed ones; each with the pushes that told its grid workers (not the
    escalations)."""
    reports = await GridReport.filter(closed_at__isnull=True).order_by("-urgent", "id").limit(100)
    reports += await GridReport.filter(closed_at__isnull=False).order_by("-id").limit(limit)
    subjects = [f"grid_report:{r.pk}" for r in reports]
    pushes = await OutboxMessage.filter(subject__in=subjects, escalation_of__isnull=True)
    by_subject: dict[str, list[OutboxMessage]] = {}
    for m in pushes:
        by_subject.setdefault(m.subject or "", []).append(m)
    return [(r, by_subject.get(f"grid_report:{r.pk}", [])) for r in reports]


def reached(pushes: list[OutboxMessage]) -> str:
    """Whether a report reached its grid workers, as the console says it."""
    failed = [m for m in pushes if m.status == PushStatus.FAILED]
    if pushes and all(m.status == PushStatus.SENT for m in pushes):
        return "已送到网格员"
    if failed:
        return "没送到网格员" + ("，已转给他人" if any(m.escalated_at for m in failed) else "")
    return "发送中"


def closed_text(report: GridReport) -> str:
    """Empty while open; else who closed it and the note."""
    if report.closed_at is None:
        return ""
    return f"已办结（{report.closed_by}）：{report.note}"
