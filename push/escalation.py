"""When a push that matters cannot be delivered: a second person hears, the console lists it,
and the resident who caused it is told the truth.

Which pushes matter is `OutboxMessage.urgency` (models.push.PushUrgency):
- IMPORTANT (grid reports, rosters, welfare alerts) is retried for hours (`retry_until`); when
  the worker finally gives up, `escalate` queues a copy to `escalate_to` (else the staff on duty).
- URGENT (emergencies) is escalated the same way as soon as it is not delivered by `deliver_by`
  (two minutes), while the original keeps trying; `escalate_overdue` finds those.

Escalation is claimed with a conditional UPDATE on `escalated_at`, so two workers never send two
copies; copies carry `escalation_of` and never escalate themselves.

A push may carry, in its payload, `tell_if_undelivered: {"openid", "text"}`: the person to tell
(once per `subject`) when it could not be delivered and no other push of the same subject was.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import timezone
from tortoise.transactions import in_transaction

from community.roles import admin_openids
from models.push import OutboxMessage, PushChannel, PushStatus, PushUrgency
from push.outbox import IMPORTANT_RETRY_FOR, enqueue_text

log = logging.getLogger(__name__)

UNSENT = (PushStatus.PENDING, PushStatus.SENDING, PushStatus.FAILED)
TELL_KEY = "tell_if_undelivered"


def _now() -> datetime:
    # The configured zone, as the worker does (SQLite compares datetimes as text).
    return timezone.localtime(datetime.now(UTC))


async def staff_on_duty() -> list[str]:
    """Who hears about anything nobody else could be reached for: the community's admins."""
    return await admin_openids()


def gist(payload: Any) -> str:
    """The readable text of a payload, whatever its channel."""
    if not isinstance(payload, dict):
        return ""
    for name in ("text", "content"):
        value = payload.get(name)
        if isinstance(value, str):
            return value
    data = payload.get("data")
    if isinstance(data, dict):
        values = [v.get("value", v) if isinstance(v, dict) else v for v in data.values()]
        return "\n".join(str(v) for v in values if v)
    return ""


async def escalate(msg_id: int, reason: str) -> int:
    """Queue the message to the second person(s), once; returns how many copies were queued."""
    now = _now()
    claimed = await OutboxMessage.filter(
        pk=msg_id,
        escalated_at__isnull=True,
        escalation_of__isnull=True,
        urgency__in=[PushUrgency.IMPORTANT, PushUrgency.URGENT],
    ).update(escalated_at=now)
    if not claimed:
        return 0
    msg = await OutboxMessage.get(pk=msg_id)
    targets = [t for t in (msg.escalate_to or []) if t != msg.target]
    if not targets:
        targets = [t for t in await staff_on_duty() if t != msg.target]
    said = gist(msg.payload)
    late = "没能及时送到" if msg.status != PushStatus.FAILED else "没能送到"
    text = f"【请帮忙跟进】下面这条消息{late}原定的接收人，请您看看：\n{said}"
    copies = 0
    async with in_transaction() as conn:
        for openid in targets:
            copies += len(
                await enqueue_text(
                    PushChannel.WECHAT_CS,
                    openid,
                    text,
                    dedupe_key=f"escalate:{msg.pk}:{openid}",
                    using_db=conn,
                    urgency=PushUrgency.IMPORTANT,
                    subject=msg.subject,
                    escalation_of=msg.pk,
                )
            )
        await _tell(msg, conn)
    if not targets:
        log.error("undelivered push has nobody to escalate to", extra={"push_id": msg.pk})
    log.warning(
        "push escalated",
        extra={"push_id": msg.pk, "copies": copies, "subject": msg.subject, "error": reason},
    )
    return copies


async def _tell(msg: OutboxMessage, conn: Any) -> None:
    """The resident's truth: their report did not reach its first recipient."""
    tell = msg.payload.get(TELL_KEY) if isinstance(msg.payload, dict) else None
    if not isinstance(tell, dict) or not msg.subject:
        return
    reached = await (
        OutboxMessage.filter(
            subject=msg.subject, status=PushStatus.SENT, escalation_of__isnull=True
        )
        .using_db(conn)
        .exists()
    )
    if reached:  # someone it was meant for has it: what the resident was told holds
        return
    await enqueue_text(
        PushChannel.WECHAT_CS,
        str(tell["openid"]),
        str(tell["text"]),
        dedupe_key=f"told:{msg.subject}",
        using_db=conn,
        urgency=PushUrgency.IMPORTANT,
        subject=msg.subject,
        escalation_of=msg.pk,
    )


async def escalate_overdue() -> int:
    """URGENT pushes past `deliver_by` and still unsent: escalate each. Returns copies queued."""
    overdue: list[Any] = await OutboxMessage.filter(
        urgency=PushUrgency.URGENT,
        deliver_by__lte=_now(),
        escalated_at__isnull=True,
        escalation_of__isnull=True,
        status__in=list(UNSENT),
    ).values_list("id", flat=True)
    copies = 0
    for msg_id in overdue:
        copies += await escalate(int(msg_id), "not delivered in time")
    return copies


async def retry(msg_id: int) -> bool:
    """Put a failed push back in the queue (the console's retry button); False if not failed."""
    now = _now()
    msg = await OutboxMessage.get_or_none(pk=msg_id, status=PushStatus.FAILED)
    if msg is None:
        return False
    fields: dict[str, Any] = {
        "status": PushStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
    }
    if msg.urgency != PushUrgency.ROUTINE:
        fields["retry_until"] = now + IMPORTANT_RETRY_FOR
    return bool(await OutboxMessage.filter(pk=msg_id, status=PushStatus.FAILED).update(**fields))


async def failed(limit: int = 50) -> list[OutboxMessage]:
    """Pushes that gave up, newest first (for the console)."""
    return list(
        await OutboxMessage.filter(status=PushStatus.FAILED)
        .order_by("-created_at", "-id")
        .limit(limit)
    )


def since(hours: float) -> datetime:
    return _now() - timedelta(hours=hours)
