"""Craftsmen change their own listing by chat and answer reviews (issue 17).

Every change is checked where residents meet it: the next search, read through the Redis index.
"""

from __future__ import annotations

from typing import Any

from models.directory import Craftsman, ListingChange, Review, Status
from models.push import OutboxMessage
from tests.directory_support import (
    HOME,
    freeze,
    make_admin,
    make_craftsman,
    north,
    say,
    send_location,
    use_outbox,
)

WANG = "o-wang"
RESIDENT = "o-neighbour"


async def _wang(bot: Any, **kw: Any) -> Craftsman:
    freeze(bot)  # Wednesday 10:00
    c = await make_craftsman(
        bot, "王师傅", ["tailor"], 100, hours=kw.pop("hours", "Mo-Su 08:00-18:00"),
        openid=WANG, compound="幸福小区", **kw,
    )  # fmt: skip
    c.description = kw.get("description", "改裤脚、换拉链、缝补")
    await c.save(update_fields=["description"])
    return c


async def _search(bot: Any, what: str = "找裁缝", user: str = RESIDENT) -> str:
    await send_location(bot, *HOME, user=user)
    return await say(bot, what, user)


def _line(reply: str, name: str) -> str:
    return next((x for x in reply.splitlines() if name in x), "")


async def test_new_hours_are_in_the_next_search(bot: Any) -> None:
    await _wang(bot)
    assert "营业中" in _line(await _search(bot), "王师傅")
    reply = await say(bot, "营业时间改成每天下午2点到6点", WANG)
    assert reply == "好的，营业时间改为每天14:00–18:00。"
    assert "今天14:00开门" in _line(await _search(bot), "王师傅")
    change = await ListingChange.get(field="hours")
    assert (change.by, change.new, change.pending) == (WANG, "每天14:00–18:00", False)


async def test_a_day_off_keeps_the_other_days(bot: Any) -> None:
    await _wang(bot)
    assert "周三休息" in await say(bot, "周三休息", WANG)
    assert "明天08:00开门" in _line(await _search(bot), "王师傅")
    c = await Craftsman.get(openid=WANG)
    assert c.hours == "Mo-Su 08:00-18:00; We off"


async def test_a_resident_saying_it_changes_nothing(bot: Any) -> None:
    await _wang(bot)
    reply = await say(bot, "营业时间改成每天下午2点到6点", RESIDENT)
    assert "营业时间改为" not in reply and "登记为师傅" not in reply  # the normal answer
    assert "营业中" in _line(await _search(bot), "王师傅")
    assert not await ListingChange.exists()
    # Nor can a resident answer the craftsman's reviews.
    assert "还没有登记为师傅" in await say(bot, "回复评价 1 谢谢", RESIDENT)


async def test_prices_replace_the_old_ones_and_unclear_asks_once(bot: Any) -> None:
    await _wang(bot)
    assert await say(bot, "改裤脚15元 换拉链20元", WANG) == (
        "好的，服务和价格改为改裤脚15元 换拉链20元。"
    )
    c = await Craftsman.get(openid=WANG)
    assert c.description == "改裤脚15元、换拉链20元、缝补"
    assert "服务：改裤脚15元、换拉链20元、缝补" in await say(bot, "我的信息", WANG)
    # Residents read the prices from the search's cards (the index), not the database.
    await _search(bot)
    assert "登记的价格：改裤脚15元、换拉链20元。" in await say(bot, "王师傅收费贵不贵", RESIDENT)
    asked = await say(bot, "价格改一下", WANG)
    assert asked.count("？") + asked.count("比如") >= 1 and "改为" not in asked
    assert "几点" in await say(bot, "营业时间改一下", WANG)
    assert await ListingChange.filter(field="description").count() == 1


async def test_a_service_of_the_trade_at_once_a_new_trade_after_approval(bot: Any) -> None:
    outbox = use_outbox(bot)
    await make_admin()
    c = await _wang(bot)
    assert "、修拉链" in await say(bot, "我现在也修拉链", WANG)
    assert (await Craftsman.get(pk=c.pk)).description.endswith("、修拉链")
    reply = await say(bot, "我现在也修鞋", WANG)
    assert "社区确认后" in reply and "裁缝、修鞋" in reply
    assert "王师傅" not in await _search(bot, "找修鞋的")
    [notice] = outbox.to("o-admin")
    assert f"通过 {c.pk}" in notice
    assert "等社区确认：行当改为裁缝、修鞋" in await say(bot, "我的信息", WANG)
    assert f"#{c.pk} 王师傅 申请行当改为裁缝、修鞋" in await say(bot, "审核", "o-admin")
    assert "已通过" in await say(bot, f"通过 {c.pk}", "o-admin")
    assert "王师傅" in await _search(bot, "找修鞋的")
    assert any("同意" in t for t in outbox.to(WANG))
    assert (await Craftsman.get(pk=c.pk)).status is Status.APPROVED


async def test_dropping_a_service_and_asking_when_it_is_the_whole_trade(bot: Any) -> None:
    freeze(bot)
    c = await make_craftsman(bot, "刘师傅", ["appliance_repair"], 100, openid=WANG)
    c.description = "修冰箱、洗衣机、电视"
    await c.save(update_fields=["description"])
    assert "冰箱、洗衣机" in await say(bot, "不修电视了", WANG)
    assert (await Craftsman.get(pk=c.pk)).description == "修冰箱、洗衣机"
    asked = await say(bot, "不修空调了", WANG)
    assert "是整个家电维修都不做了吗" in asked
    assert (await Craftsman.get(pk=c.pk)).categories == ["appliance_repair"]
    assert "唯一的行当" in await say(bot, "不做家电维修了", WANG)


async def test_a_move_to_a_known_compound_is_searched_from_there(bot: Any) -> None:
    await _wang(bot)
    far = north(1500)  # beyond a 15-minute walk from home, within the review distance
    await make_craftsman(bot, "邻居", ["key_lock"], 1500, compound="和平里")
    reply = await say(bot, "摊位搬到和平里东门", WANG)
    assert reply == "好的，摊位地址改为和平里东门。"
    await send_location(bot, far, HOME[1], user=RESIDENT)
    assert "步行约1分钟" in _line(await say(bot, "找裁缝", RESIDENT), "王师傅")
    c = await Craftsman.get(openid=WANG)
    assert (c.compound, c.address) == ("和平里", "和平里东门")


async def test_a_location_after_moved_far_waits_for_the_community(bot: Any) -> None:
    outbox = use_outbox(bot)
    await make_admin()
    c = await _wang(bot)
    assert "新摊位在哪里" in await say(bot, "摊位搬了", WANG)
    reply = await send_location(bot, north(5000), HOME[1], "人民路88号", user=WANG)
    assert "社区确认后" in reply and "人民路88号" in reply
    assert "王师傅" in await _search(bot)  # still where the community approved it
    assert any("人民路88号" in t for t in outbox.to("o-admin"))
    assert "已拒绝" in await say(bot, f"拒绝 {c.pk}", "o-admin")
    assert any("没有同意" in t for t in outbox.to(WANG))
    c = await Craftsman.get(pk=c.pk)
    assert c.lat == north(100) and c.status is Status.APPROVED
    assert not await ListingChange.filter(pending=True).exists()


async def test_a_near_location_after_moved_is_applied_at_once(bot: Any) -> None:
    await _wang(bot)
    await say(bot, "我的摊位搬了", WANG)
    assert "摊位地址改为" in await send_location(bot, north(900), HOME[1], "北门", user=WANG)
    await send_location(bot, north(900), HOME[1], user=RESIDENT)
    assert "步行约1分钟" in _line(await say(bot, "找裁缝", RESIDENT), "王师傅")


async def test_reply_to_a_review_is_stored_shown_and_told(bot: Any) -> None:
    await _wang(bot)
    await _search(bot)
    assert "谢谢评价" in await say(bot, "评价 1 4 还行，就是等了一会儿", RESIDENT)
    mine = await say(bot, "我的评价", WANG)
    assert "1. 4星 还行，就是等了一会儿" in mine
    assert "回复评价 1" in mine
    reply = await say(bot, "回复评价 1 谢谢您，下次不让您等", WANG)
    assert "已回复第1条评价" in reply
    review = await Review.get(reviewer=RESIDENT)
    assert review.reply == "谢谢您，下次不让您等"
    told = await OutboxMessage.filter(target=RESIDENT)
    assert any("王师傅回复了您的评价" in str(m.payload) for m in told)
    # A second reply replaces the first; the list shows it under the review.
    await say(bot, "回复评价 1 谢谢您，欢迎再来", WANG)
    assert (await Review.get(pk=review.pk)).reply == "谢谢您，欢迎再来"
    assert "您的回复：谢谢您，欢迎再来" in await say(bot, "我的评价", WANG)
    # Rude words are refused and nothing is stored or sent.
    before = await OutboxMessage.filter(target=RESIDENT).count()
    assert "不文明" in await say(bot, "回复评价 1 你个神经病", WANG)
    assert (await Review.get(pk=review.pk)).reply == "谢谢您，欢迎再来"
    assert await OutboxMessage.filter(target=RESIDENT).count() == before
    assert "没有第3条评价" in await say(bot, "回复评价 3 谢谢", WANG)


async def test_console_page_shows_changes_replies_and_decides(
    client: Any, bot: Any, fake_wechat: Any
) -> None:
    from models.users import Role
    from tests.console_support import console_login, make_staff

    admin = await make_staff("o-admin", Role.ADMIN)
    c = await _wang(bot)
    await say(bot, "营业时间改成每天9点到17点", WANG)
    await say(bot, "我现在也修鞋", WANG)
    await _search(bot)
    await say(bot, "评价 1 5 手艺好", RESIDENT)
    await say(bot, "回复评价 1 谢谢夸奖", WANG)
    csrf = await console_login(client, fake_wechat, admin)
    board = await (await client.get("/console/")).text()
    assert 'id="listing-changes"' in board and "裁缝 → 裁缝、修鞋" in board
    page = await (await client.get(f"/console/craftsmen/{c.pk}")).text()
    assert "师傅本人 · 营业时间：每天8:00–18:00 → 每天9:00–17:00" in page
    assert "（等社区同意）" in page
    assert "5星 手艺好" in page and "师傅回复：谢谢夸奖" in page
    done = await client.post(f"/console/craftsmen/{c.pk}/approve", data={"csrf": csrf})
    assert "已通过" in await done.text()
    assert (await Craftsman.get(pk=c.pk)).categories == ["tailor", "shoe_repair"]
    assert "社区已处理" in await (await client.get(f"/console/craftsmen/{c.pk}")).text()


async def test_the_api_shows_the_reply_under_the_review(bot: Any) -> None:
    from handlers.api_v1.directory import review_out

    await _wang(bot)
    await _search(bot)
    await say(bot, "评价 1 3 一般", RESIDENT)
    assert review_out(await Review.get(reviewer=RESIDENT))["reply"] is None
    await say(bot, "回复评价 1 会改进的", WANG)
    out = review_out(await Review.get(reviewer=RESIDENT))
    assert out["reply"] == "会改进的" and out["replied_at"]
    # A new review from the resident makes the old answer stale.
    await say(bot, "评价 1 5 改进了", RESIDENT)
    assert review_out(await Review.get(reviewer=RESIDENT))["reply"] is None


async def test_a_trade_dropped_while_a_new_one_waits_stays_dropped(bot: Any) -> None:
    await make_admin()
    freeze(bot)
    c = await make_craftsman(bot, "李阿姨", ["tailor", "housekeeping"], 100, openid=WANG)
    assert "社区确认后" in await say(bot, "我现在也修鞋", WANG)
    assert "行当改为裁缝" in await say(bot, "不做家政了", WANG)
    await say(bot, f"通过 {c.pk}", "o-admin")
    assert (await Craftsman.get(pk=c.pk)).categories == ["tailor", "shoe_repair"]


async def test_a_near_move_replaces_a_far_one_still_waiting(bot: Any) -> None:
    await make_admin()
    c = await _wang(bot)
    await say(bot, "摊位搬了", WANG)
    assert "社区确认后" in await send_location(bot, north(5000), HOME[1], "远处", user=WANG)
    await say(bot, "摊位搬了", WANG)
    assert "好的，摊位地址改为近处" in await send_location(
        bot, north(300), HOME[1], "近处", user=WANG
    )
    assert not await ListingChange.filter(pending=True).exists()
    assert "不在待审核状态" in await say(bot, f"通过 {c.pk}", "o-admin")
    assert (await Craftsman.get(pk=c.pk)).lat == north(300)


async def test_before_approval_a_new_trade_is_simply_part_of_the_registration(bot: Any) -> None:
    outbox = use_outbox(bot)
    await make_admin()
    c = await _wang(bot, status=Status.PENDING)
    assert await say(bot, "我现在也修鞋", WANG) == "好的，行当改为裁缝、修鞋。"
    assert (await Craftsman.get(pk=c.pk)).categories == ["tailor", "shoe_repair"]
    assert not outbox.to("o-admin")  # the admins see the whole registration when they approve


async def test_a_reviewer_who_asked_to_be_forgotten_is_not_written_to(bot: Any) -> None:
    await _wang(bot)
    await _search(bot)
    await say(bot, "评价 1 5 好", RESIDENT)
    await Review.filter(reviewer=RESIDENT).update(reviewer="erased:1")
    assert "已回复第1条评价" in await say(bot, "回复评价 1 谢谢", WANG)
    assert not await OutboxMessage.filter(target__startswith="erased").exists()


def test_afternoon_hours_said_once_cover_both_ends() -> None:
    from community import hours

    assert hours.parse("每天下午2点到6点").text == "Mo-Su 14:00-18:00"
    assert hours.parse("每天晚上8点到2点").text == "Mo-Su 20:00-02:00"  # past midnight
    assert hours.parse("每天8点到下午6点").text == "Mo-Su 08:00-18:00"


async def test_home_visits_phone_and_an_unknown_place(bot: Any) -> None:
    await _wang(bot)
    assert await say(bot, "现在可以上门了", WANG) == "好的，上门服务改为可以上门。"
    assert "可上门" in _line(await _search(bot), "王师傅")
    assert await say(bot, "电话改成13912345678", WANG) == "好的，电话改为13912345678。"
    assert "电话13912345678" in _line(await _search(bot), "王师傅")
    # A place we cannot put on the map: one question, and the location sent answers it.
    asked = await say(bot, "摊位搬到新华路口", WANG)
    assert "发送新摊位的位置" in asked
    assert "摊位地址改为新华路口" in await send_location(bot, north(400), HOME[1], user=WANG)
    assert (await Craftsman.get(openid=WANG)).address == "新华路口"


async def test_questions_and_small_talk_from_a_craftsman_change_nothing(bot: Any) -> None:
    await _wang(bot)
    for text in ("可以上门吗？", "我不开心", "我还做饭", "营业时间改成几点好？"):
        reply = await say(bot, text, WANG)
        assert "改为" not in reply and "已提交" not in reply, (text, reply)
    assert not await ListingChange.exists()
