"""The push worker: drains the outbox (models.push.OutboxMessage) over the push channels.

Claiming: a batch of due rows (pending and due, or `sending` whose lease ran out because the
worker that held them died) is flipped to `sending` with `lease_until` = a fresh, unique lease
time that doubles as this claim's token. On PostgreSQL the candidates are locked with
`FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint batches; on SQLite (one writer at a
time) the UPDATE re-checks the due condition and the rows that really carry our token are read
back. Every later write to a claimed row is conditioned on that token, so a worker whose lease
expired never overwrites a newer claim.

Delivery is at least once: a row is marked `sent` only after WeChat accepted it, so a worker
killed mid-batch leaves its batch leased, and the next worker re-sends at most that batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise import connections, timezone
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from community.roles import Duty
from infra import keys
from infra.orm import flat
from infra.redis import awaitable
from models.push import OutboxMessage, PushChannel, PushStatus, PushUrgency
from models.users import Role, RoleGrant, User
from push import escalation, texts
from push.channels import USER_CHANNELS, PayloadError, WeComRobot, deliver
from push.outbox import enqueue_text
from push.ratelimit import Rate, RateLimiter
from wechat_api.client import OUT_OF_WINDOW, TOKEN_ERRORS, WeChatAPI, WeChatAPIError

log = logging.getLogger(__name__)

# 43004: the user unfollowed; remember it so later pushes are skipped without a call.
UNFOLLOWED_ERRCODE = 43004
# OUT_OF_WINDOW (45015): a message that carries a `fallback` (e.g. the same menu as a template
# message) is switched to it.
NOTICE_MAX_CHARS = 180
NOTICE_REMARK = "回复“消息”查看完整内容。"
INBOX_TTL = 7 * 24 * 3600  # a shortened message's full text waits this long for "消息"
INBOX_MAX = 20


@dataclass(frozen=True)
class WorkerConfig:
    batch_size: int = 100
    concurrency: int = 32  # sends in flight at once within a batch
    lease: float = 60.0  # seconds; must outlast a batch (sends time out after 5 s)
    poll_interval: float = 1.0
    max_attempts: int = 8
    retry_base: float = 2.0  # first retry after ~retry_base s, doubling, with jitter
    retry_cap: float = 600.0
    # Per official account, per WeChat channel (45009 is WeChat's answer to going faster).
    wechat_rate: Rate = field(default_factory=lambda: Rate(100, 1.0))
    # Per robot key: WeCom accepts at most 20 messages a minute.
    robot_rate: Rate = field(default_factory=lambda: Rate(20, 60.0))
    # A slot this close is waited for in place; a later one puts the message back in the outbox.
    max_rate_wait: float = 1.0
    # Official Account template (first, keyword1, remark) for customer-service texts refused
    # with 45015 that carry no fallback of their own (rosters, alerts, login codes, ...).
    notice_template: str | None = None
    # WeCom group-robot key of the staff group (WECOM_STAFF_ROBOT_KEY): a customer-service text
    # to staff (admins, volunteers, grid workers, canteen staff) refused with 45015 is also
    # posted there, marked with whom it was for. Residents' texts never go there.
    staff_robot_key: str | None = None
    # How often URGENT pushes past their two minutes are looked for (push/escalation.py).
    escalation_interval: float = 5.0


def _now() -> datetime:
    # In the configured time zone, not UTC: Tortoise stores SQLite datetimes as text in that
    # zone but passes filter values through as given, so a UTC value would compare as a string
    # against +08:00 text and match the wrong rows. (PostgreSQL compares instants either way.)
    return timezone.localtime(datetime.now(UTC))


def _due() -> Q:
    now = _now()
    return Q(status=PushStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=PushStatus.SENDING, lease_until__lt=now
    )


class PushWorker:
    def __init__(
        self,
        *,
        api: WeChatAPI,
        robot: WeComRobot,
        redis: Redis,
        config: WorkerConfig,
        mini_api: WeChatAPI | None = None,
    ) -> None:
        self.api = api  # the Official Account
        self.mini_api = mini_api or api  # the mini-program (subscribe messages)
        self.robot = robot
        self.redis = redis
        self.config = config
        self.limiter = RateLimiter(redis)
        self._next_escalation_check = 0.0

    # ---- loop --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until `stop` is set; the batch in hand is finished first (graceful stop)."""
        log.info("push worker running")
        while not stop.is_set():
            try:
                if await self.run_once():
                    continue  # there may be more due right now
            except Exception:
                log.exception("push worker iteration failed")
            await self._idle(stop)
        log.info("push worker stopped")

    async def _idle(self, stop: asyncio.Event) -> None:
        """Sleep up to poll_interval; wake at once on `outbox.wake` or on `stop` (so shutting
        the app down does not wait out a poll)."""
        # redis-py types the timeout as int; the server (6+) takes fractional seconds.
        wait = self.redis.blpop([keys.PUSH_WAKE], timeout=self.config.poll_interval)  # type: ignore[arg-type]
        signal = asyncio.ensure_future(awaitable(wait))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({signal, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in (signal, stopping):
            task.cancel()
        results = await asyncio.gather(signal, stopping, return_exceptions=True)
        if isinstance(results[0], RedisError):  # Redis away: still poll the database
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.poll_interval)

    async def run_once(self) -> int:
        """Claim one batch and process it; returns how many messages were claimed."""
        loop = asyncio.get_running_loop()
        if loop.time() >= self._next_escalation_check:
            self._next_escalation_check = loop.time() + self.config.escalation_interval
            try:
                await escalation.escalate_overdue()
            except Exception:  # never let the check stop the sending
                log.exception("escalation check failed")
        batch = await self.claim()
        if batch:
            await self.process(batch)
        return len(batch)

    async def drain(self, within: float = 10.0) -> None:
        """Process until nothing is pending or in flight (tests, the bench, one-off runs)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + within
        while True:
            if not await self.run_once():
                busy = OutboxMessage.filter(status__in=[PushStatus.PENDING, PushStatus.SENDING])
                if not await busy.exists():
                    return
                if loop.time() >= until:
                    raise TimeoutError("outbox not drained")
                await asyncio.sleep(0.02)

    # ---- claiming ----------------------------------------------------------------------------

    async def claim(self) -> list[OutboxMessage]:
        # A random sub-second offset makes the lease time unique to this claim (its token).
        token = _now() + timedelta(
            seconds=self.config.lease, microseconds=secrets.randbelow(1_000_000)
        )
        postgres = connections.get("default").capabilities.dialect == "postgres"
        async with in_transaction() as conn:
            # URGENT rows first (an emergency is not queued behind a 100k-subscriber menu),
            # through their own small index scan; then the oldest due of any kind.
            ids: list[int] = []
            for urgent_only in (True, False):
                candidates = OutboxMessage.filter(_due())
                if urgent_only:
                    candidates = candidates.filter(urgency=PushUrgency.URGENT)
                elif ids:
                    candidates = candidates.exclude(id__in=ids)
                candidates = (
                    candidates.order_by("next_attempt_at", "id")
                    .limit(self.config.batch_size - len(ids))
                    .using_db(conn)
                )
                if postgres:
                    candidates = candidates.select_for_update(skip_locked=True)
                ids += await flat(candidates.values_list("id", flat=True))
                if len(ids) >= self.config.batch_size:
                    break
            if not ids:
                return []
            claimed = await (
                OutboxMessage.filter(_due(), id__in=ids)
                .using_db(conn)
                .update(status=PushStatus.SENDING, lease_until=token, attempts=F("attempts") + 1)
            )
        if not claimed:
            return []
        return list(
            await OutboxMessage.filter(id__in=ids, status=PushStatus.SENDING, lease_until=token)
        )

    # ---- processing --------------------------------------------------------------------------

    async def process(self, batch: list[OutboxMessage]) -> None:
        openids = {m.target for m in batch if m.channel in USER_CHANNELS}
        unfollowed = set(
            await flat(
                User.filter(openid__in=openids, followed=False).values_list("openid", flat=True)
            )
            if openids
            else []
        )
        gate = asyncio.Semaphore(self.config.concurrency)
        sent: list[OutboxMessage] = []

        async def one(msg: OutboxMessage) -> None:
            if msg.channel in USER_CHANNELS and msg.target in unfollowed:
                await self._give_up(msg, "unfollowed")
                return
            async with gate:
                if not await self._take_slot(msg):
                    return
                try:
                    await deliver(msg, self.api, self.robot, self.mini_api)
                except PayloadError as exc:
                    await self._give_up(msg, f"bad payload: {exc}")
                except WeChatAPIError as exc:
                    await self._failed(msg, exc)
                except Exception as exc:  # a bug or an outage we did not foresee: retry later
                    log.exception("push failed unexpectedly", extra={"push_id": msg.pk})
                    await self._retry(msg, f"{type(exc).__name__}: {exc}")
                else:
                    sent.append(msg)

        # One lane per recipient, in queue order: the parts of a long message (and a menu and
        # its correction) arrive in the order they were queued; recipients go in parallel.
        lanes: dict[tuple[str, str], list[OutboxMessage]] = {}
        for msg in sorted(batch, key=lambda m: m.pk):
            lanes.setdefault((msg.channel, msg.target), []).append(msg)

        async def lane(messages: list[OutboxMessage]) -> None:
            for msg in messages:
                await one(msg)

        await asyncio.gather(*(lane(messages) for messages in lanes.values()))
        if sent:
            # One write for the batch (all of it carries this claim's lease token): a crash
            # before it re-sends at most this leased batch.
            await OutboxMessage.filter(
                id__in=[m.pk for m in sent],
                status=PushStatus.SENDING,
                lease_until=sent[0].lease_until,
            ).update(status=PushStatus.SENT, sent_at=_now(), lease_until=None, last_error=None)

    def _rate_for(self, msg: OutboxMessage) -> tuple[str, Rate]:
        if msg.channel == PushChannel.WECOM_ROBOT:
            return f"robot:{msg.target}", self.config.robot_rate
        return str(msg.channel), self.config.wechat_rate

    async def _take_slot(self, msg: OutboxMessage) -> bool:
        """Wait for a rate-limit slot; False when it is far off and the message was put back."""
        name, rate = self._rate_for(msg)
        while True:
            wait = await self.limiter.acquire(name, rate)
            if wait == 0:
                return True
            if wait > self.config.max_rate_wait:
                # Back to pending without spending an attempt: being throttled is not failing.
                await self._owned(msg).update(
                    status=PushStatus.PENDING,
                    next_attempt_at=_now() + timedelta(seconds=wait),
                    lease_until=None,
                    attempts=F("attempts") - 1,
                )
                return False
            await asyncio.sleep(wait)

    def _owned(self, msg: OutboxMessage) -> QuerySet[OutboxMessage]:
        """The row, only while this claim still holds it."""
        return OutboxMessage.filter(
            id=msg.pk, status=PushStatus.SENDING, lease_until=msg.lease_until
        )

    async def _failed(self, msg: OutboxMessage, exc: WeChatAPIError) -> None:
        reason = f"{exc.errcode} {exc.errmsg}".strip()
        fallback = msg.payload.get("fallback") if isinstance(msg.payload, dict) else None
        if fallback is None and msg.channel == PushChannel.WECHAT_CS:
            fallback = self._notice(msg.payload)
        if exc.errcode == OUT_OF_WINDOW and msg.channel == PushChannel.WECHAT_CS:
            await self._copy_to_staff_group(msg)
        if exc.errcode == OUT_OF_WINDOW and isinstance(fallback, dict):
            if fallback["payload"].get("data", {}).get("remark") == NOTICE_REMARK:
                await self._keep_for_later(msg.target, msg.payload["text"])
            await self._switch(msg, fallback, reason)
            return
        if exc.errcode == UNFOLLOWED_ERRCODE and msg.channel in USER_CHANNELS:
            await User.filter(openid=msg.target).update(followed=False)
        # A token error that survived the renewal inside `call` is WeChat being flaky: retry.
        if exc.retryable or exc.errcode in TOKEN_ERRORS:
            await self._retry(msg, reason)
        else:
            await self._give_up(msg, reason)

    async def _copy_to_staff_group(self, msg: OutboxMessage) -> None:
        """Post a text WeChat refused (48 hours) to the staff group's robot, when the recipient
        is staff and a staff robot is configured; once per message (its dedupe key)."""
        text = msg.payload.get("text") if isinstance(msg.payload, dict) else None
        if not self.config.staff_robot_key or not isinstance(text, str):
            return
        who = await _staff_name(msg.target)
        if who is None:  # a resident: their messages stay private
            return
        try:
            await enqueue_text(
                PushChannel.WECOM_ROBOT,
                self.config.staff_robot_key,
                texts.staff_copy(who, text),
                dedupe_key=f"staff-copy:{msg.pk}",
                urgency=msg.urgency,
                subject=msg.subject,
            )
        except Exception:  # the copy is a second way, never a reason to lose the first
            log.exception("staff group copy failed", extra={"push_id": msg.pk})

    def _notice(self, payload: object) -> dict[str, Any] | None:
        """A customer-service text as the configured notice template: its first line as the
        title, the rest shortened, and how to read it all."""
        text = payload.get("text") if isinstance(payload, dict) else None
        if not self.config.notice_template or not isinstance(text, str):
            return None
        first, _, rest = text.partition("\n")
        rest = rest.replace("\n", " ")
        if len(rest) > NOTICE_MAX_CHARS:
            rest = rest[: NOTICE_MAX_CHARS - 1] + "…"
        data = {
            "first": first[:NOTICE_MAX_CHARS],
            "keyword1": rest or first,
            "remark": NOTICE_REMARK,
        }
        return {
            "channel": PushChannel.WECHAT_TEMPLATE.value,
            "payload": {"template_id": self.config.notice_template, "data": data},
        }

    async def _keep_for_later(self, openid: str, text: str) -> None:
        """The full text the notice shortened, for when the user answers "消息"."""
        key = keys.inbox(openid)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, text)
                pipe.ltrim(key, -INBOX_MAX, -1)
                pipe.expire(key, INBOX_TTL)
                await pipe.execute()
        except RedisError:
            log.warning("could not keep a shortened message", extra={"channel": "wechat_cs"})

    async def _switch(self, msg: OutboxMessage, fallback: dict[str, Any], reason: str) -> None:
        """Queue the message's fallback in its place, due now, without spending an attempt."""
        try:
            channel = PushChannel(fallback["channel"])
            payload = fallback["payload"]
        except (KeyError, ValueError):
            await self._give_up(msg, f"{reason}; unusable fallback")
            return
        log.info("push switched to fallback", extra={"push_id": msg.pk, "channel": channel})
        await self._owned(msg).update(
            channel=channel,
            payload=payload,
            status=PushStatus.PENDING,
            next_attempt_at=_now(),
            lease_until=None,
            attempts=F("attempts") - 1,
            last_error=reason[:255],
        )

    async def _retry(self, msg: OutboxMessage, reason: str) -> None:
        # IMPORTANT and URGENT pushes (grid reports, rosters, alerts) outlast an outage of hours:
        # they are retried until `retry_until`, however many attempts that takes.
        keep_trying = msg.retry_until is not None and _now() < msg.retry_until
        if msg.attempts >= self.config.max_attempts and not keep_trying:
            await self._give_up(msg, f"after {msg.attempts} attempts: {reason}")
            return
        # Exponential backoff with jitter, so a burst of failures does not retry in lockstep.
        delay = min(self.config.retry_cap, self.config.retry_base * 2 ** (msg.attempts - 1))
        delay *= random.uniform(0.5, 1.0)
        log.info("push retry", extra={"push_id": msg.pk, "delay": round(delay, 3), "error": reason})
        await self._owned(msg).update(
            status=PushStatus.PENDING,
            next_attempt_at=_now() + timedelta(seconds=delay),
            lease_until=None,
            last_error=reason[:255],
        )

    async def _give_up(self, msg: OutboxMessage, reason: str) -> None:
        log.warning("push failed", extra={"push_id": msg.pk, "error": reason})
        updated = await self._owned(msg).update(
            status=PushStatus.FAILED, lease_until=None, last_error=reason[:255]
        )
        if updated and msg.urgency != PushUrgency.ROUTINE and msg.escalation_of is None:
            # Nobody may be left unaware: a second person gets it, the resident the truth.
            try:
                await escalation.escalate(msg.pk, reason)
            except Exception:
                log.exception("escalation failed", extra={"push_id": msg.pk})


async def _staff_name(openid: str) -> str | None:
    """How the staff group knows the recipient ("网格员（1-5号楼）…a1b2"); None for residents
    and craftsmen."""
    grants = await RoleGrant.filter(
        user__openid=openid, role__in=[Role.ADMIN, Role.VOLUNTEER, Role.CANTEEN_STAFF]
    ).order_by("id")
    if not grants:
        return None
    names = []
    for grant in grants:
        name = texts.GRID_WORKER if grant.duty == Duty.GRID else texts.ROLE_NAMES[grant.role]
        if grant.area:
            name += f"（{grant.area}）"
        if name not in names:
            names.append(name)
    return f"{'、'.join(names)} …{openid[-4:]}"
