"""Time-driven delivery work: rosters at the cutoff, alerts an hour after the meal.

Level-triggered rather than cron-like: every tick looks at the recent slots and does what is
due and not yet done (each step is claimed in the database), so a tick missed while the worker
was down is caught up on the next one, and several workers may tick at once. That is why this
is a small loop beside the push worker and not arq's cron (which fires at moments and would
need its own worker process and job bookkeeping for the same guarantees).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from delivery import handover, roster
from delivery.service import cutoff_at
from models.canteen import CanteenMeal
from models.delivery import MealSlot

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0


async def tick(now: dt.datetime) -> dict[str, int]:
    """Do what is due at `now`; returns counts (rosters built, overdue lines alerted, and
    "handovers" when some nobody accepted in time went back to the staff)."""
    done = {"rosters": 0, "overdue": 0}
    if moved := await handover.expire_due(now):
        done["handovers"] = moved
    today = now.date()
    slots = await MealSlot.filter(
        date__gte=today - dt.timedelta(days=1), date__lte=today + dt.timedelta(days=1)
    ).filter(overdue_checked_at__isnull=True)
    for slot in slots:
        meal = await CanteenMeal.get_or_none(canteen_id=slot.canteen_id, meal=slot.meal)
        if meal is None:
            continue
        if slot.roster_built_at is None:
            if now >= cutoff_at(meal, slot.date) and await roster.build_roster(slot, now):
                done["rosters"] += 1
                log.info("roster built", extra={"slot": slot.pk})
            continue
        done["overdue"] += await roster.alert_overdue(slot, meal, now)
    return done


async def run(
    stop: asyncio.Event,
    clock: Callable[[], dt.datetime],
    wake: Callable[[], Awaitable[None]],
) -> None:
    """Tick every TICK_SECONDS until `stop`; `wake` nudges the push worker after work."""
    while not stop.is_set():
        try:
            done = await tick(clock())
            if any(done.values()):
                await wake()
        except Exception:
            log.exception("delivery tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TICK_SECONDS)
