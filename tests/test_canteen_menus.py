"""Canteen menus: parsing what staff paste, publishing with confirmation, pushes queued in the
same transaction, corrections, resident questions, subscriptions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.context import SHANGHAI
from canteen.cli import add_canteen, grant_role, parse_meal_spec
from canteen.menu_parser import MenuParseError, parse_menu
from canteen.service import set_subscription
from handlers.keys import bot_key
from models.canteen import DishKind, Meal, Menu, MenuSubscription
from models.push import OutboxMessage, PushChannel, PushStatus
from models.users import Role, User
from server.lifecycle import push_worker_key
from tests.chat_support import Chat
from tests.conftest import lunch_and_dinner_canteen

TODAY = dt.date(2026, 11, 25)  # a Wednesday
STAFF = "o-staff"
MENU = (
    "发布菜单 明天午餐\n凉菜：拍黄瓜、凉拌木耳\n热菜：红烧肉、西红柿炒鸡蛋…\n"
    "汤：紫菜蛋花汤\n主食：米饭、花卷\n10元"
)


def test_parses_the_usual_format() -> None:
    d = parse_menu(MENU, TODAY)
    assert d.date == dt.date(2026, 11, 26) and d.meal is Meal.LUNCH and d.price_cents == 1000
    kinds = {x.name: x.kind for x in d.dishes}
    assert kinds == {
        "拍黄瓜": DishKind.COLD,
        "凉拌木耳": DishKind.COLD,
        "红烧肉": DishKind.HOT,
        "西红柿炒鸡蛋": DishKind.HOT,
        "紫菜蛋花汤": DishKind.SOUP,
        "米饭": DishKind.STAPLE,
        "花卷": DishKind.STAPLE,
    }


@pytest.mark.parametrize(
    ("text", "date", "meal", "dishes", "price"),
    [
        (
            "发布菜单 周五 晚饭\n冷菜: 拍黄瓜,凉拌木耳\n汤品：冬瓜汤 😋\n价格：12元",
            "2026-11-27",
            "dinner",
            {"拍黄瓜": "cold", "凉拌木耳": "cold", "冬瓜汤": "soup"},
            1200,
        ),
        (
            "发布菜单\n今天午餐\n热菜 红烧肉 青菜\n￥10",
            "2026-11-25",
            "lunch",
            {"红烧肉": "hot", "青菜": "hot"},
            1000,
        ),
        (  # all on one line, as typed in a terminal or a quick post
            "发布菜单 明天午餐 凉菜：拍黄瓜 热菜：红烧肉、青菜 汤：紫菜蛋花汤 ¥10",
            "2026-11-26",
            "lunch",
            {"拍黄瓜": "cold", "红烧肉": "hot", "青菜": "hot", "紫菜蛋花汤": "soup"},
            1000,
        ),
        (
            "更新菜单 后天早餐\n1. 豆浆\n2. 油条\n主食：包子；馒头",
            "2026-11-27",
            "breakfast",
            {"豆浆": "hot", "油条": "hot", "包子": "staple", "馒头": "staple"},
            None,
        ),
        (
            "发布菜单 明天中午\r\n荤菜：糖醋排骨 / 宫保鸡丁\r\n素菜：炒青菜\r\n3块",
            "2026-11-26",
            "lunch",
            {"糖醋排骨": "hot", "宫保鸡丁": "hot", "炒青菜": "hot"},
            300,
        ),
    ],
)
def test_parses_messy_variants(
    text: str, date: str, meal: str, dishes: dict[str, str], price: int | None
) -> None:
    d = parse_menu(text, TODAY)
    assert d.date.isoformat() == date and d.meal.value == meal and d.price_cents == price
    assert {x.name: x.kind.value for x in d.dishes} == dishes


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("发布菜单 明天\n热菜：红烧肉", "哪一餐"),
        ("发布菜单 明天午餐\n10元", "没看到菜名"),
        ("发布菜单 明天午餐\n热菜：" + "很" * 30, "不像一道菜名"),
    ],
)
def test_unclear_menus_say_what_is_missing(text: str, reason: str) -> None:
    with pytest.raises(MenuParseError, match=reason):
        parse_menu(text, TODAY)


def test_meal_specs_are_validated() -> None:
    assert (
        parse_meal_spec("lunch=11:00-12:30,cutoff=09:30,capacity=50,price=10")["price_cents"]
        == 1000
    )
    for bad in [
        "lunch=12:00-11:00",
        "brunch=10:00-11:00",
        "lunch=11:00-12:30,cutoff=9h",
        "lunch=,capacity=-1",
    ]:
        with pytest.raises(ValueError):
            parse_meal_spec(bad)


@pytest.fixture
async def canteen(client: Any) -> Any:
    c = await lunch_and_dinner_canteen(["robot-key-1"])
    await grant_role(STAFF, Role.CANTEEN_STAFF, c.pk, None)
    return c


@pytest.fixture
def say(bot: Any) -> Any:
    return Chat(
        bot, when=dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    )


async def test_staff_publish_after_confirmation_queues_pushes(canteen: Any, say: Any) -> None:
    for openid in ("o-a", "o-b", "o-gone"):
        assert "推送" in await say(openid, "订阅菜单")
    await User.create(openid="o-gone", followed=False)  # unfollowed the account since
    shown = await say(STAFF, MENU)
    assert "红烧肉" in shown and "确认" in shown and "11月26日" in shown
    assert await Menu.all().count() == 0 and await OutboxMessage.all().count() == 0
    done = await say(STAFF, "确认")
    assert "已发布" in done and "2位" in done and "1个群" in done
    menu = await Menu.get()
    assert menu.version == 1 and len(menu.dishes) == 7
    rows = await OutboxMessage.all().order_by("id")
    assert sorted(r.target for r in rows) == ["o-a", "o-b", "robot-key-1"]
    text = rows[0].payload.get("text") or rows[0].payload["content"]
    assert "红烧肉" in text and "回复“送餐”" in text
    assert {r.channel for r in rows} == {PushChannel.WECHAT_CS, PushChannel.WECOM_ROBOT}


async def test_correction_replaces_and_pushes_again(canteen: Any, say: Any) -> None:
    await say("o-a", "订阅菜单")
    await say(STAFF, MENU)
    await say(STAFF, "确认")
    await say(STAFF, MENU.replace("红烧肉", "红烧鸡腿"))
    assert "已更正" in await say(STAFF, "确认")
    menu = await Menu.get()
    assert menu.version == 2 and "红烧鸡腿" in str(menu.dishes) and "红烧肉" not in str(menu.dishes)
    pushes = await OutboxMessage.filter(target="o-a").order_by("id")
    assert len(pushes) == 2 and pushes[1].payload["text"].startswith("【菜单更正】")


async def test_cancel_drops_the_draft(canteen: Any, say: Any) -> None:
    await say(STAFF, MENU)
    assert "取消" in await say(STAFF, "取消")
    assert await Menu.all().count() == 0
    assert "确认" in await say(STAFF, MENU) and "确认" in await say(STAFF, "什么意思")  # re-asks


async def test_only_staff_can_publish(canteen: Any, say: Any) -> None:
    assert "只有食堂工作人员" in await say("o-resident", MENU)
    assert await Menu.all().count() == 0


async def test_residents_ask_in_their_own_words(canteen: Any, say: Any) -> None:
    assert "还没发布" in await say("o-r", "明天午饭吃什么")
    await say(STAFF, MENU)
    await say(STAFF, "确认")
    answer = await say("o-r", "明天中午吃啥")
    assert "红烧肉" in answer and "紫菜蛋花汤" in answer
    assert "有的" in await say("o-r", "明天有红烧肉吗")
    assert "没有鱼" in await say("o-r", "明天有鱼吗")
    for asked in ("明天中午有什么菜", "明天有啥好吃的", "明天有哪些菜"):  # what, not which dish
        answer = await say("o-r", asked)
        assert "红烧肉" in answer and "没有" not in answer, (asked, answer)
    assert "10元" in await say("o-r", "明天午饭多少钱")
    hours = await say("o-r", "食堂几点开饭")
    assert "11:00–12:30" in hours and "17:00–18:30" in hours  # as people say them
    assert "还没发布" in await say("o-r", "今天午饭吃什么")


async def test_subscribe_and_unsubscribe(canteen: Any, say: Any) -> None:
    assert "推送" in await say("o-r", "每天把菜单推给我")
    assert (await MenuSubscription.get(openid="o-r")).active
    assert "不再" in await say("o-r", "别再发菜单了")
    assert not (await MenuSubscription.get(openid="o-r")).active
    assert "没有订阅" in await say("o-r", "退订菜单")
    await say(STAFF, MENU)
    await say(STAFF, "确认")
    assert await OutboxMessage.filter(target="o-r").count() == 0


async def test_grant_role_validates(client: Any) -> None:
    with pytest.raises(ValueError, match="--canteen"):
        await grant_role("o-x", Role.CANTEEN_STAFF, None, None)
    with pytest.raises(ValueError, match="no canteen"):
        await grant_role("o-x", Role.CANTEEN_STAFF, 999, None)
    g1 = await grant_role("o-x", Role.VOLUNTEER, None, "1-5号楼")
    g2 = await grant_role("o-x", Role.VOLUNTEER, None, "1-5号楼")
    assert g1.pk == g2.pk


async def test_publish_reaches_subscribers_and_groups_through_the_worker(
    driven_client: Any, fake_wechat: Any
) -> None:
    """Publish → outbox → worker → the fake WeChat server: the Official Account subscriber by
    customer-service message, the mini-program subscriber by subscribe message, the group by
    its WeCom robot; whoever unsubscribed gets nothing."""
    c = await add_canteen(
        "幸福里爱心食堂", "3号楼底商", None, None, ["robot-key-1"], ["lunch=11:00-12:30"]
    )
    await grant_role(STAFF, Role.CANTEEN_STAFF, c.pk, None)
    bot = driven_client.app[bot_key]
    bot.services.clock = lambda: dt.datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI)
    settings = bot.services.settings
    bot.services.settings = settings.model_copy(
        update={"mini_menu_template_id": "tmpl-menu", "wechat_menu_template_id": "tmpl-oa"}
    )

    say = Chat(bot)

    await say("o-a", "订阅菜单")
    await say("o-b", "订阅菜单")
    await say("o-b", "退订菜单")
    await say("o-silent", "订阅菜单")
    await set_subscription("o-mini", True, channel="mini")
    await say(STAFF, MENU)
    assert "3位订阅居民和1个群" in await say(STAFF, "确认")
    # o-silent has not written for 48 hours: WeChat refuses customer-service messages (45015).
    silent = await OutboxMessage.get(target="o-silent")
    fake_wechat.silent_users.add("o-silent")
    await driven_client.app[push_worker_key].drain()

    [text] = fake_wechat.texts_to("o-a")
    assert "红烧肉" in text and "回复“送餐”报名" in text
    assert fake_wechat.texts_to("o-b") == [] and fake_wechat.texts_to("o-mini") == []
    assert fake_wechat.texts_to("o-silent") == []  # ... so it got the template message instead
    [template] = fake_wechat.sent("/cgi-bin/message/template/send")
    assert template["touser"] == "o-silent" and template["template_id"] == "tmpl-oa"
    assert "红烧肉" in template["data"]["keyword2"]["value"]
    silent = await OutboxMessage.get(pk=silent.pk)
    assert silent.channel == PushChannel.WECHAT_TEMPLATE and silent.status == PushStatus.SENT
    [robot] = [c for c in fake_wechat.calls if c.path == "/cgi-bin/webhook/send"]
    assert robot.params["key"] == "robot-key-1" and "红烧肉" in robot.body["text"]["content"]
    [sub] = fake_wechat.sent("/cgi-bin/message/subscribe/send")
    assert sub["touser"] == "o-mini" and sub["template_id"] == "tmpl-menu"
    assert sub["data"]["thing1"]["value"] == "幸福里爱心食堂午餐"
    assert (
        len(sub["data"]["thing2"]["value"]) <= 20 and sub["data"]["date3"]["value"] == "2026-11-26"
    )


async def test_prices_on_quotes_each_meal_as_price_on_does(canteen: Any) -> None:
    """A sign-up's prices in one query: a menu's own price that day, else the standing price,
    per canteen (another canteen's menu on the same day does not leak in)."""
    from canteen.service import meals_of, price_on, prices_on

    other = await add_canteen(
        "第二食堂",
        "9号楼",
        31.24,
        121.48,
        [],
        ["lunch=11:00-12:30,cutoff=09:30,capacity=9,price=8"],
    )
    day = dt.date(2026, 11, 26)
    await Menu.create(canteen=canteen, date=day, meal=Meal.LUNCH, price_cents=1300,
                      dishes=[{"name": "红烧肉", "kind": "hot"}], published_by=STAFF)  # fmt: skip
    await Menu.create(canteen=canteen, date=day, meal=Meal.DINNER, price_cents=None,
                      dishes=[{"name": "青菜", "kind": "hot"}], published_by=STAFF)  # fmt: skip
    await Menu.create(canteen=other, date=day, meal=Meal.LUNCH, price_cents=700,
                      dishes=[{"name": "面条", "kind": "hot"}], published_by=STAFF)  # fmt: skip
    meals = await meals_of(canteen) + await meals_of(other)
    assert await prices_on(meals, day) == [1300, 1200, 700]
    assert await prices_on(meals, day + dt.timedelta(days=1)) == [1000, 1200, 800]
    for d in (day, day + dt.timedelta(days=1)):
        assert await prices_on(meals, d) == [await price_on(m, d) for m in meals]
    assert await prices_on([], day) == []


# ---- last week's menu as a draft (issue 17) -----------------------------------------------------

LAST_THU = dt.date(2026, 11, 19)  # 7 days before tomorrow (Thu 26th), as `say` runs on the 25th


async def _last_week(canteen: Any, day: dt.date, meal: Meal, dishes: list[str], price: int) -> None:
    await Menu.create(canteen=canteen, date=day, meal=meal, price_cents=price, published_by=STAFF,
                      dishes=[{"name": n, "kind": "hot"} for n in dishes])  # fmt: skip


async def test_copy_last_weeks_menu_is_a_draft_published_only_on_confirm(
    canteen: Any, say: Any
) -> None:
    await say("o-a", "订阅菜单")
    await _last_week(canteen, LAST_THU, Meal.LUNCH, ["红烧肉", "炒青菜"], 1000)
    await _last_week(canteen, LAST_THU, Meal.DINNER, ["清蒸鱼"], 1200)
    shown = await say(STAFF, "复制上周菜单")
    assert "草稿" in shown and "11月26日" in shown and "红烧肉" in shown and "清蒸鱼" in shown
    assert "确认" in shown
    # A draft: nothing saved for the 26th, nothing pushed, until 确认.
    assert await Menu.filter(date=dt.date(2026, 11, 26)).count() == 0
    assert await OutboxMessage.all().count() == 0
    done = await say(STAFF, "确认")
    assert "11月26日午餐：已发布" in done and "11月26日晚餐：已发布" in done
    copied = {m.meal: m for m in await Menu.filter(date=dt.date(2026, 11, 26))}
    assert [d["name"] for d in copied[Meal.LUNCH].dishes] == ["红烧肉", "炒青菜"]
    assert copied[Meal.DINNER].price_cents == 1200
    assert await OutboxMessage.filter(target="o-a").count() == 2


async def test_a_copied_draft_is_edited_in_words_before_confirming(canteen: Any, say: Any) -> None:
    await _last_week(canteen, LAST_THU, Meal.LUNCH, ["红烧肉", "炒青菜"], 1000)
    shown = await say(STAFF, "照上周一样")
    assert "红烧肉" in shown and "晚餐没有菜单" in shown  # last week had no dinner menu
    assert "红烧鸡腿" in await say(STAFF, "红烧肉换成红烧鸡腿")
    said, shown = (await say(STAFF, "去掉炒青菜")).split("\n", 1)
    assert said == "好的，去掉了炒青菜。" and "炒青菜" not in shown and "红烧鸡腿" in shown
    assert "冬瓜汤" in await say(STAFF, "加 汤：冬瓜汤")
    assert (await say(STAFF, "价格12元")).startswith("好的，价格改成12元。")
    assert "没有鱼香肉丝" in await say(STAFF, "去掉鱼香肉丝")
    assert await Menu.filter(date=dt.date(2026, 11, 26)).count() == 0
    assert "已发布" in await say(STAFF, "确认")
    menu = await Menu.get(date=dt.date(2026, 11, 26), meal=Meal.LUNCH)
    assert menu.dishes == [{"name": "红烧鸡腿", "kind": "hot"}, {"name": "冬瓜汤", "kind": "soup"}]
    assert menu.price_cents == 1200
    # The week before still has its own menu, untouched.
    assert (await Menu.get(date=LAST_THU)).dishes[0]["name"] == "红烧肉"


async def test_copy_one_meal_from_a_named_weekday_and_say_plainly_when_there_is_none(
    canteen: Any, say: Any
) -> None:
    last_tue = dt.date(2026, 11, 17)
    await _last_week(canteen, last_tue, Meal.LUNCH, ["土豆烧牛肉"], 1100)
    await _last_week(canteen, last_tue, Meal.DINNER, ["面条"], 900)
    shown = await say(STAFF, "明天午餐照上周二的")
    assert "土豆烧牛肉" in shown and "面条" not in shown and "11月26日" in shown
    assert "已经发布过" not in shown
    assert "取消" in await say(STAFF, "取消")
    assert await Menu.filter(date=dt.date(2026, 11, 26)).count() == 0
    await say(STAFF, MENU)  # tomorrow's lunch published since: copying over it is a correction
    await say(STAFF, "确认")
    assert "11月26日（周四）午餐已经发布过菜单，确认后会作为更正" in await say(
        STAFF, "明天午餐照上周二的"
    )
    assert "取消" in await say(STAFF, "取消")
    # Last Thursday had nothing: said plainly, no draft.
    nothing = await say(STAFF, "用上周的菜单")
    assert "上周11月19日（周四）" in nothing and "没有发布过菜单" in nothing
    assert "确认" not in await say(STAFF, "确认")
    [published] = await Menu.filter(date=dt.date(2026, 11, 26))
    assert published.version == 1 and published.dishes[0]["name"] == "拍黄瓜"
    assert "土豆烧牛肉" in await say(STAFF, "明天午餐把上周二的菜单再发一遍")
    assert "取消" in await say(STAFF, "取消")
    # Residents cannot copy menus.
    assert "草稿" not in await say("o-r", "明天午餐照上周二的")


def test_draft_edits_read_the_staffs_words() -> None:
    from canteen.menu_parser import (
        Dish,
        DraftEditError,
        MenuDraft,
        edit_drafts,
        menu_post,
    )

    lunch = MenuDraft(TODAY, Meal.LUNCH, [Dish("红烧肉", DishKind.HOT)], 1000)
    dinner = MenuDraft(TODAY, Meal.DINNER, [Dish("青菜", DishKind.HOT)], 1200)
    drafts = [lunch, dinner]
    assert edit_drafts(drafts, "确认") is None and edit_drafts(drafts, "好的") is None
    with pytest.raises(DraftEditError, match="哪一餐"):
        edit_drafts(drafts, "价格12元")
    assert edit_drafts(drafts, "晚餐价格13元") == "价格改成13元" and dinner.price_cents == 1300
    assert edit_drafts(drafts, "晚饭加 主食：米饭、花卷") == "加了主食米饭、花卷"
    assert [d.name for d in dinner.dishes] == ["青菜", "米饭", "花卷"]
    assert edit_drafts(drafts, "把红烧肉改成红烧排骨") and lunch.dishes[0].name == "红烧排骨"
    with pytest.raises(DraftEditError, match="没有了|都去掉"):
        edit_drafts(drafts, "午餐去掉红烧排骨")
    # Written back as a post, a draft reads back the same (the console's editable draft).
    assert parse_menu(menu_post(dinner), TODAY) == dinner


async def test_the_console_copies_last_weeks_menu_as_editable_drafts(
    driven_client: Any, fake_wechat: Any
) -> None:
    import html

    from tests.console_support import console_login, csrf_of

    c = await lunch_and_dinner_canteen()
    await grant_role(STAFF, Role.CANTEEN_STAFF, c.pk, None)
    bot = driven_client.app[bot_key]
    bot.services.clock = lambda: dt.datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI)
    await _last_week(c, LAST_THU, Meal.LUNCH, ["红烧肉", "炒青菜"], 1000)
    csrf = await console_login(driven_client, fake_wechat, await User.get(openid=STAFF))
    dashboard = await (await driven_client.get("/console/")).text()
    assert "复制上周菜单为草稿" in dashboard and "/console/family" in dashboard

    page = await (
        await driven_client.post("/console/menus/copy-last-week", data={"csrf": csrf})
    ).text()
    assert "发布菜单 11月26日午餐\n热菜：红烧肉、炒青菜\n10元" in html.unescape(page)
    assert "11月19日（周四）晚餐没有菜单" in page
    assert await Menu.filter(date=dt.date(2026, 11, 26)).count() == 0  # a draft only
    # Edited in the text box, previewed, then published as a pasted menu is.
    text = "发布菜单 11月26日午餐\n热菜：红烧鸡腿、炒青菜\n10元"
    preview = await driven_client.post(
        "/console/menus/preview", data={"csrf": csrf_of(page), "text": text}
    )
    assert "红烧鸡腿" in await preview.text()
    await driven_client.post("/console/menus/publish", data={"csrf": csrf, "text": text})
    menu = await Menu.get(date=dt.date(2026, 11, 26), meal=Meal.LUNCH)
    assert menu.dishes[0]["name"] == "红烧鸡腿"

    # A day last week had nothing: said plainly on the dashboard.
    nothing = await driven_client.post(
        "/console/menus/copy-last-week", data={"csrf": csrf, "day": "2026-11-27"}
    )
    assert nothing.url.path == "/console/" and "没有发布过菜单" in await nothing.text()
