"""The rules of residents' reports to grid workers: who sees which open report, who may close
one, and what the resident is told. Raises `DomainError` for refusals."""

from __future__ import annotations

import datetime as dt

from tortoise.transactions import in_transaction

from community.errors import DomainError
from community.roles import Duty, admin_openids, grid_workers_for, is_admin, is_grid_worker
from grid import texts
from models.grid import GridReport
from models.push import OutboxMessage, PushChannel, PushStatus, PushUrgency
from models.users import Role, RoleGrant
from push.outbox import enqueue_text

NOTE_MAX = 200


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
) -> GridReport:
    """Record a resident's report and queue it to the building's grid workers, in one
    transaction. `handoff`: the resident asked for a person (转人工); their last few exchanges
    with the bot go with it."""
    targets = await grid_workers_for(building, where)
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
            using_db=conn,
        )
        text = texts.worker_push(report, contact, now)
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
