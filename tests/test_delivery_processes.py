"""Capacity holds across server processes: four processes book 200 residents for 50 places at
once through the same database; exactly 50 are accepted and the counter matches the rows."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from canteen.cli import add_canteen
from models.canteen import CanteenMeal, Meal
from models.delivery import MealSlot, Recipient, Signup, SignupStatus

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 4

# Each process opens its own connection(s) to the database and books its share concurrently.
BOOKER = """
import asyncio, datetime as dt, json, sys
sys.path.insert(0, {root!r})
from bot.context import SHANGHAI
from delivery import service
from infra import database
from models.canteen import CanteenMeal
from models.delivery import Recipient
from settings import load_settings

async def main():
    settings = load_settings(None, database_url={url!r}, data_dir={data!r})
    async with database.open_database(settings):
        meal = await CanteenMeal.get(pk={meal_id})
        people = await Recipient.filter(id__in={ids!r})
        now = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
        day = dt.date(2026, 11, 26)
        results = await asyncio.gather(
            *(service.book(r, meal, day, 1, now) for r in people), return_exceptions=True
        )
    names = [r.result.value if hasattr(r, "result") else type(r).__name__ for r in results]
    print(json.dumps(names))

asyncio.run(main())
"""


async def test_capacity_holds_across_processes(
    driven_client: Any, database_url: str, tmp_path: Path
) -> None:
    canteen = await add_canteen(
        "幸福里爱心食堂",
        "3号楼底商",
        None,
        None,
        [],
        ["lunch=11:00-12:30,cutoff=09:30,capacity=50"],
    )
    meal = await CanteenMeal.get(canteen=canteen, meal=Meal.LUNCH)
    people = [
        await Recipient.create(
            openid=f"o-{i}",
            label="本人",
            address=f"3号楼{100 + i}",
            building="3",
            phone="13812345678",
        )
        for i in range(200)
    ]
    ids = [r.pk for r in people]
    share = len(ids) // PROCESSES
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            BOOKER.format(
                root=str(ROOT),
                url=database_url,
                data=str(tmp_path),
                meal_id=meal.pk,
                ids=ids[i * share : (i + 1) * share],
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(PROCESSES)
    ]
    outcomes: list[str] = []
    for proc in procs:
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()[-2000:]
        outcomes += json.loads(out.decode().strip().splitlines()[-1])
    assert outcomes.count("booked") == 50, outcomes
    assert set(outcomes) == {"booked", "full"}, set(outcomes)
    slot = await MealSlot.get(canteen_id=canteen.pk, meal=Meal.LUNCH)
    assert slot.booked == 50
    assert await Signup.filter(slot=slot, status=SignupStatus.BOOKED).count() == 50
