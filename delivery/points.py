"""Volunteer points (社区志愿者积分): one point per roster line a volunteer reported delivered,
counted per calendar year (China time), so they reset at year end by themselves.

The ledger is the delivery rows themselves (`Signup.reported_by`, `outcome`, `reported_at`): a
point cannot drift from the work it stands for, and no second table has to be kept in step."""

from __future__ import annotations

import datetime as dt

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from community.clock import SHANGHAI
from community.errors import DomainError
from delivery import texts
from models.delivery import Outcome, Signup
from models.users import Role, RoleGrant

POINTS_PER_LINE = 1


def _year(year: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, 1, 1, tzinfo=SHANGHAI)
    return start, dt.datetime(year + 1, 1, 1, tzinfo=SHANGHAI)


def _delivered(year: int) -> QuerySet[Signup]:
    start, end = _year(year)
    return Signup.filter(outcome=Outcome.DELIVERED, reported_at__gte=start, reported_at__lt=end)


async def points_of(volunteer: str, now: dt.datetime) -> tuple[int, int]:
    """(points this year, points this month) of one volunteer."""
    if not await RoleGrant.exists(user__openid=volunteer, role=Role.VOLUNTEER):
        raise DomainError(texts.NOT_VOLUNTEER, code="not_volunteer")
    local = now.astimezone(SHANGHAI)
    year = await _delivered(local.year).filter(reported_by=volunteer).count()
    month_start = dt.datetime(local.year, local.month, 1, tzinfo=SHANGHAI)
    month = (
        await _delivered(local.year)
        .filter(reported_by=volunteer, reported_at__gte=month_start)
        .count()
    )
    return year * POINTS_PER_LINE, month * POINTS_PER_LINE


async def year_list(viewer: str, year: int, limit: int = 20) -> list[tuple[str, str, int]]:
    """The year's volunteers by points, most first: (openid, area, points). Staff and admins."""
    if not await RoleGrant.exists(user__openid=viewer, role__in=[Role.CANTEEN_STAFF, Role.ADMIN]):
        raise DomainError(texts.NOT_STAFF_POINTS, code="not_staff")
    rows = (
        await _delivered(year)
        .filter(reported_by__isnull=False)
        .annotate(n=Count("id"))
        .group_by("reported_by")
        .values("reported_by", "n")
    )
    ranked = sorted(rows, key=lambda r: (-r["n"], r["reported_by"]))[:limit]
    grants = await RoleGrant.filter(
        role=Role.VOLUNTEER, user__openid__in=[r["reported_by"] for r in ranked]
    ).prefetch_related("user")
    areas = {g.user.openid: g.area or "" for g in grants}
    return [
        (r["reported_by"], areas.get(r["reported_by"], ""), r["n"] * POINTS_PER_LINE)
        for r in ranked
    ]
