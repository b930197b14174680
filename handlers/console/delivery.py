"""The console's meal-delivery part: today's sign-ups per delivered meal, as the roster shows
them, with what the volunteer reported (delivery.roster and delivery.service do the work)."""

from __future__ import annotations

import importlib.util
from typing import Any

from models.canteen import MEAL_NAMES


def todays_signups_available() -> bool:
    """Meal-delivery sign-ups live in the `delivery` package, built separately."""
    return importlib.util.find_spec("delivery") is not None


def _cutoff_text(cutoff: Any, today: Any, now: Any) -> str:
    """When sign-ups for today's meal closed (breakfast: the evening before), as staff read it."""
    days = {-1: "昨天", 0: "今天"}.get((cutoff.date() - today).days, f"{cutoff:%m月%d日}")
    when = f"{days}{cutoff:%H:%M}"
    return f"{when}已截止" if now >= cutoff else f"{when}截止"


async def todays_signups(canteen: Any, today: Any, now: Any) -> list[dict[str, Any]] | None:
    """Each delivered meal's booked sign-ups today, as the roster shows them, with what the
    volunteer reported for each line (None: no module)."""
    if not todays_signups_available():
        return None
    from delivery.roster import OUTCOME_NAMES, booked_on, roster_line
    from delivery.service import cutoff_at, delivered_meals

    out = []
    for meal in await delivered_meals(canteen):
        slot, signups = await booked_on(canteen.pk, today, meal.meal)
        lines = []
        for s in signups:
            # Line numbers are given when the roster is built at the cutoff.
            text = roster_line(s) if s.line_no is not None else roster_line(s).partition(". ")[2]
            if s.outcome:
                at = f"{s.reported_at.astimezone(now.tzinfo):%H:%M}" if s.reported_at else ""
                said = OUTCOME_NAMES[s.outcome]
                result = f"{said}（{at}报告）" if at else said
            else:
                result = "还没有报告" if s.line_no is not None else ""
            alert = bool(s.outcome) and s.outcome != "delivered"
            lines.append({"text": text, "result": result, "alert": alert})
        out.append(
            {
                "meal": MEAL_NAMES[meal.meal],
                "booked": slot.booked if slot else 0,
                "capacity": slot.capacity if slot else meal.delivery_capacity,
                "cutoff": _cutoff_text(cutoff_at(meal, today), today, now),
                "lines": lines,
            }
        )
    return out
