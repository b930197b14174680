"""接龙 in and out: a group's chain read line by line, previewed against capacity and cutoffs,
booked on 确认, pasted again as changes; and the chain staff post, names and buildings only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.context import SHANGHAI
from bot.messages import Incoming
from canteen.cli import grant_role
from delivery import service as delivery
from groups.jielong import MAX_LINES, ChainError, looks_like_chain, parse_chain
from models.canteen import Canteen, CanteenMeal, Meal, Menu
from models.delivery import MealSlot, Recipient, Signup, SignupStatus
from models.groups import ChainLine
from models.users import Role
from tests.conftest import lunch_and_dinner_canteen

WED = dt.date(2026, 11, 25)
THU = WED + dt.timedelta(days=1)
STAFF = "o-canteen-staff"

CHAIN = """#接龙
明天午餐送餐报名
例 张三 3号楼2单元401 1份

1. 王阿姨 3号楼2单元401 1份 少盐
2、老李 5号楼 两份
3. 小张
"""


# ---- reading a chain -------------------------------------------------------------------------


def test_wechats_native_chain_is_read_line_by_line() -> None:
    text = CHAIN + "4．赵大爷5号楼1单元302 x2\n５、钱奶奶 7栋 9份\n"
    text += "6. 孙叔 2号楼 2单元 201 一份 要软烂\n补充：雨天送到楼下\n"
    assert looks_like_chain(text)
    chain = parse_chain(text, WED)
    assert (chain.title, chain.day, chain.meal) == ("明天午餐送餐报名", THU, Meal.LUNCH)
    got = [
        (e.number, e.name, e.address, e.building, e.count, e.note, e.problem) for e in chain.entries
    ]
    assert got == [
        (1, "王阿姨", "3号楼2单元401", "3", 1, "少盐", ""),
        (2, "老李", "5号楼", "5", 2, "", ""),
        (3, "小张", "", "", 1, "", "没写楼号"),
        (4, "赵大爷", "5号楼1单元302", "5", 2, "", ""),
        (5, "钱奶奶", "7栋", "7", 9, "", "份数不对（每餐1到5份）"),
        (6, "孙叔", "2号楼2单元201", "2", 1, "要软烂", ""),
    ]
    assert chain.entries[0].public == "王阿姨 3号楼 1份"  # what a group may see


def test_a_chain_has_at_most_200_lines_and_needs_numbered_ones() -> None:
    many = "#接龙\n明天午餐\n" + "".join(f"{i}. 住户{i} 3号楼 1份\n" for i in range(1, 202))
    with pytest.raises(ChainError):
        parse_chain(many, WED)
    most = "#接龙\n明天午餐\n" + "".join(f"{i}. 住{i} 3号楼\n" for i in range(1, MAX_LINES + 1))
    assert len(parse_chain(most, WED).entries) == MAX_LINES
    with pytest.raises(ChainError):
        parse_chain("#接龙\n明天午餐\n没有序号的一行", WED)


def test_hostile_lines_are_read_in_one_pass() -> None:
    """Long runs of digits, marks and spaces (what makes a backtracking pattern explode) are
    just unclear lines."""
    lines = ["1" * 3000, "1. " + "号" * 3000, "2. 王" + "1" * 3000 + "号楼", "3. " + " 1份" * 800]
    chain = parse_chain("#接龙\n明天午餐\n" + "\n".join(lines), WED)
    assert [e.number for e in chain.entries] == [1, 2, 3]
    assert all(e.problem for e in chain.entries)


# ---- booking a chain -------------------------------------------------------------------------


class Staff:
    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.when = dt.datetime.combine(WED, dt.time(8, 0), tzinfo=SHANGHAI)
        bot.services.clock = lambda: self.when

    async def __call__(self, text: str, user: str = STAFF) -> str:
        return "\n".join(r.text for r in await self.bot.handle(Incoming.of_text(user, text)))


@pytest.fixture
async def staff(bot: Any) -> Staff:
    canteen = await lunch_and_dinner_canteen()
    await grant_role(STAFF, Role.CANTEEN_STAFF, canteen.pk, None)
    return Staff(bot)


async def _booked() -> dict[str, int]:
    rows = await Signup.filter(status=SignupStatus.BOOKED).prefetch_related("recipient", "slot")
    return {r.recipient.label: r.count for r in rows if r.slot.date == THU}


async def test_staff_paste_a_chain_see_a_preview_and_book_on_confirm(staff: Staff) -> None:
    preview = await staff(CHAIN)
    assert "1. 王阿姨 3号楼 1份 —— 可报名" in preview
    assert "2. 老李 5号楼 2份 —— 可报名" in preview
    assert "3. 小张 1份 —— 看不懂（没写楼号）" in preview
    assert "401" not in preview
    assert await _booked() == {}  # nothing before 确认
    done = await staff("确认")
    assert "已报名2行" in done
    assert await _booked() == {"王阿姨": 1, "老李": 2}
    slot = await MealSlot.get(date=THU, meal=Meal.LUNCH)
    assert slot.booked == 3
    wang = await Recipient.get(label="王阿姨")
    assert (wang.phone, wang.address, wang.diet) == ("", "3号楼2单元401", "少盐")


async def test_pasting_again_books_new_lines_and_confirms_changes(staff: Staff) -> None:
    await staff(CHAIN)
    await staff("确认")
    again = CHAIN.replace("2、老李 5号楼 两份\n", "") + "4. 老李 5号楼 三份\n5. 周阿婆 6号楼 1份\n"
    preview = await staff(again)
    assert "1. 王阿姨 3号楼 1份 —— 已报过" in preview
    assert "4. 老李 5号楼 3份 —— 有改动（原来：5号楼 2份）" in preview
    assert "5. 周阿婆 6号楼 1份 —— 可报名" in preview
    await staff("确认")
    assert await _booked() == {"王阿姨": 1, "老李": 3, "周阿婆": 1}
    # a removed line cancels only on 确认
    removed = again.replace("1. 王阿姨 3号楼2单元401 1份 少盐\n", "")
    preview = await staff(removed)
    assert "王阿姨 3号楼 1份 —— 已删除，确认后取消" in preview
    assert "王阿姨" in await _booked()
    assert "已取消1行" in await staff("确认")
    assert await _booked() == {"老李": 3, "周阿婆": 1}
    assert not await ChainLine.exists(name="王阿姨")
    slot = await MealSlot.get(date=THU, meal=Meal.LUNCH)
    assert slot.booked == 4


async def test_a_corrected_chain_pasted_before_confirming_replaces_the_preview(
    staff: Staff,
) -> None:
    await staff(CHAIN)
    fixed = CHAIN.replace("3. 小张\n", "3. 小张 8号楼 1份\n")
    preview = await staff(fixed)
    assert "3. 小张 8号楼 1份 —— 可报名" in preview and "还没填完" not in preview
    await staff("确认")
    assert await _booked() == {"王阿姨": 1, "老李": 2, "小张": 1}


async def test_full_and_past_the_cutoff_lines_are_not_booked(staff: Staff) -> None:
    lines = "".join(f"{i}. 住户{i} {i}号楼 5份\n" for i in range(1, 12))  # 55 portions, 50 places
    preview = await staff("#接龙\n明天午餐\n" + lines)
    assert preview.count("可报名") == 10
    assert "11. 住户11 11号楼 5份 —— 名额已满" in preview
    await staff("确认")
    assert sum((await _booked()).values()) == 50
    staff.when = staff.when.replace(hour=10)  # today's lunch closed at 09:30
    late = await staff("#接龙\n今天午餐\n1. 老孙 2号楼 1份\n")
    assert "1. 老孙 2号楼 1份 —— 已过截止时间" in late


async def test_a_line_that_is_a_known_resident_reuses_them(staff: Staff) -> None:
    own = await delivery.save_recipient(
        "o-wang", label="本人", address="3号楼2单元401", building="3", phone="13812345678",
        emergency_phone=None, diet="",
    )  # fmt: skip
    await staff(CHAIN)
    await staff("确认")
    signup = await Signup.get(recipient=own)
    assert signup.count == 1
    mine = await delivery.upcoming("o-wang", WED)
    assert [s.pk for s in mine] == [signup.pk]  # in the resident's 我订了几天


async def test_only_staff_import_a_chain(staff: Staff) -> None:
    assert "食堂工作人员" in await staff(CHAIN, user="o-resident")
    assert await _booked() == {}


async def test_staff_get_a_chain_to_post(staff: Staff) -> None:
    canteen = await Canteen.get(name="幸福里爱心食堂")
    await Menu.create(canteen=canteen, date=THU, meal=Meal.LUNCH, price_cents=1200,
                      dishes=[{"name": "红烧肉", "kind": "hot"}, {"name": "青菜", "kind": "hot"}],
                      published_by=STAFF)  # fmt: skip
    await staff(CHAIN)
    await staff("确认")
    text = await staff("生成接龙 午餐")
    assert text.startswith("#接龙\n")
    assert "菜单：红烧肉、青菜" in text and "价格：12元/份" in text and "09:30截止" in text
    assert "1. 王阿姨 3号楼 1份" in text and "2. 老李 5号楼 2份" in text
    assert "401" not in text
    # the posted chain, pasted back, reads as the same bookings
    assert "已报过" in await staff(text)


async def test_residents_who_signed_up_themselves_are_not_booked_again(staff: Staff) -> None:
    own = await delivery.save_recipient(
        "o-li", label="本人", address="6号楼1单元101", building="6", phone="13812345678",
        emergency_phone=None, diet="",
    )  # fmt: skip
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    await delivery.book(own, lunch, THU, 1, staff.when)
    text = await staff("生成接龙 午餐")
    assert "1. 居民 6号楼 1份 （已报名）" in text and "101" not in text
    pasted = text + "\n2. 小马 9号楼 1份"
    preview = await staff(pasted)
    assert "居民 6号楼 1份 —— 已报过（自己报的名）" in preview
    assert "小马 9号楼 1份 —— 可报名" in preview
    await staff("确认")
    assert await _booked() == {"本人": 1, "小马": 1}


async def test_staff_paste_and_generate_a_chain_in_the_console(
    client: Any, bot: Any, fake_wechat: Any
) -> None:
    from tests.console_support import console_login, make_staff

    canteen = await lunch_and_dinner_canteen()
    Staff(bot)  # the clock: Wednesday 08:00
    staff = await make_staff("o-console-staff", Role.CANTEEN_STAFF, canteen)
    csrf = await console_login(client, fake_wechat, staff)
    assert "生成明天的接龙" in await (await client.get("/console/")).text()
    resp = await client.post("/console/jielong/preview", data={"csrf": csrf, "text": CHAIN})
    html = await resp.text()
    assert resp.status == 200 and "王阿姨 3号楼 1份 —— 可报名" in html and "看不懂" in html
    assert await _booked() == {}
    done = await client.post("/console/jielong/confirm", data={"csrf": csrf, "text": CHAIN})
    assert "已报名2行" in await done.text()
    assert await _booked() == {"王阿姨": 1, "老李": 2}
    bad = await client.post("/console/jielong/preview", data={"csrf": csrf, "text": "随便写写"})
    assert bad.status == 400
    post = await (await client.post("/console/jielong/generate", data={"csrf": csrf})).text()
    assert "#接龙" in post and "王阿姨 3号楼 1份" in post and "401" not in post
