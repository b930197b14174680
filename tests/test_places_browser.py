"""The map page in a real headless Chromium (Debian's package, driven by playwright), phone-sized:
legend and rings visible, the kind filter and "my location" work, and no request leaves this
machine when no tile URL is set. Screenshots are kept under test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from places import index
from places.demo import seed_demo
from tests.conftest import reset_state
from tests.directory_support import freeze
from tests.test_console_browser import ARGS, ARTIFACTS, CHROMIUM

pytestmark = [
    pytest.mark.browser,  # under CI a skip here fails the run (tests/conftest.py)
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is not installed (apt-get install -y chromium fonts-noto-cjk)",
    ),
]

# A 1x1 transparent PNG: what the stand-in tile server answers.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def _demo(client: Any) -> None:
    from handlers.appkeys import bot_key

    freeze(client.app[bot_key])
    await seed_demo()
    await index.rebuild(client.app[bot_key].services.redis)


async def _radius(page: Any, n: int) -> float:
    return float(
        await page.eval_on_selector_all("#rings circle.ring", f"c => c[{n}].getAttribute('r')")
    )


async def test_map_page_in_a_phone_browser_asks_nobody_else(client: Any) -> None:
    from playwright.async_api import async_playwright

    await _demo(client)
    ARTIFACTS.mkdir(exist_ok=True)
    requested: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844},
                geolocation={"latitude": 31.2380, "longitude": 121.4690},  # WGS-84, as phones
                permissions=["geolocation"],
            )
            page = await context.new_page()
            page.on("request", lambda req: requested.append(req.url))
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(str(client.make_url("/map/")))
            await page.wait_for_selector("#mapsvg")
            assert not errors, errors
            # The legend: one entry per kind present, every entry visible.
            legend = page.locator("#legend button")
            assert await legend.count() == 13
            for i in range(await legend.count()):
                assert await legend.nth(i).is_visible()
            assert "公厕（2）" in (await page.text_content("#legend") or "")
            # Three rings, labelled, within the map and visible.
            assert await page.locator("#rings circle.ring").count() == 3
            labels = page.locator("#rings text.ring-label")
            assert await labels.all_text_contents() == ["15分钟", "10分钟", "5分钟"]
            for i in range(3):
                assert await labels.nth(i).is_visible()
            box = await page.locator("#mapsvg").bounding_box()
            ring = await page.locator("#rings circle.ring").first.bounding_box()
            assert box and ring and ring["width"] > box["width"] * 0.6
            assert await page.locator("#scalebar").is_visible()
            markers = await page.locator("#points .marker").count()
            assert markers >= 15
            # The list by walking time from the centre, nearest first.
            first = await page.text_content("#list li:first-child")
            assert first and "幸福里党群服务中心" in first and "1分钟" in first
            minutes = [
                int(t.split("分钟")[0])
                for t in await page.locator("#list .min").all_text_contents()
            ]
            assert minutes == sorted(minutes) and len(minutes) == 18
            await page.screenshot(path=str(ARTIFACTS / "map-page.png"), full_page=True)

            # The kind filter: one tap shows that kind alone, a second shows all again.
            await page.click("#legend button[data-kind='pharmacy']")
            kinds = await page.eval_on_selector_all("#list li", "ls => ls.map(l => l.dataset.kind)")
            assert kinds == ["pharmacy", "pharmacy"]
            assert await page.locator("#points .marker").count() == 2
            await page.screenshot(path=str(ARTIFACTS / "map-page-pharmacies.png"))
            await page.click("#legend button[data-kind='pharmacy']")
            assert await page.locator("#list li").count() == 18

            # An elderly pace: the rings shrink (45 against 80 metres a minute).
            wide = await _radius(page, 0)
            await page.check("#slow")
            assert abs(await _radius(page, 0) / wide - 45 / 80) < 0.01

            # My location: the list is measured from there.
            await page.click("#me")
            # (a locator, not wait_for_function: the page's CSP forbids eval, rightly)
            await page.locator("#from", has_text="我的位置").wait_for()
            assert "已按您的位置" in (await page.text_content("#status") or "")
            await page.screenshot(path=str(ARTIFACTS / "map-page-my-location.png"), full_page=True)
        finally:
            await browser.close()
    hosts = {urlsplit(u).hostname for u in requested if not u.startswith(("data:", "about:"))}
    assert hosts == {"127.0.0.1"}, requested
    assert any(u.endswith("/map/map.js") for u in requested)


async def test_map_page_draws_the_configured_tiles_beneath(
    aiohttp_client: Any, make_settings: Any
) -> None:
    """With MAP_TILE_URL set, tiles come from there (answered here by a stand-in route)."""
    from playwright.async_api import async_playwright

    from main import create_app

    settings = make_settings(
        map_tile_url="https://tiles.example.test/{z}/{x}/{y}.png",
        map_tile_datum="wgs84",
        map_tile_attribution="© 测试底图",
    )
    client = await aiohttp_client(create_app(settings))
    await reset_state(client)
    await _demo(client)
    tiles: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})

            async def tile(route: Any) -> None:
                tiles.append(route.request.url)
                await route.fulfill(status=200, content_type="image/png", body=PIXEL)

            await page.route("https://tiles.example.test/**", tile)
            await page.goto(str(client.make_url("/map/")))
            await page.wait_for_selector("#tiles image")
            await page.wait_for_timeout(300)  # let the images load; nothing is timed
            assert "© 测试底图" in (await page.text_content("#mapsvg") or "")
            await page.screenshot(path=str(ARTIFACTS / "map-page-tiles.png"))
        finally:
            await browser.close()
    assert tiles and all("/15/" in u or "/16/" in u or "/14/" in u for u in tiles), tiles


async def test_admin_downloads_the_poster_from_the_console(client: Any, fake_wechat: Any) -> None:
    """The console's places page in a phone browser: verify an imported place, then the poster
    button gives a PNG of the printable 布点图 (kept in test-artifacts)."""
    from PIL import Image
    from playwright.async_api import async_playwright

    from models.places import Place, PlaceSource
    from models.users import Role
    from tests.console_support import last_code, make_staff

    await _demo(client)
    waiting = await Place.create(
        name="和平里书屋", kind="culture_sports", lat=31.2290, lng=121.4760,
        source=PlaceSource.IMPORT,
    )  # fmt: skip
    admin = await make_staff("o-admin", Role.ADMIN)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(str(client.make_url("/console/")))
            await page.fill("#account", str(admin.pk))
            await page.click("text=发送登录码")
            await page.wait_for_selector("#code")
            await page.fill("#code", last_code(fake_wechat, "o-admin"))
            await page.click("button:has-text('登录')")
            await page.click("#open-places")
            await page.wait_for_selector("#unverified")
            await page.click(f"#place-{waiting.pk} button.verify")
            assert "已核实" in (await page.text_content("#flash") or "")
            async with page.expect_download() as info:
                await page.click("#poster-png")
            download = await info.value
            target = ARTIFACTS / "poster.png"
            await download.save_as(str(target))
            await page.screenshot(path=str(ARTIFACTS / "console-places.png"), full_page=True)
        finally:
            await browser.close()
    with Image.open(target) as img:
        assert img.format == "PNG" and img.size == (1488, 2105)
    assert (await Place.get(pk=waiting.pk)).verified
