"""Residents' data (issue 17): 我的信息存了什么 in one reply; 删除我的信息 removes or anonymises
what identifies them, keeps sign-up history only as counts — through the /wechat callback."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.context import SHANGHAI
from canteen.cli import grant_role
from delivery import service
from handlers.keys import redis_key
from infra import keys
from models.canteen import CanteenMeal, Meal, MenuSubscription
from models.delivery import Recipient, Signup, SignupStatus
from models.family import FamilyLink, LinkStatus
from models.grid import GridReport
from models.users import ErasureRecord, ErasureStatus, Role, User
from privacy import service as privacy
from tests.conftest import lunch_and_dinner_canteen
from tests.test_grid import _chat_on

NOW = dt.datetime(2026, 11, 25, 9, 5, tzinfo=SHANGHAI)  # _chat_on's clock


async def _said(redis: Any, key: str) -> str:
    """The conversation's remembered exchanges (a list), as one text."""
    items = await redis.lrange(key, 0, -1)
    return "\n".join(i.decode() if isinstance(i, bytes) else i for i in items)


async def test_what_we_keep_is_one_short_reply(driven_client: Any) -> None:
    chat = _chat_on(driven_client)
    for asked in ("我的信息存了什么", "你们存了我哪些信息"):
        said = await chat("o-r", asked)
        assert "地址" in said and "删除我的信息" in said and len(said.encode()) < 600, asked


async def test_erasing_removes_what_identifies_and_keeps_counts(driven_client: Any) -> None:
    chat = _chat_on(driven_client)
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-grid", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    me = await Recipient.create(
        openid="o-r", label="本人", address="3号楼2单元401", building="3",
        phone="13800001111", diet="不吃辣",
    )  # fmt: skip
    past = await service.book(me, lunch, dt.date(2026, 11, 24), 1, NOW - dt.timedelta(days=1))
    ahead = await service.book(me, lunch, dt.date(2026, 11, 27), 2, NOW)
    assert past.result is ahead.result is service.Result.BOOKED
    await MenuSubscription.create(openid="o-r", canteen=canteen)
    await chat("o-r", "3号楼楼道灯坏了")
    await chat("o-r", "不留")
    other = await Recipient.create(
        openid="o-other", label="本人", address="4号楼101", building="4", phone="13900002222"
    )

    redis = driven_client.app[redis_key]
    await redis.set(keys.location("o-r"), '{"lat": 31.23, "lng": 121.47, "label": "家"}')
    assert "灯坏了" in await _said(redis, keys.recent("o-r"))
    assert "确认删除我的信息" in await chat("o-r", "删除我的信息")
    assert await Recipient.filter(openid="o-r").exists()  # nothing happens before the confirm
    said = await chat("o-r", "确认删除我的信息")
    assert "已删除" in said and "取消了1份" in said

    assert not await Recipient.filter(openid="o-r").exists()
    gone = await Recipient.get(pk=me.pk)
    assert gone.address == "（已删除）" and gone.phone == "" and gone.diet == ""
    signups = await Signup.filter(recipient_id=me.pk).prefetch_related("slot")
    assert sorted((s.slot.date.day, s.count, s.status) for s in signups) == [
        (24, 1, SignupStatus.BOOKED),  # the meal served: kept, as a count without the person
        (27, 2, SignupStatus.CANCELLED),
    ]
    report = await GridReport.get()
    assert report.openid == "erased" and "灯" not in report.text and report.building == "3"
    assert not await MenuSubscription.filter(openid="o-r").exists()
    assert not await User.filter(openid="o-r").exists()
    assert not await redis.exists(keys.location("o-r"))
    # Only this very exchange is remembered again (it holds nothing of theirs).
    assert "灯坏了" not in await _said(redis, keys.recent("o-r"))
    assert (await Recipient.get(pk=other.pk)).address == "4号楼101"  # others untouched
    assert "还没有向网格员反映过" in await chat("o-r", "我反映的事怎么样了")
    # The erasure is logged for the staff without the person: a digest, when, what went.
    [record] = await ErasureRecord.all()
    assert record.who == privacy.who_digest("o-r") and "o-r" not in record.who
    assert record.status is ErasureStatus.DONE and record.asked_at == NOW
    assert record.removed["cancelled"] == 1 and record.removed["recipients"] == 1
    assert record.removed["reports"] == 1 and record.removed["subscriptions"] == 1


async def test_a_meal_on_its_way_holds_the_erasure_until_delivered(driven_client: Any) -> None:
    chat = _chat_on(driven_client)  # 09:05: past nothing yet for today's lunch (cutoff 09:30)
    await lunch_and_dinner_canteen()
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    me = await Recipient.create(
        openid="o-r", label="本人", address="3号楼401", building="3", phone="13800001111"
    )
    early = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
    assert (await service.book(me, lunch, NOW.date(), 1, early)).result is service.Result.BOOKED
    from handlers.keys import bot_key

    driven_client.app[bot_key].services.clock = lambda: NOW.replace(hour=10)  # past the cutoff
    assert "先不能删除" in await chat("o-r", "确认删除我的信息")
    assert (await Recipient.get(pk=me.pk)).address == "3号楼401"
    [record] = await ErasureRecord.all()  # the request is logged, as not done yet
    assert record.status is ErasureStatus.REFUSED and record.removed == {}


async def test_what_we_keep_names_my_family_links_and_their_direction(
    driven_client: Any,
) -> None:
    chat = _chat_on(driven_client)
    await Recipient.create(
        openid="o-mum", label="本人", address="3号楼401", building="3", phone="13800005678"
    )
    await FamilyLink.create(elder_openid="o-mum", relative_openid="o-son", note="我是她儿子",
                            status=LinkStatus.CONFIRMED, linked_by="elder")  # fmt: skip
    await FamilyLink.create(elder_openid="o-dad", relative_openid="o-son",
                            status=LinkStatus.PENDING)  # fmt: skip
    await FamilyLink.create(elder_openid="o-x", relative_openid="o-mum",
                            status=LinkStatus.DECLINED)  # fmt: skip
    son = await chat("o-son", "我的信息存了什么")
    assert "家人绑定" in son and "删除我的信息" in son
    assert "您绑定了尾号5678的老人：老人送餐没人应答或紧急求助时通知您" in son
    assert "o-dad" not in son and "等老人同意" not in son  # a waiting request is not listed
    mum = await chat("o-mum", "我的信息存了什么")
    assert "家人（我是她儿子）绑定了您：您送餐没人应答或紧急求助时通知他们" in mum
    assert "o-x" not in mum and "您绑定了" not in mum  # a declined request is no link
    assert "您的家人绑定" not in await chat("o-nobody", "我的信息存了什么")

    assert "家人绑定" in await chat("o-son", "删除我的信息")
    assert "已删除" in await chat("o-son", "确认删除我的信息")
    assert not await FamilyLink.filter(relative_openid="o-son").exists()
    assert (await ErasureRecord.get()).removed["family_links"] == 2
    assert "您的家人绑定" not in await chat("o-mum", "我的信息存了什么")


async def test_the_console_shows_erasure_requests_to_admins(
    driven_client: Any, fake_wechat: Any
) -> None:
    from tests.console_support import console_login, forget_sent_codes, make_staff

    chat = _chat_on(driven_client)
    canteen = await lunch_and_dinner_canteen()
    await MenuSubscription.create(openid="o-r", canteen=canteen)
    await FamilyLink.create(elder_openid="o-mum", relative_openid="o-r",
                            status=LinkStatus.CONFIRMED, linked_by="elder")  # fmt: skip
    await chat("o-r", "确认删除我的信息")
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)
    csrf = await console_login(driven_client, fake_wechat, staff)
    assert (await driven_client.get("/console/privacy")).status == 403  # staff, not admin
    await driven_client.post("/console/logout", data={"csrf": csrf})
    admin = await make_staff("o-admin", Role.ADMIN)
    await forget_sent_codes(driven_client)
    await console_login(driven_client, fake_wechat, admin)
    page = await (await driven_client.get("/console/privacy")).text()
    assert privacy.who_digest("o-r") in page and "o-r" not in page
    assert "2026-11-25 09:05" in page and "已删除" in page
    assert "家人绑定 1" in page and "菜单订阅 1" in page and "取消送餐报名" not in page
