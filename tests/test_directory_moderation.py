"""Verification by admins, reviews, complaints → suspension, reinstatement, pausing."""

from __future__ import annotations

from typing import Any

from models.directory import Complaint, Craftsman, Status
from tests.directory_support import (
    HOME,
    freeze,
    make_admin,
    make_craftsman,
    say,
    send_location,
    use_outbox,
)

ADMIN = "o-admin"
CRAFT = "o-craftsman"


async def test_pending_is_not_searchable_until_approved_and_the_craftsman_is_told(bot: Any) -> None:
    freeze(bot)
    outbox = use_outbox(bot)
    await make_admin(ADMIN)
    c = await make_craftsman(bot, "新师傅", ["tailor"], 200, status=Status.PENDING, openid=CRAFT)
    await send_location(bot, *HOME)
    assert "新师傅" not in await say(bot, "找裁缝")
    listing = await say(bot, "审核", ADMIN)
    assert f"#{c.id} 新师傅（裁缝）" in listing
    assert await say(bot, f"通过 {c.id}", ADMIN) == f"已通过：#{c.id} 新师傅。"
    assert "已通过审核" in outbox.to(CRAFT)[0]
    assert "1. 新师傅" in await say(bot, "找裁缝")
    assert "不在待审核状态" in await say(bot, f"通过 {c.id}", ADMIN)


async def test_only_admins_can_approve(bot: Any) -> None:
    c = await make_craftsman(bot, "新师傅", ["tailor"], 200, status=Status.PENDING)
    await say(bot, f"通过 {c.id}", "o-nobody")
    await say(bot, "审核", "o-nobody")
    assert (await Craftsman.get(id=c.id)).status is Status.PENDING


async def test_reject_removes_the_registration(bot: Any) -> None:
    outbox = use_outbox(bot)
    await make_admin(ADMIN)
    c = await make_craftsman(bot, "新师傅", ["tailor"], 200, status=Status.PENDING, openid=CRAFT)
    assert "已拒绝" in await say(bot, f"拒绝 {c.id}", ADMIN)
    assert not await Craftsman.exists()
    assert "没有通过审核" in outbox.to(CRAFT)[0]


async def test_review_updates_the_rating_shown_in_results(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "王师傅", ["tailor"], 200)
    await send_location(bot, *HOME)
    assert "请先找师傅" in await say(bot, "评价 1 5 很好")
    await say(bot, "找裁缝")
    assert "5.0分（1人评价）" in await say(bot, "评价 1 5 很好")
    await send_location(bot, *HOME, user="o-other")
    await say(bot, "找裁缝", "o-other")
    assert "4.0分（2人评价）" in await say(bot, "评价 1 3 一般", "o-other")
    # A second review by the same resident replaces the first.
    assert "3.0分（2人评价）" in await say(bot, "评价 1 3 改主意了")
    assert "王师傅（裁缝）步行约3分钟 电话" in await say(bot, "找裁缝")
    assert "3.0分" in await say(bot, "找裁缝")


async def test_three_upheld_complaints_suspend_and_admin_reinstates(bot: Any) -> None:
    freeze(bot)
    outbox = use_outbox(bot)
    await make_admin(ADMIN)
    c = await make_craftsman(bot, "王师傅", ["tailor"], 200, openid=CRAFT)
    await send_location(bot, *HOME)
    await say(bot, "找裁缝")
    for n in range(4):
        assert "收到您的投诉" in await say(bot, f"投诉 1 收费太高{n}")
    complaints = await Complaint.all().order_by("id")
    assert len(complaints) == 4
    notice = outbox.to(ADMIN)[0]
    assert f"成立 {complaints[0].id}" in notice and "o-resident" not in notice  # complainant hidden
    assert "不成立" in await say(bot, f"不成立 {complaints[0].id}", ADMIN)
    for complaint in complaints[1:3]:
        assert "停用" not in await say(bot, f"成立 {complaint.id}", ADMIN)
    assert (await Craftsman.get(id=c.id)).status is Status.APPROVED
    reply = await say(bot, f"成立 {complaints[3].id}", ADMIN)
    assert "已停用" in reply
    assert (await Craftsman.get(id=c.id)).status is Status.SUSPENDED
    assert "展示已暂停" in outbox.to(CRAFT)[-1] and "收费太高3" in outbox.to(CRAFT)[-1]
    assert "王师傅" not in await say(bot, "找裁缝")
    assert "已恢复" in await say(bot, f"恢复 {c.id}", ADMIN)
    assert "已恢复您" in outbox.to(CRAFT)[-1]
    assert "1. 王师傅" in await say(bot, "找裁缝")


async def test_craftsman_pauses_and_resumes_their_own_entry(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "王师傅", ["tailor"], 200, openid=CRAFT)
    await send_location(bot, *HOME)
    assert "已暂停" in await say(bot, "暂停接单", CRAFT)
    assert "王师傅" not in await say(bot, "找裁缝")
    assert "已恢复接单" in await say(bot, "恢复接单", CRAFT)
    assert "王师傅" in await say(bot, "找裁缝")
    assert "还没有登记" in await say(bot, "暂停接单", "o-stranger")


async def test_index_is_rebuilt_from_the_database(bot: Any) -> None:
    from craftsman_directory import index

    freeze(bot)
    await make_craftsman(bot, "王师傅", ["tailor"], 200)
    await bot.services.redis.flushdb()  # e.g. Redis restarted empty
    assert await index.rebuild(bot.services.redis) == 1
    await send_location(bot, *HOME)
    assert "王师傅" in await say(bot, "找裁缝")


async def test_craftsman_rests_until_a_day_and_is_found_again_from_it(bot: Any) -> None:
    """休息到下周一 (said on Wednesday 25 November): hidden until Monday 30th, then found again
    without anyone doing anything; 恢复接单 brings them back early."""
    import datetime as dt

    from tests.directory_support import WEDNESDAY_10

    freeze(bot)
    c = await make_craftsman(bot, "王师傅", ["tailor"], 200, openid=CRAFT)
    await send_location(bot, *HOME)
    said = await say(bot, "休息到下周一", CRAFT)
    assert "11月30日（周一）之前居民搜不到您" in said
    assert (await Craftsman.get(id=c.id)).paused_until == dt.date(2026, 11, 30)
    assert "王师傅" not in await say(bot, "找裁缝")
    bot.services.clock = lambda: WEDNESDAY_10 + dt.timedelta(days=4)  # Sunday
    assert "王师傅" not in await say(bot, "找裁缝")
    bot.services.clock = lambda: WEDNESDAY_10 + dt.timedelta(days=5)  # Monday: back
    assert "1. 王师傅" in await say(bot, "找裁缝")

    freeze(bot)
    assert "12月5日" in await say(bot, "暂停接单到12月5日", CRAFT)
    assert "王师傅" not in await say(bot, "找裁缝")
    assert "已恢复接单" in await say(bot, "恢复接单", CRAFT)
    assert "1. 王师傅" in await say(bot, "找裁缝")
    assert "正常接单" in await say(bot, "恢复接单", CRAFT)  # nothing to resume


async def test_a_rest_must_end_in_the_future_and_within_three_months(bot: Any) -> None:
    freeze(bot)
    c = await make_craftsman(bot, "王师傅", ["tailor"], 200, openid=CRAFT)
    assert "以后的日子" in await say(bot, "休息到今天", CRAFT)
    assert "最多暂停三个月" in await say(bot, "休息到2027年5月1日", CRAFT)
    assert "哪天" in await say(bot, "休息到过年", CRAFT)
    assert (await Craftsman.get(id=c.id)).paused_until is None
    assert "还没有登记" in await say(bot, "休息到下周一", "o-stranger")


async def test_a_rest_said_through_the_wechat_callback_hides_the_craftsman(client: Any) -> None:
    from handlers.keys import bot_key
    from tests.test_grid import _chat_on

    chat = _chat_on(client)  # Wednesday 25 November, 09:05
    bot = client.app[bot_key]
    await make_craftsman(bot, "王师傅", ["tailor"], 200, openid=CRAFT)
    await send_location(bot, *HOME)
    assert "王师傅" in await say(bot, "找裁缝")
    assert "之前居民搜不到您" in await chat(CRAFT, "这周休息到下周一")
    assert "王师傅" not in await say(bot, "找裁缝")


async def test_a_craftsman_sees_how_often_they_were_found_this_month(client: Any) -> None:
    from handlers.keys import bot_key
    from tests.test_grid import _chat_on

    chat = _chat_on(client)  # Wednesday 25 November, 09:05, through the /wechat callback
    bot = client.app[bot_key]
    await make_craftsman(bot, "王师傅", ["tailor"], 200, openid=CRAFT)
    await make_craftsman(bot, "李师傅", ["shoe_repair"], 300)
    assert "还没有登记" in await chat("o-resident", "我的数据")
    assert "被居民搜到0次" in await chat(CRAFT, "我的数据")
    for resident in ("o-r1", "o-r2"):
        await send_location(bot, *HOME, user=resident)
        assert "王师傅" in await chat(resident, "找裁缝")
        if resident == "o-r1":
            await chat(resident, "评价 1 5 手艺好")
        await chat(resident, "找修鞋的")  # someone else's trade: not counted for him
    said = await chat(CRAFT, "本月被找了几次")
    assert "11月的数据：被居民搜到2次" in said and "1条评价（平均5.0分）" in said
