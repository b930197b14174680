"""A closed day (停餐) after the roster went out: the volunteers who were sent that meal's
roster (the area's volunteers, and whoever took a round over) are told their round is off,
through the outbox, in the transaction that cancels the sign-ups (delivery.service.close_day).

Kept apart from delivery.roster, which imports delivery.service: the service calls this."""

from __future__ import annotations

from collections import defaultdict

from tortoise.backends.base.client import BaseDBAsyncClient

from community.buildings import UNASSIGNED
from delivery import texts
from models.delivery import MealSlot, Signup
from models.push import PushChannel, PushUrgency
from models.users import Role, RoleGrant
from models.volunteers import Handover, HandoverStatus
from push.outbox import enqueue_text


async def volunteers_to_tell(
    conn: BaseDBAsyncClient, slot: MealSlot, cancelled: list[Signup], closed_by: str
) -> dict[str, set[int]]:
    """Who was sent lines of this slot's roster among `cancelled`, and which lines (none
    before the roster was built); the one closing the day is left out. The same selection
    for the preview before 停餐 is confirmed and for the notices when it is."""
    built = await (
        MealSlot.filter(pk=slot.pk).using_db(conn).values_list("roster_built_at", flat=True)
    )
    numbered = [s for s in cancelled if s.line_no is not None]
    if not built or built[0] is None or not numbered:
        return {}
    grants = await RoleGrant.filter(role=Role.VOLUNTEER).using_db(conn).prefetch_related("user")
    crew = [g for g in grants if g.canteen_id in (None, slot.canteen_id) and g.area]
    lines: defaultdict[str, set[int]] = defaultdict(set)  # who was sent which lines
    for s in numbered:
        if s.area and s.area != UNASSIGNED:  # the staff had those, and closed the day
            for openid in {g.user.openid for g in crew if g.area == s.area}:
                lines[openid].add(s.pk)
    ids = {s.pk for s in numbered}
    taken = Handover.filter(day=slot.date, status=HandoverStatus.TAKEN).using_db(conn)
    for h in await taken:
        if h.taker:
            lines[h.taker] |= ids & set(h.signup_ids)
    return {openid: n for openid, n in lines.items() if n and openid != closed_by}


async def tell_volunteers(
    conn: BaseDBAsyncClient,
    slot: MealSlot,
    cancelled: list[Signup],
    day: str,
    meal: str,
    closed_by: str,
) -> list[str]:
    """Queue "your round is off" for every volunteer who got this slot's roster (none before
    the roster was built: the sign-ups were simply cancelled). Returns the openids told."""
    lines = await volunteers_to_tell(conn, slot, cancelled, closed_by)
    told = sorted(lines)
    for openid in told:
        await enqueue_text(
            PushChannel.WECHAT_CS,
            openid,
            texts.round_off_for_volunteer(day, meal, len(lines[openid])),
            dedupe_key=f"closed:{slot.pk}:volunteer:{openid}",
            using_db=conn,
            # A volunteer walking to the canteen for meals that will not be cooked: retried,
            # and the staff member who closed the day hears if it cannot be delivered.
            urgency=PushUrgency.IMPORTANT,
            escalate_to=[closed_by],
            subject=f"closed_day:{slot.pk}",
        )
    return told
