"""The console in a real headless Chromium (Debian's package, driven by playwright): a canteen
staff member logs in with the code the bot sent, publishes a menu, and residents get it in the
chat. A screenshot is kept under test-artifacts/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.context import SHANGHAI
from canteen.cli import add_canteen
from models.users import Role
from tests.console_support import last_code, make_staff
from tests.directory_support import say

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,  # under CI a skip here fails the run (tests/conftest.py)
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is not installed (apt-get install -y chromium fonts-noto-cjk)",
    ),
]


async def test_staff_publish_a_menu_from_a_phone_browser(
    client: Any, bot: Any, fake_wechat: Any
) -> None:
    from playwright.async_api import async_playwright

    bot.services.clock = lambda: dt.datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI)
    canteen = await add_canteen("幸福里爱心食堂", "3号楼底商", 31.23, 121.47, [], ["lunch="])
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            # A phone-sized screen: the console must work there.
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(str(client.make_url("/console/")))
            assert page.url.endswith("/console/login")
            await page.fill("#account", str(staff.pk))
            await page.click("text=发送登录码")
            await page.wait_for_selector("#code")
            await page.fill("#code", last_code(fake_wechat, "o-staff"))
            await page.click("button:has-text('登录')")
            await page.wait_for_selector("#menu")
            await page.fill(
                "#text",
                "发布菜单 明天午餐\n热菜：红烧肉、清炒时蔬\n汤：紫菜蛋花汤\n主食：米饭\n10元",
            )
            await page.click("text=预览")
            preview = await page.text_content("#preview")
            assert preview and "红烧肉" in preview and "11月26日" in preview
            await page.click("#publish")
            flash = await page.text_content("#flash")
            assert flash and "已发布" in flash
            assert "红烧肉" in (await page.text_content("#today-menus") or "")
            await page.screenshot(path=str(ARTIFACTS / "console-publish.png"), full_page=True)
        finally:
            await browser.close()
    answer = await say(bot, "明天午饭吃什么")
    assert "红烧肉" in answer and "清炒时蔬" in answer
