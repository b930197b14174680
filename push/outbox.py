"""Writing to the outbox. Call `enqueue` inside the transaction that causes the push:

async with in_transaction() as conn:
    menu = await Menu.create(..., using_db=conn)
    await enqueue(PushChannel.WECHAT_CS, openid, {"text": "..."}, using_db=conn,
                  dedupe_key=f"menu:{menu.pk}:{openid}")
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from tortoise.backends.base.client import BaseDBAsyncClient

from infra import keys
from models.push import OutboxMessage, PushChannel, PushUrgency
from push.text import split_text

# URGENT pushes not delivered this long after they were queued go to a second person as well.
URGENT_DELIVER_WITHIN = timedelta(minutes=2)
# IMPORTANT and URGENT pushes are retried (with backoff) this long before they are given up.
IMPORTANT_RETRY_FOR = timedelta(hours=6)


def _reliability(
    urgency: PushUrgency, escalate_to: Iterable[str] | None, subject: str | None
) -> dict[str, Any]:
    """The outbox columns that say how hard to try and whom to tell (models.push.PushUrgency)."""
    urgency = PushUrgency(urgency)
    now = datetime.now(UTC)
    fields: dict[str, Any] = {"urgency": urgency, "subject": subject}
    if urgency is not PushUrgency.ROUTINE:
        fields["retry_until"] = now + IMPORTANT_RETRY_FOR
        fields["escalate_to"] = sorted(set(escalate_to or ()))
    if urgency is PushUrgency.URGENT:
        fields["deliver_by"] = now + URGENT_DELIVER_WITHIN
    return fields


# The worker claims due messages oldest `next_attempt_at` first: an URGENT one (an emergency)
# is dated this much earlier, so it goes out ahead of every routine push queued today (a
# 10,000-resident menu broadcast included), with no queue of its own.
URGENT_HEAD_START = timedelta(days=1)


def _first_attempt(urgency: PushUrgency) -> datetime:
    now = datetime.now(UTC)
    return now - URGENT_HEAD_START if PushUrgency(urgency) is PushUrgency.URGENT else now


async def enqueue(
    channel: PushChannel,
    target: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    using_db: BaseDBAsyncClient | None = None,
    urgency: PushUrgency = PushUrgency.ROUTINE,
    escalate_to: Iterable[str] | None = None,
    subject: str | None = None,
    escalation_of: int | None = None,
) -> OutboxMessage | None:
    """Add one message; returns None when `dedupe_key` was already queued.

    `urgency` IMPORTANT (grid reports, rosters, welfare alerts) retries for hours and then
    reaches `escalate_to` (else the staff on duty); URGENT (emergencies) also reaches them when
    not delivered within two minutes. `subject` ("grid_report:12") names what the push is
    about, for the console's list of failures and for telling the resident the truth.
    """
    if (
        dedupe_key is not None
        and await OutboxMessage.filter(dedupe_key=dedupe_key).using_db(using_db).exists()
    ):
        return None
    return await OutboxMessage.create(
        channel=channel,
        target=target,
        payload=payload,
        dedupe_key=dedupe_key,
        next_attempt_at=_first_attempt(urgency),
        using_db=using_db,
        escalation_of=escalation_of,
        **_reliability(urgency, escalate_to, subject),
    )


async def enqueue_text(
    channel: PushChannel,
    target: str,
    text: str,
    *,
    dedupe_key: str | None = None,
    using_db: BaseDBAsyncClient | None = None,
    msgtype: str = "text",
    urgency: PushUrgency = PushUrgency.ROUTINE,
    escalate_to: Iterable[str] | None = None,
    subject: str | None = None,
    escalation_of: int | None = None,
    tell_if_undelivered: tuple[str, str] | None = None,
) -> list[OutboxMessage]:
    """Queue a text of any length as messages of at most 2048 bytes each (CS or WeCom robot).

    Parts get dedupe keys `KEY:1`, `KEY:2`, ...; returns the messages actually added.
    `tell_if_undelivered` = (openid, text): who to tell, once per `subject`, when this could not
    be delivered (push/escalation.py), e.g. the resident whose report it carries.
    """
    if channel not in (PushChannel.WECHAT_CS, PushChannel.WECOM_ROBOT):
        raise ValueError(f"{channel} does not carry plain text")
    added = []
    for i, part in enumerate(split_text(text), start=1):
        payload: dict[str, Any] = (
            {"text": part}
            if channel == PushChannel.WECHAT_CS
            else {"msgtype": msgtype, "content": part}
        )
        key = None if dedupe_key is None else f"{dedupe_key}:{i}"
        if tell_if_undelivered is not None:
            openid, told = tell_if_undelivered
            payload["tell_if_undelivered"] = {"openid": openid, "text": told}
        msg = await enqueue(
            channel,
            target,
            payload,
            dedupe_key=key,
            using_db=using_db,
            urgency=urgency,
            escalate_to=escalate_to,
            subject=subject,
            escalation_of=escalation_of,
        )
        if msg is not None:
            added.append(msg)
    return added


async def wake(redis: Redis) -> None:
    """Tell an idle worker there is work, right after the enqueuing transaction commits.

    Optional: without it the worker still finds the message on its next poll (about 1 s).
    """
    async with redis.pipeline(transaction=True) as pipe:
        pipe.lpush(keys.PUSH_WAKE, "1")
        pipe.ltrim(keys.PUSH_WAKE, 0, 63)  # a signal, not a queue: keep it short
        await pipe.execute()
