"""A demo canteen for `make run` on an empty data directory."""

from __future__ import annotations

from canteen.cli import add_canteen
from community.roles import grant_role
from models.users import Role


async def seed_demo() -> str:
    canteen = await add_canteen(
        "幸福里爱心食堂",
        "幸福里小区3号楼底商",
        31.2306,
        121.4740,
        [],
        [
            "breakfast=07:00-08:30,cutoff=20:00,capacity=30,price=3",
            "lunch=11:00-12:30,cutoff=09:30,capacity=50,price=10",
            "dinner=17:00-18:30,cutoff=15:00,capacity=30,price=10",
        ],
    )
    await grant_role("demo-admin", Role.ADMIN, None, None)
    await grant_role("demo-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    await grant_role("demo-volunteer", Role.VOLUNTEER, None, "1-5号楼")
    await grant_role("demo-grid", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    return (
        f"canteen {canteen.name} (staff: chat --user demo-staff; volunteers for 1-5号楼: "
        "demo-volunteer, grid worker demo-grid)"
    )
