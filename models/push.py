"""The durable outbox: every push (WeChat message, WeCom group robot, ...) is a row here, written
in the same transaction as what caused it, and drained by the push worker."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class PushChannel(StrEnum):
    WECHAT_CS = "wechat_cs"  # customer-service text message to an openid
    WECHAT_TEMPLATE = "wechat_template"  # template message to an openid
    MINI_SUBSCRIBE = "mini_subscribe"  # mini-program subscribe message to an openid
    WECOM_ROBOT = "wecom_robot"  # WeCom group-robot webhook (target = robot key)


class PushStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    FAILED = "failed"  # gave up (permanent error or too many attempts)


class PushUrgency(StrEnum):
    """How hard the worker tries, and who hears when it cannot deliver (push/escalation.py).

    ROUTINE: menus, confirmations: `push_max_attempts` tries (minutes), then failed.
    IMPORTANT: grid reports, rosters, welfare alerts: retried with backoff for hours
        (`push_important_retry_hours`); if it still fails, a copy goes to a second person
        (`escalate_to`, else the staff on duty) and the console lists it with a retry button.
    URGENT: emergencies: as IMPORTANT, and if not delivered by `deliver_by` (two minutes after
        it was queued) a copy goes to the second person at once while the original keeps trying.
    """

    ROUTINE = "routine"
    IMPORTANT = "important"
    URGENT = "urgent"


class OutboxMessage(Model):
    id = fields.BigIntField(primary_key=True)
    channel = fields.CharEnumField(PushChannel, max_length=16)
    target = fields.CharField(max_length=128)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    # Same key twice is one message (e.g. "menu:12:openid"), so re-publishing never double-sends.
    dedupe_key = fields.CharField(max_length=191, unique=True, null=True)
    status = fields.CharEnumField(
        PushStatus, max_length=8, default=PushStatus.PENDING, db_index=True
    )
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    lease_until = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    # ---- reliability (push/escalation.py); set through `push.outbox.enqueue(urgency=...)` ----
    urgency = fields.CharEnumField(
        PushUrgency,
        max_length=9,
        default=PushUrgency.ROUTINE,
        # A database default too: the column was added to tables that already had rows.
        db_default=PushUrgency.ROUTINE.value,
        db_index=True,
    )
    # What the push is about, e.g. "grid_report:12", "signup:5", "roster:3:1-5号楼": the console
    # groups failures by it and the resident who caused it is told the truth.
    subject = fields.CharField(max_length=64, null=True, db_index=True)
    # openids of the second person(s) to reach when this cannot be delivered; empty or null:
    # the staff on duty (admins).
    escalate_to: fields.JSONField[list[str] | None] = fields.JSONField(null=True)
    # URGENT: escalate if not sent by then (queued + 2 minutes).
    deliver_by = fields.DatetimeField(null=True)
    # IMPORTANT/URGENT: keep retrying until then, whatever the attempt count.
    retry_until = fields.DatetimeField(null=True)
    # Set once when the second person was queued (never escalates twice).
    escalated_at = fields.DatetimeField(null=True)
    # On an escalation copy: the id of the message it stands in for (copies never escalate).
    escalation_of = fields.BigIntField(null=True, db_index=True)

    class Meta:
        table = "push_outbox"

    def __str__(self) -> str:
        return f"OutboxMessage#{self.pk} {self.channel} {self.status}"
