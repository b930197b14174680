"""有事就找网格员: a resident's problem reaches the grid worker of the building, in one step
when the message already says what and where."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.context import SHANGHAI
from bot.messages import Incoming
from canteen.cli import grant_role
from handlers.keys import bot_key
from models.delivery import Recipient
from models.grid import GridReport
from models.push import OutboxMessage
from models.users import Role


@pytest.fixture
def say(driven_client: Any) -> Any:
    bot = driven_client.app[bot_key]
    bot.services.clock = lambda: dt.datetime(2026, 11, 25, 9, 5, tzinfo=SHANGHAI)

    async def say(user: str, text: str) -> str:
        return "\n".join(r.text for r in await bot.handle(Incoming.of_text(user, text)))

    return say


@pytest.fixture
async def grid_workers(driven_client: Any) -> None:
    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    await grant_role("o-grid-west", Role.VOLUNTEER, None, "6-10号楼", grid=True)
    await grant_role("o-volunteer", Role.VOLUNTEER, None, "1-5号楼")  # delivers, not grid


async def pushes() -> dict[str, str]:
    return {m.target: m.payload["text"] for m in await OutboxMessage.all()}


async def test_problem_with_place_goes_to_that_buildings_grid_worker(
    say: Any, grid_workers: None
) -> None:
    assert "留个电话" in await say("o-r", "7号楼楼道灯坏了好几天了")
    assert "正在转告网格员" in await say("o-r", "138 0000 1111")
    sent = await pushes()
    assert list(sent) == ["o-grid-west"]
    assert "7号楼楼道灯坏了好几天了" in sent["o-grid-west"] and "13800001111" in sent["o-grid-west"]
    report = await GridReport.get()
    assert report.building == "7" and report.forwarded_to == ["o-grid-west"]


async def test_bare_request_asks_what_and_where(say: Any, grid_workers: None) -> None:
    assert "什么事" in await say("o-r", "找网格员")
    assert "哪栋楼" in await say("o-r", "有人在楼上往下扔垃圾")
    assert "没看到楼号" in await say("o-r", "我家")
    await say("o-r", "3号楼")
    assert "会尽快上门" in await say("o-r", "不留")
    sent = await pushes()
    assert list(sent) == ["o-grid-east"] and "居民没有留电话" in sent["o-grid-east"]


async def test_known_resident_is_not_asked_again(say: Any, grid_workers: None) -> None:
    await Recipient.create(
        openid="o-r", label="本人", address="2号楼1单元302", building="2", phone="13800002222"
    )
    assert "正在转告网格员" in await say("o-r", "邻居好几天没见人了，有点担心")
    sent = await pushes()
    assert "2号楼1单元302" in sent["o-grid-east"] and "13800002222" in sent["o-grid-east"]


async def test_without_grid_workers_the_admins_are_told_or_the_resident_is(
    say: Any, driven_client: Any
) -> None:
    await say("o-r", "5号楼电梯里有人充电瓶车")
    assert "还没有登记网格员" in await say("o-r", "不留")
    assert await GridReport.all().count() == 0
    await grant_role("o-admin", Role.ADMIN, None, None)
    await say("o-r", "5号楼电梯里有人充电瓶车")
    assert "正在转告" in await say("o-r", "不留")
    assert list(await pushes()) == ["o-admin"]
