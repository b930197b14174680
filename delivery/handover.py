"""今天我去不了: a volunteer who cannot do today's round hands it over. The lines they have not
reported go to the other volunteers of their area (any of them reports them as usual, "3 送到":
the roster's areas already let them), or to the canteen staff when nobody else covers it; the
staff hear of it either way."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from community.errors import DomainError
from delivery import texts
from delivery.roster import roster_line, staff_of, volunteer_lines, volunteers
from models.push import PushChannel, PushUrgency
from models.users import Role, RoleGrant
from push.outbox import enqueue_text


@dataclass(frozen=True)
class HandOver:
    lines: int  # lines handed over
    to_volunteers: list[str]
    to_staff: list[str]


async def hand_over(volunteer: str, now: dt.datetime) -> HandOver:
    grants = await RoleGrant.filter(user__openid=volunteer, role=Role.VOLUNTEER)
    if not grants:
        raise DomainError(texts.NOT_VOLUNTEER_ROUND, code="not_volunteer")
    today = now.date()
    lines = [s for s in await volunteer_lines(volunteer, today) if s.outcome is None]
    if not lines:
        raise DomainError(texts.NOTHING_TO_HAND_OVER, code="nothing_to_hand_over")
    areas = {g.area for g in grants if g.area}
    canteens = {s.slot.canteen_id for s in lines}
    others: set[str] = set()
    staff: set[str] = set()
    for canteen_id in canteens:
        others |= {
            v.openid
            for v in await volunteers(canteen_id)
            if v.area in areas and v.openid != volunteer
        }
        staff |= set(await staff_of(canteen_id))
    where = "、".join(sorted(areas)) or "全部片区"
    body = "\n".join(roster_line(s) for s in lines)
    async with in_transaction() as conn:
        for target in sorted(others):
            await enqueue_text(
                PushChannel.WECHAT_CS,
                target,
                texts.handover_for_volunteer(where, len(lines), body),
                dedupe_key=f"handover:{today}:{volunteer}:{target}",
                using_db=conn,
                # Meals waiting: retried for hours, then the staff get it (push/escalation.py).
                urgency=PushUrgency.IMPORTANT,
                escalate_to=sorted(staff),
                subject=f"handover:{today}",
            )
        for target in sorted(staff):
            await enqueue_text(
                PushChannel.WECHAT_CS,
                target,
                texts.handover_for_staff(where, len(lines), body, bool(others)),
                dedupe_key=f"handover:{today}:{volunteer}:{target}",
                using_db=conn,
                urgency=PushUrgency.IMPORTANT,
                subject=f"handover:{today}",
            )
    return HandOver(len(lines), sorted(others), sorted(staff))
