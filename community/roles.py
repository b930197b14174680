"""Who may do what: the roles the community grants, and who covers which building.

A volunteer whose grant carries `Duty.GRID` is the area's grid worker (网格员): residents'
reports, no-answer alerts and emergencies for the buildings of that area go to them.
"""

from __future__ import annotations

from enum import StrEnum

from community.buildings import covers
from models.canteen import Canteen
from models.users import Role, RoleGrant, User


class Duty(StrEnum):
    GRID = "grid"


async def has_role(openid: str, role: Role) -> bool:
    return await RoleGrant.exists(user__openid=openid, role=role)


async def is_admin(openid: str) -> bool:
    return await has_role(openid, Role.ADMIN)


async def is_grid_worker(openid: str) -> bool:
    return await RoleGrant.exists(user__openid=openid, role=Role.VOLUNTEER, duty=Duty.GRID.value)


STAFF_ROLES = (Role.CANTEEN_STAFF, Role.ADMIN)


async def is_staff(openid: str) -> bool:
    """Canteen staff or an admin: who may sign in to the staff console."""
    return await RoleGrant.filter(user__openid=openid, role__in=STAFF_ROLES).exists()


async def find_staff(account: str) -> User | None:
    """A staff member by number (user id) or WeChat openid; None for anyone else."""
    account = account.strip()
    if not account or len(account) > 64:
        return None
    user = (
        await User.get_or_none(pk=int(account)) if account.isdigit() and len(account) < 10 else None
    )
    user = user or await User.get_or_none(openid=account)
    if user is None or not await is_staff(user.openid):
        return None
    return user


async def admin_openids() -> list[str]:
    grants = await RoleGrant.filter(role=Role.ADMIN).prefetch_related("user")
    return sorted({g.user.openid for g in grants})


async def grid_workers_for(building: str, place: str) -> list[str]:
    """The grid workers covering the building; else every grid worker; else the admins: a
    resident's report always reaches a person."""
    grants = await RoleGrant.filter(role=Role.VOLUNTEER, duty=Duty.GRID.value).prefetch_related(
        "user"
    )
    near = sorted({g.user.openid for g in grants if g.area and covers(g.area, building, place)})
    if near:
        return near
    anyone = sorted({g.user.openid for g in grants})
    if anyone:
        return anyone
    return await admin_openids()


async def grant_role(
    openid: str, role: Role, canteen_id: int | None, area: str | None, grid: bool = False
) -> RoleGrant:
    """Grant (or re-grant) a role; canteen staff need a canteen, areas are for volunteers."""
    if role == Role.CANTEEN_STAFF and canteen_id is None:
        raise ValueError("canteen_staff needs --canteen ID")
    if (area or grid) and role != Role.VOLUNTEER:
        raise ValueError("--area and --grid-worker are for volunteers")
    if canteen_id is not None and not await Canteen.exists(pk=canteen_id):
        raise ValueError(f"no canteen with id {canteen_id}")
    user, _ = await User.get_or_create(openid=openid)
    grant, _ = await RoleGrant.update_or_create(
        user=user,
        role=role,
        canteen_id=canteen_id,
        area=area,
        defaults={"duty": Duty.GRID.value if grid else None},
    )
    return grant
