"""The durable outbox: every push (WeChat message, WeCom group robot, ...) is a row here, written
in the same transaction as what caused it, and drained by the push worker."""

from __future__ import annotations

from enum import StrEnum

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


class OutboxMessage(Model):
    id = fields.BigIntField(primary_key=True)
    channel = fields.CharEnumField(PushChannel, max_length=16)
    target = fields.CharField(max_length=128)
    payload = fields.JSONField()
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

    class Meta:
        table = "push_outbox"

    def __str__(self) -> str:
        return f"OutboxMessage#{self.pk} {self.channel} {self.status}"
