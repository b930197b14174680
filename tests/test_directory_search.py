"""Finding a craftsman: order, open-now, widening, the pending-location flow, paging."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.context import SHANGHAI
from craftsman_directory import index
from models.directory import Status
from models.users import User
from tests.directory_support import (
    HOME,
    freeze,
    make_craftsman,
    say,
    send_location,
)


async def test_nearest_first_with_walking_minutes_and_phone(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "远师傅", ["tailor"], 900, phone="13800000003")
    await make_craftsman(bot, "近师傅", ["tailor"], 200, phone="13800000001")
    await make_craftsman(bot, "中师傅", ["tailor"], 480, phone="13800000002")
    await make_craftsman(bot, "修鞋师傅", ["shoe_repair"], 100)
    await send_location(bot, *HOME)
    reply = await say(bot, "找个裁缝")
    lines = reply.splitlines()
    assert "步行15分钟内" in lines[0]
    assert lines[1].startswith("1. 近师傅（裁缝）步行约3分钟 电话13800000001 营业中")
    assert lines[2].startswith("2. 中师傅（裁缝）步行约6分钟")
    assert lines[3].startswith("3. 远师傅（裁缝）步行约11分钟")
    assert "修鞋师傅" not in reply


async def test_elderly_residents_walk_slower_and_reach_less(bot: Any) -> None:
    freeze(bot)
    await User.create(openid="o-resident", elderly=True)
    await make_craftsman(bot, "近师傅", ["tailor"], 450)
    await make_craftsman(bot, "远师傅", ["tailor"], 900)  # beyond 675 m
    await send_location(bot, *HOME)
    reply = await say(bot, "找裁缝")
    assert "近师傅（裁缝）步行约10分钟" in reply
    assert "远师傅" not in reply


async def test_residents_set_their_own_walking_pace(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "近师傅", ["tailor"], 450)
    await make_craftsman(bot, "远师傅", ["tailor"], 900)
    await make_craftsman(bot, "修表师傅", ["watch_repair"], 300)
    await send_location(bot, *HOME)
    assert "远师傅（裁缝）步行约11分钟" in await say(bot, "找裁缝")

    assert "每分钟45米" in await say(bot, "我年纪大了，走得慢")
    assert (await User.get(openid="o-resident")).elderly
    slow = await say(bot, "找裁缝")
    assert "近师傅（裁缝）步行约10分钟" in slow and "远师傅" not in slow
    assert "修表师傅" in await say(bot, "我的表走得慢")  # a watch, not the resident

    assert "每分钟80米" in await say(bot, "正常速度")
    assert not (await User.get(openid="o-resident")).elderly
    assert "远师傅（裁缝）步行约11分钟" in await say(bot, "找裁缝")


async def test_open_now_first_and_closed_say_when_they_open(bot: Any) -> None:
    freeze(bot, datetime(2026, 11, 25, 12, 30, tzinfo=SHANGHAI))  # Wednesday lunch break
    await make_craftsman(bot, "午休师傅", ["tailor"], 100, hours="Mo-Fr 08:00-12:00,13:00-17:30")
    await make_craftsman(bot, "周末师傅", ["tailor"], 150, hours="Sa-Su 09:00-17:00")
    await make_craftsman(bot, "全天师傅", ["tailor"], 800, hours="24/7")
    await send_location(bot, *HOME)
    lines = (await say(bot, "找裁缝")).splitlines()
    assert lines[1].startswith("1. 全天师傅") and lines[1].endswith("营业中")
    assert lines[2].startswith("2. 午休师傅") and lines[2].endswith("今天13:00开门")
    assert lines[3].startswith("3. 周末师傅") and lines[3].endswith("周六09:00开门")


async def test_nobody_within_reach_widens_and_says_so(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "远郊师傅", ["watch_repair"], 2500)
    await send_location(bot, *HOME)
    reply = await say(bot, "手表没电了")
    assert "步行15分钟（约1200米）内没有修表师傅，已扩大到3公里" in reply
    assert "远郊师傅（修表）步行约31分钟" in reply


async def test_nobody_at_all(bot: Any) -> None:
    freeze(bot)
    await send_location(bot, *HOME)
    assert "附近10公里内还没有登记的磨刀师傅" in await say(bot, "磨刀")


async def test_pending_and_paused_craftsmen_are_not_found(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "待审师傅", ["tailor"], 100, status=Status.PENDING)
    await make_craftsman(bot, "暂停师傅", ["tailor"], 100, status=Status.PAUSED)
    await send_location(bot, *HOME)
    reply = await say(bot, "找裁缝")
    assert "待审师傅" not in reply and "暂停师傅" not in reply


async def test_no_location_asks_once_then_answers_when_it_arrives(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "王师傅", ["tailor"], 300)
    ask = await say(bot, "找裁缝")
    assert ask == "请发送您的位置（点“+”→位置），或直接打小区名。"
    reply = await send_location(bot, *HOME, label="人民广场")
    assert "1. 王师傅（裁缝）步行约4分钟" in reply
    # The location is remembered: the next search needs no question.
    assert "王师傅" in await say(bot, "找裁缝")


async def test_typed_compound_answers_the_pending_search(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "王师傅", ["tailor"], 300, compound="幸福小区")
    assert "请发送您的位置" in await say(bot, "找裁缝")
    assert "没找到“火星基地”这个小区" in await say(bot, "火星基地")
    reply = await say(bot, "我住幸福小区")
    assert "1. 王师傅（裁缝）" in reply
    user = await User.get(openid="o-resident")
    assert user.compound == "幸福小区"


async def test_known_compound_is_used_without_asking(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "王师傅", ["tailor"], 300, compound="幸福小区")
    await User.create(openid="o-resident", compound="幸福小区")
    assert "1. 王师傅" in await say(bot, "找裁缝")


async def test_cancel_drops_the_pending_search(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "王师傅", ["tailor"], 300)
    await say(bot, "找裁缝")
    assert await say(bot, "取消") == "好的，已取消。"
    assert "王师傅" not in await send_location(bot, *HOME)


async def test_paging_with_more(bot: Any) -> None:
    freeze(bot)
    for i in range(7):
        await make_craftsman(bot, f"师傅{i}", ["tailor"], 100 + i * 100)
    await send_location(bot, *HOME)
    first = await say(bot, "找裁缝")
    assert "5. 师傅4" in first and "师傅5" not in first
    assert "回复“更多”看下一页" in first
    assert len(first.encode()) <= 2000
    second = await say(bot, "更多")
    assert second.startswith("第2页") and "6. 师傅5" in second and "7. 师傅6" in second
    assert "更多" not in second.split("\n")[-1]
    assert "没有更多了" in await say(bot, "更多")


async def test_next_page_shows_current_cards_and_keeps_the_numbering(bot: Any) -> None:
    """Page 2 is written when asked for: an edit since shows, a suspension keeps its number."""
    freeze(bot)
    made = [await make_craftsman(bot, f"师傅{i}", ["tailor"], 100 + i * 100) for i in range(7)]
    await send_location(bot, *HOME)
    await say(bot, "找裁缝")
    made[5].name = "改名师傅"
    await made[5].save()
    await index.sync(bot.services.redis, made[5])
    made[6].status = Status.SUSPENDED
    await made[6].save()
    await index.sync(bot.services.redis, made[6])
    second = (await say(bot, "更多")).splitlines()
    assert second[1].startswith("6. 改名师傅（裁缝）步行约")
    assert second[2] == "7. （这位师傅已暂停接单）"
    assert "投诉 序号" in second[-1]


async def test_long_entries_still_fit_one_message(bot: Any) -> None:
    freeze(bot)
    for i in range(5):
        await make_craftsman(bot, "长" * 60 + str(i), ["tailor"], 100 + i)
    await send_location(bot, *HOME)
    assert len((await say(bot, "找裁缝")).encode()) <= 2000


async def test_ambiguous_trade_asks_one_question(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "鞋匠", ["shoe_repair"], 200)
    await send_location(bot, *HOME)
    assert await say(bot, "拉链坏了") == "您是要找裁缝还是修鞋？回复1或2。"
    assert "1. 鞋匠（修鞋）" in await say(bot, "2")
