"""Volunteer points (社区志愿者积分), counted per calendar year (China time), so they start again
every 1 January by themselves; last year's stay readable.

A delivered line earns points weighted by how hard it was: every home, more for a walk-up floor
(the floor is read from the address: 3号楼2单元601 is the 6th), more again for a line of a round
taken over from a volunteer who could not go. Tasks earn points too: a handover accepted, a
problem reported to the grid worker by a volunteer, and whatever another module credits with
`credit_task` (e.g. a courier run). Every weight is in `Weights`, once; a community changes
them in its settings (VOLUNTEER_POINT_WEIGHTS, BUILDINGS_WITH_LIFT: `weights_of`).

Delivered lines are counted from the delivery rows themselves (`Signup.reported_by`,
`outcome`, `reported_at`) and grid reports from theirs (`grid_reports`, the one rule for them:
a role-holding volunteer's report or an approved courier's/rider's, each report once): a point
cannot drift from the work it stands for. Tasks credited from elsewhere have their ledger
(`models.volunteers.VolunteerTask`), one row per task (`ref`), so crediting twice counts
once."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from community.clock import SHANGHAI
from community.errors import DomainError
from delivery import texts
from models.delivery import Outcome, Signup
from models.grid import CourierVolunteer, GridReport, VolunteerStatus
from models.users import Role, RoleGrant
from models.volunteers import Handover, HandoverStatus, VolunteerTask

HANDOVER = "handover"  # a round taken over from a volunteer who could not go
GRID_REPORT = "grid_report"  # a problem a volunteer reported to the grid worker
COURIER = "courier"  # an errand for a resident (another module's couriers)


@dataclass(frozen=True)
class Weights:
    """How many points each piece of work earns: the one place to change them."""

    line: int = 1  # every home a meal was delivered to
    high_floor_from: int = 4  # walk-up floors from here are 高楼层
    high_floor: int = 1  # extra for such a line
    top_floor_from: int = 6
    top_floor: int = 2  # extra (instead) from this floor
    taken_over: int = 1  # extra per line of a round taken over from another volunteer
    # Buildings with a lift (building numbers, as on addresses): their floors earn no extra.
    lift_buildings: frozenset[str] = frozenset()
    tasks: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({HANDOVER: 2, GRID_REPORT: 1, COURIER: 2})
    )

    def floor_extra(self, building: str, address: str) -> int:
        floor = floor_of(address)
        if floor is None or building in self.lift_buildings:
            return 0
        if floor >= self.top_floor_from:
            return self.top_floor
        return self.high_floor if floor >= self.high_floor_from else 0

    def rule(self) -> str:
        """The weights in one short sentence, for 我的积分."""
        return (
            f"每送到一户{self.line}分，{self.high_floor_from}楼以上（没电梯）加{self.high_floor}分、"
            f"{self.top_floor_from}楼以上加{self.top_floor}分，接手的每户再加{self.taken_over}分，"
            f"接下求助{self.tasks.get(HANDOVER, 0)}分，报告问题{self.tasks.get(GRID_REPORT, 0)}分"
        )

    def courier_rule(self) -> str:
        """The one line a courier/rider volunteer needs (they deliver no meals)."""
        return f"随手拍报告一件问题{self.tasks.get(GRID_REPORT, 0)}分"


WEIGHTS = Weights()


@functools.lru_cache(maxsize=8)
def _parsed(spec: str, lifts: str) -> Weights:
    numbers: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.replace("，", ",").split(","))):
        key, _, value = part.partition("=")
        numbers[key.strip()] = int(value)
    tasks = {k: numbers.pop(k, v) for k, v in WEIGHTS.tasks.items()}
    buildings = frozenset(b.strip() for b in re.split(r"[,，、\s]+", lifts) if b.strip())
    return replace(WEIGHTS, **numbers, tasks=MappingProxyType(tasks), lift_buildings=buildings)


def weights_of(settings: object | None) -> Weights:
    """The weights as the settings change them (VOLUNTEER_POINT_WEIGHTS, BUILDINGS_WITH_LIFT);
    the defaults above without settings."""
    spec = getattr(settings, "volunteer_point_weights", "") or ""
    lifts = getattr(settings, "buildings_with_lift", "") or ""
    return _parsed(spec, lifts) if (spec or lifts) else WEIGHTS


_ROOM = re.compile(r"(\d{3,4})(?:室|号|房)?$")


def floor_of(address: str) -> int | None:
    """The floor of a flat from its room number: 3号楼2单元601 → 6, 1502 → 15; None if unsaid."""
    m = _ROOM.search(address.strip())
    if m is None:
        return None
    return int(m.group(1)[:-2]) or None


@dataclass
class Tally:
    """One volunteer's work in a period and the points it earned."""

    openid: str
    lines: int = 0  # homes delivered to
    high_floor: int = 0  # of which on a walk-up 高楼层
    taken_over: int = 0  # of which from a round taken over
    tasks: int = 0
    reports: int = 0  # of the tasks, problems reported to the grid worker (随手拍)
    points: int = 0
    area: str = ""
    courier: bool = False  # an approved courier/rider volunteer (快递/外卖 志愿者)


def _year(year: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, 1, 1, tzinfo=SHANGHAI)
    return start, dt.datetime(year + 1, 1, 1, tzinfo=SHANGHAI)


async def tallies(
    start: dt.datetime, end: dt.datetime, weights: Weights = WEIGHTS, openid: str | None = None
) -> dict[str, Tally]:
    """Every volunteer's tally between `start` and `end` (or only `openid`'s)."""
    out: dict[str, Tally] = {}

    def of(who: str) -> Tally:
        return out.setdefault(who, Tally(who))

    lines = Signup.filter(
        outcome=Outcome.DELIVERED,
        reported_at__gte=start,
        reported_at__lt=end,
        reported_by__isnull=False,
    )
    handovers = Handover.filter(
        status=HandoverStatus.TAKEN,
        day__gte=start.astimezone(SHANGHAI).date(),
        day__lt=end.astimezone(SHANGHAI).date(),
    )
    tasks = VolunteerTask.filter(at__gte=start, at__lt=end)
    if openid is not None:
        lines, handovers = lines.filter(reported_by=openid), handovers.filter(taker=openid)
        tasks = tasks.filter(openid=openid)
    taken = {(h.taker, sid) for h in await handovers for sid in h.signup_ids}
    rows = await lines.values("id", "reported_by", "recipient__building", "recipient__address")
    for row in rows:
        t = of(row["reported_by"])
        t.lines += 1
        t.points += weights.line
        extra = weights.floor_extra(row["recipient__building"], row["recipient__address"])
        if extra:
            t.high_floor += 1
            t.points += extra
        if (row["reported_by"], row["id"]) in taken:
            t.taken_over += 1
            t.points += weights.taken_over
    for task in await tasks:
        if task.ref.startswith(GRID_REF):
            continue  # a grid report is counted from the report (grid_reports), never twice
        t = of(task.openid)
        t.tasks += 1
        t.points += task.points
    for reporter, count in (await grid_reports(start, end, openid)).items():
        t = of(reporter)
        t.tasks += count
        t.reports += count
        t.points += count * weights.tasks.get(GRID_REPORT, 0)
    return out


GRID_REF = "grid_report:"  # the ledger ref an older version credited couriers' reports under


async def grid_reports(
    start: dt.datetime, end: dt.datetime, openid: str | None = None
) -> dict[str, int]:
    """How many problems each volunteer reported to the grid worker between `start` and `end`:
    the one rule for grid reports' points. A report counts, once, when it was sent as an
    approved courier's/rider's (`GridReport.volunteer_id`) or its reporter holds the volunteer
    role; a resident's report earns nothing. Nothing else credits them (a ledger row under
    GRID_REF is skipped by `tallies`), so a courier who also holds the role is not counted
    twice, and an erased reporter's reports (anonymised) count for nobody."""
    volunteers = set(
        await RoleGrant.filter(role=Role.VOLUNTEER).values_list("user__openid", flat=True)
    )
    reports = GridReport.filter(created_at__gte=start, created_at__lt=end).filter(
        Q(volunteer_id__isnull=False) | Q(openid__in=sorted(volunteers))
    )
    if openid is not None:
        reports = reports.filter(openid=openid)
    out: dict[str, int] = {}
    for reporter in await reports.values_list("openid", flat=True):
        out[str(reporter)] = out.get(str(reporter), 0) + 1
    return out


async def approved_couriers(openids: list[str] | None = None) -> dict[str, CourierVolunteer]:
    """Approved courier/rider volunteers by openid (only `openids`' if given)."""
    found = CourierVolunteer.filter(status=VolunteerStatus.APPROVED)
    if openids is not None:
        found = found.filter(openid__in=openids)
    return {v.openid: v for v in await found}


@dataclass(frozen=True)
class MyPoints:
    year: int
    total: Tally
    month: Tally | None  # this month's, for the current year only
    courier: bool = False  # an approved courier/rider without the volunteer role


async def points_of(
    volunteer: str, now: dt.datetime, year: int | None = None, weights: Weights = WEIGHTS
) -> MyPoints:
    """One volunteer's points of a year (this year unless said) and of this month: a
    role-holding volunteer's, or an approved courier's/rider's (their 随手拍)."""
    courier = False
    if not await RoleGrant.exists(user__openid=volunteer, role=Role.VOLUNTEER):
        if not await approved_couriers([volunteer]):
            raise DomainError(texts.NOT_VOLUNTEER, code="not_volunteer")
        courier = True
    local = now.astimezone(SHANGHAI)
    year = year or local.year
    start, end = _year(year)
    total = (await tallies(start, end, weights, volunteer)).get(volunteer, Tally(volunteer))
    month = None
    if year == local.year:
        month_start = dt.datetime(local.year, local.month, 1, tzinfo=SHANGHAI)
        month = (await tallies(month_start, end, weights, volunteer)).get(
            volunteer, Tally(volunteer)
        )
    return MyPoints(year, total, month, courier)


async def ranking(year: int, weights: Weights = WEIGHTS) -> list[Tally]:
    """The year's volunteers by points, most first (then by homes), with their areas."""
    start, end = _year(year)
    rows = [t for t in (await tallies(start, end, weights)).values() if t.points > 0]
    ranked = sorted(rows, key=lambda t: (-t.points, -t.lines, t.openid))
    grants = await RoleGrant.filter(
        role=Role.VOLUNTEER, user__openid__in=[t.openid for t in ranked]
    ).prefetch_related("user")
    areas = {g.user.openid: g.area or "" for g in grants}
    couriers = await approved_couriers([t.openid for t in ranked])
    for t in ranked:
        courier = couriers.get(t.openid)
        t.courier = courier is not None
        t.area = areas.get(t.openid) or (courier.area if courier is not None else "")
    return ranked


async def year_list(
    viewer: str, year: int, limit: int = 20, weights: Weights = WEIGHTS
) -> list[Tally]:
    """积分榜: the year's ranking for canteen staff and admins (e.g. for 最美志愿者)."""
    if not await RoleGrant.exists(user__openid=viewer, role__in=[Role.CANTEEN_STAFF, Role.ADMIN]):
        raise DomainError(texts.NOT_STAFF_POINTS, code="not_staff")
    return (await ranking(year, weights))[:limit]


async def credit_task(
    openid: str,
    kind: str,
    ref: str,
    at: dt.datetime,
    *,
    points: int | None = None,
    note: str = "",
    using_db: BaseDBAsyncClient | None = None,
    weights: Weights = WEIGHTS,
) -> bool:
    """Credit a volunteer's task (not a delivered line) with its points: `points`, else the
    weight of `kind` (HANDOVER, GRID_REPORT, COURIER). `ref` names the task ("courier:42"): the
    same ref is credited once, so a retried caller never counts twice. False if it already was.
    Pass `using_db` to credit inside the caller's transaction. Grid reports are not credited
    here: they count from the reports themselves (`grid_reports`)."""
    if ref.startswith(GRID_REF):
        raise ValueError("grid reports count from the reports (points.grid_reports)")
    value = weights.tasks.get(kind) if points is None else points
    if value is None:
        raise ValueError(f"no weight for task kind {kind!r}: pass points")
    if await VolunteerTask.filter(ref=ref).using_db(using_db).exists():
        return False
    try:
        await VolunteerTask.create(
            openid=openid, kind=kind, points=value, at=at, ref=ref, note=note[:100],
            using_db=using_db,
        )  # fmt: skip
    except IntegrityError:  # credited at the same moment elsewhere
        if using_db is not None:
            raise
        return False
    return True
