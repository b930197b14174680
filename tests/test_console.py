"""The staff console over HTTP: code login, sessions, CSRF, menus, admin queues."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.context import SHANGHAI
from canteen.cli import add_canteen
from handlers.console import browser_of
from handlers.keys import redis_key
from infra import keys
from models.canteen import Menu
from models.directory import Complaint, Craftsman, Status
from models.users import Role, User
from tests.console_support import (
    ask_code,
    console_login,
    csrf_of,
    forget_sent_codes,
    last_code,
    make_staff,
)
from tests.directory_support import make_craftsman, say

NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI)
MENU = "发布菜单 明天午餐\n热菜：红烧肉、西红柿炒鸡蛋\n汤：紫菜蛋花汤\n主食：米饭\n10元"


@pytest.fixture
async def canteen(client: Any, bot: Any) -> Any:
    bot.services.clock = lambda: NOW
    return await add_canteen("幸福里爱心食堂", "3号楼底商", 31.23, 121.47, [], ["lunch="])


async def test_staff_log_in_with_a_code_and_publish(
    client: Any, bot: Any, canteen: Any, fake_wechat: Any
) -> None:
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)
    assert (await client.get("/console/", allow_redirects=False)).headers["Location"] == (
        "/console/login"
    )
    csrf = await console_login(client, fake_wechat, staff)
    page = await (await client.get("/console/")).text()
    assert "幸福里爱心食堂" in page and "今日送餐报名" in page and "待审核" not in page
    preview = await client.post("/console/menus/preview", data={"csrf": csrf, "text": MENU})
    html = await preview.text()
    assert preview.status == 200 and "确认发布" in html and "11月26日" in html
    assert await Menu.all().count() == 0  # nothing published by a preview
    done = await client.post("/console/menus/publish", data={"csrf": csrf, "text": MENU})
    assert "菜单已发布" in await done.text()
    assert "红烧肉" in await say(bot, "明天午饭吃什么")
    # The same day and meal again is a correction.
    fixed = MENU.replace("红烧肉", "红烧鸡腿")
    preview = await client.post("/console/menus/preview", data={"csrf": csrf, "text": fixed})
    assert "确认更正" in await preview.text()
    done = await client.post("/console/menus/publish", data={"csrf": csrf, "text": fixed})
    assert "菜单已更正" in await done.text()
    assert (await Menu.get()).version == 2
    unclear = await client.post("/console/menus/preview", data={"csrf": csrf, "text": "红烧肉"})
    assert unclear.status == 400 and "哪一餐" in await unclear.text()


async def test_codes_are_single_use_and_limited(
    client: Any, canteen: Any, fake_wechat: Any
) -> None:
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)
    csrf, page = await ask_code(client, "o-staff")  # the openid works as the account too
    assert "输入登录码" in page
    code = last_code(fake_wechat, "o-staff")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        resp = await client.post(
            "/console/login", data={"csrf": csrf, "account": str(staff.pk), "code": wrong}
        )
        assert resp.status == 400 and "不对" in await resp.text()
    # Five wrong tries use the code up: the right one no longer works.
    late = await client.post(
        "/console/login", data={"csrf": csrf, "account": str(staff.pk), "code": code}
    )
    assert late.status == 400
    # A new code cannot be asked for again at once (no flooding someone's WeChat), and the
    # page says so instead of claiming one was sent.
    _, page = await ask_code(client, str(staff.pk))
    assert len(fake_wechat.texts_to("o-staff")) == 1
    assert "一分钟内只发一次登录码" in page and "秒后可以重新获取" in page
    await forget_sent_codes(client)
    await console_login(client, fake_wechat, staff)
    used = last_code(fake_wechat, "o-staff")
    client.session.cookie_jar.clear()  # another browser
    csrf = csrf_of(await (await client.get("/console/login")).text())
    again = await client.post(
        "/console/login", data={"csrf": csrf, "account": str(staff.pk), "code": used}
    )
    assert again.status == 400  # each code logs in once


async def _app_client(aiohttp_client: Any, make_settings: Any, **settings: Any) -> Any:
    from main import create_app

    return await aiohttp_client(create_app(make_settings(**settings)))


async def test_staff_silent_for_48_hours_get_the_code_as_a_notice(
    aiohttp_client: Any, make_settings: Any, canteen: Any, fake_wechat: Any
) -> None:
    """WeChat refuses customer-service messages to them (45015): the code goes out as the
    notice template, or the page says how to get one; no code is left behind unsent."""
    staff = await make_staff("o-quiet", Role.CANTEEN_STAFF, canteen)
    fake_wechat.silent_users.add("o-quiet")
    plain = await _app_client(aiohttp_client, make_settings)
    login_csrf, page = await ask_code(plain, "o-quiet")
    assert "先在公众号里给我们发一条消息" in page
    code_key = keys.console_code(staff.pk, browser_of(login_csrf))
    assert not await plain.app[redis_key].exists(code_key)

    client = await _app_client(aiohttp_client, make_settings, wechat_notice_template_id="tmpl")
    csrf, page = await ask_code(client, "o-quiet")
    assert "输入登录码" in page
    [notice] = fake_wechat.sent("/cgi-bin/message/template/send")
    assert notice["touser"] == "o-quiet" and notice["template_id"] == "tmpl"
    code = notice["data"]["keyword1"]["value"][:6]
    resp = await client.post(
        "/console/login", data={"csrf": csrf, "account": str(staff.pk), "code": code}
    )
    assert resp.status == 200 and resp.url.path == "/console/"


async def test_no_code_for_non_staff_and_the_same_answer(
    client: Any, canteen: Any, fake_wechat: Any
) -> None:
    resident = await User.create(openid="o-resident")
    _, page = await ask_code(client, str(resident.pk))
    _, page2 = await ask_code(client, "no-such-person")
    assert "输入登录码" in page and "输入登录码" in page2
    assert fake_wechat.texts_to("o-resident") == []


async def test_csrf_and_session_expiry(
    client: Any, bot: Any, canteen: Any, fake_wechat: Any
) -> None:
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)
    no_cookie = await client.post("/console/login/code", data={"csrf": "x", "account": "1"})
    assert no_cookie.status == 403
    csrf = await console_login(client, fake_wechat, staff)
    forged = await client.post("/console/menus/publish", data={"csrf": "forged", "text": MENU})
    assert forged.status == 403
    missing = await client.post("/console/menus/publish", data={"text": MENU})
    assert missing.status == 403
    assert await Menu.all().count() == 0
    redis = client.app[redis_key]
    [key] = [k async for k in redis.scan_iter(keys.CONSOLE_SESSION + "*")]
    assert 0 < await redis.ttl(key) <= 8 * 3600  # sessions expire
    await redis.delete(key)
    expired = await client.post(
        "/console/menus/publish", data={"csrf": csrf, "text": MENU}, allow_redirects=False
    )
    assert expired.status == 302 and expired.headers["Location"] == "/console/login"
    assert await Menu.all().count() == 0


async def test_logout_and_lost_role(client: Any, canteen: Any, fake_wechat: Any) -> None:
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)
    csrf = await console_login(client, fake_wechat, staff)
    await client.post("/console/logout", data={"csrf": csrf})
    gone = await client.get("/console/", allow_redirects=False)
    assert gone.status == 302
    await forget_sent_codes(client)
    await console_login(client, fake_wechat, staff)
    from models.users import RoleGrant

    await RoleGrant.filter(user=staff).delete()
    assert (await client.get("/console/", allow_redirects=False)).status == 302


async def test_admin_approves_and_handles_complaints(
    client: Any, bot: Any, canteen: Any, fake_wechat: Any
) -> None:
    admin = await make_staff("o-admin", Role.ADMIN)
    pending = await make_craftsman(
        bot, "新师傅", ["tailor"], 100, status=Status.PENDING, openid="o-new"
    )
    target = await make_craftsman(bot, "王师傅", ["tailor"], 200)
    complaint = await Complaint.create(craftsman=target, reason="迟到很久", complainant="o-r")
    csrf = await console_login(client, fake_wechat, admin)
    page = await (await client.get("/console/")).text()
    assert "新师傅" in page and "迟到很久" in page and csrf_of(page) == csrf
    done = await client.post(f"/console/craftsmen/{pending.pk}/approve", data={"csrf": csrf})
    assert "已通过：#" in await done.text()
    assert (await Craftsman.get(pk=pending.pk)).status is Status.APPROVED
    assert any("通过审核" in t for t in fake_wechat.texts_to("o-new"))  # told, as in the chat
    twice = await client.post(f"/console/craftsmen/{pending.pk}/approve", data={"csrf": csrf})
    assert "不在待审核状态" in await twice.text()
    decided = await client.post(
        f"/console/complaints/{complaint.pk}/decision", data={"csrf": csrf, "upheld": "0"}
    )
    assert "不成立" in await decided.text()
    assert (await Complaint.get(pk=complaint.pk)).upheld is False


async def test_staff_cannot_use_admin_actions(
    client: Any, bot: Any, canteen: Any, fake_wechat: Any
) -> None:
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)
    pending = await make_craftsman(bot, "新师傅", ["tailor"], 100, status=Status.PENDING)
    csrf = await console_login(client, fake_wechat, staff)
    resp = await client.post(f"/console/craftsmen/{pending.pk}/approve", data={"csrf": csrf})
    assert resp.status == 403
    assert (await Craftsman.get(pk=pending.pk)).status is Status.PENDING
