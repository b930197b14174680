"""Registering as a craftsman through the bot: the form, validation, cancel, back, resume."""

from __future__ import annotations

from typing import Any

from models.directory import Craftsman, Status
from tests.directory_support import HOME, make_admin, say, send_location, use_outbox

ME = "o-craftsman"


async def fill(bot: Any, name: str = "王师傅", phone: str = "13800138000") -> str:
    await say(bot, "我会改衣服，想登记成师傅", ME)
    await say(bot, name, ME)
    await say(bot, "裁缝、修鞋", ME)
    await say(bot, "改裤脚、换拉链，可上门", ME)
    await send_location(bot, *HOME, label="幸福小区3号楼", user=ME)
    await say(bot, "周一至周五 8:00-12:00,13:00-17:30；周六 9:00-12:00", ME)
    summary = await say(bot, phone, ME)
    assert "请核对" in summary and name in summary and phone in summary
    return await say(bot, "确认", ME)


async def test_happy_path_creates_a_pending_entry_and_tells_admins(bot: Any) -> None:
    outbox = use_outbox(bot)
    await make_admin()
    assert "怎么称呼" in await say(bot, "我会修鞋，想登记", ME)
    assert "哪一行" in await say(bot, "王师傅", ME)
    assert "能做什么" in await say(bot, "裁缝、修鞋", ME)
    assert "发送位置" in await say(bot, "改裤脚、换拉链，可上门", ME)
    assert "几点营业" in await send_location(bot, *HOME, label="幸福小区3号楼", user=ME)
    assert "联系您" in await say(bot, "周一至周五 8:00-12:00,13:00-17:30；周六 9:00-12:00", ME)
    summary = await say(bot, "138 0013 8000", ME)
    assert "行当：裁缝、修鞋" in summary
    # Said as people say it (stored in the OSM-like form below).
    assert "周一到周五8:00–12:00、13:00–17:30，周六9:00–12:00，周日休息" in summary
    done = await say(bot, "确认", ME)
    assert "审核通过后" in done
    c = await Craftsman.get(openid=ME)
    assert (c.name, c.categories, c.phone, c.status) == (
        "王师傅",
        ["tailor", "shoe_repair"],
        "13800138000",
        Status.PENDING,
    )
    assert (c.lat, c.lng, c.compound, c.home_visits) == (HOME[0], HOME[1], "幸福小区", True)
    [notice] = outbox.to("o-admin")
    assert f"通过 {c.id}" in notice


async def test_each_step_re_asks_with_the_reason(bot: Any) -> None:
    await say(bot, "师傅登记", ME)
    assert "称呼里不要写电话" in await say(bot, "王13800138000", ME)
    await say(bot, "王师傅", ME)
    reply = await say(bot, "炒股", ME)
    assert "“炒股”不在目录的行当里" in reply and "哪一行" in reply
    await say(bot, "裁缝", ME)
    assert "太短" in await say(bot, "改", ME)
    await say(bot, "改衣服", ME)
    reply = await say(bot, "火星大道1号", ME)
    assert "没找到这个地址" in reply
    await send_location(bot, *HOME, user=ME)
    reply = await say(bot, "周一到周五 25:00-12:00", ME)
    assert "营业时间没看懂" in reply and "不存在" in reply
    await say(bot, "每天8点-18点", ME)
    reply = await say(bot, "12345", ME)
    assert "电话号码不对" in reply
    assert "请核对" in await say(bot, "021-12345678", ME)
    assert "请回复“确认”提交" in await say(bot, "也许", ME)
    assert not await Craftsman.exists()


async def test_cancel_leaves_the_form(bot: Any) -> None:
    await say(bot, "师傅登记", ME)
    await say(bot, "王师傅", ME)
    assert await say(bot, "取消", ME) == "好的，已取消。"
    # Back to normal conversation: a name is no longer taken as the form's answer.
    assert "哪一行" not in await say(bot, "裁缝", ME)
    assert not await Craftsman.exists()


async def test_back_goes_to_the_previous_step(bot: Any) -> None:
    await say(bot, "师傅登记", ME)
    await say(bot, "王师傅", ME)
    await say(bot, "裁缝", ME)
    assert "哪一行" in await say(bot, "上一步", ME)
    await say(bot, "修鞋", ME)
    await say(bot, "修鞋", ME)
    await send_location(bot, *HOME, user=ME)
    await say(bot, "全天", ME)
    summary = await say(bot, "13800138000", ME)
    assert "行当：修鞋" in summary


async def test_form_survives_an_interruption(bot: Any) -> None:
    await say(bot, "师傅登记", ME)
    await say(bot, "王师傅", ME)
    # Other questions meanwhile go to the form (it re-asks), and "继续" repeats the question.
    assert "哪一行" in await say(bot, "继续", ME)
    assert "能做什么" in await say(bot, "磨刀", ME)


async def test_changing_the_answers_at_confirm_offers_the_fields(bot: Any) -> None:
    await say(bot, "师傅登记", ME)
    for text in ("王师傅", "裁缝", "改衣服"):
        await say(bot, text, ME)
    await send_location(bot, *HOME, user=ME)
    await say(bot, "全天", ME)
    await say(bot, "13800138000", ME)
    assert "2. 行当" in await say(bot, "修改", ME)  # the fields by number
    assert "您做哪一行" in await say(bot, "2", ME)
    assert "行当：修鞋" in await say(bot, "修鞋", ME)  # back at the summary
    assert "重新填一遍" in await say(bot, "重新填", ME)
    assert not await Craftsman.exists()


async def test_second_registration_updates_instead_of_duplicating(bot: Any) -> None:
    await fill(bot)
    first = await Craftsman.get(openid=ME)
    assert "已经登记过" in await say(bot, "师傅登记", ME)
    await say(bot, "取消", ME)
    done = await fill(bot, name="王建国", phone="13900139000")
    assert "已更新" in done
    assert await Craftsman.all().count() == 1
    again = await Craftsman.get(openid=ME)
    assert (again.id, again.name, again.phone) == (first.id, "王建国", "13900139000")
