"""Couriers' and riders' volunteer 随手拍, the gaps around them: their points (我的积分, 积分榜,
/console/points), one rule for a grid report's points, erasure (删除我的信息) and what we keep,
photos shown in the console (CSP), and photos copied from WeChat before its 3 days are up
(获取临时素材 against the fake WeChat server)."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from canteen.cli import grant_role
from delivery import points
from grid import photos, service
from handlers.keys import settings_key, wechat_api_key
from models.grid import CourierVolunteer, GridReport
from models.push import OutboxMessage
from models.users import ErasureRecord, Role
from models.volunteers import VolunteerTask
from push.worker import PushWorker
from server.lifecycle import push_worker_key, run_photo_copier
from tests.console_support import console_login, make_staff
from tests.test_grid_photos import NOW, PIC, PIC2, Wechat, _register
from wechat_api.client import MediaTooLarge, WeChatAPI, WeChatAPIError

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def wx(driven_client: Any) -> Wechat:
    """A resident's (or courier's) phone on /wechat, with the grid workers of both halves."""
    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    await grant_role("o-grid-west", Role.VOLUNTEER, None, "6-10号楼", grid=True)
    return Wechat(driven_client)


async def _approved(wx: Wechat, user: str = "o-courier") -> CourierVolunteer:
    await grant_role("o-admin", Role.ADMIN, None, None)
    courier = await _register(wx, user)
    return await service.decide_volunteer("o-admin", courier.pk, True, NOW)


async def _snap(wx: Wechat, user: str, problem: str, media_id: str = "media-1") -> GridReport:
    """A 随手拍: a place, a photo, what it is (a courier's phone is known)."""
    await wx.place(user, "31.2290", "121.4700", "幸福里小区3号楼")
    await wx.photo(user, PIC, media_id)
    assert "已转给网格员" in await wx.text(user, problem)
    report = await GridReport.filter(openid=user).order_by("-id").first()
    assert report is not None
    return report


async def _approved_again(user: str) -> CourierVolunteer:
    found = await service.approved_volunteer(user)
    assert found is not None
    return found


def _api(wx: Wechat) -> WeChatAPI:
    api: WeChatAPI = wx.client.app[wechat_api_key]
    return api


def _data_dir(wx: Wechat) -> Path:
    data_dir: Path = wx.client.app[settings_key].data_dir
    return data_dir


# ---- points --------------------------------------------------------------------------------


async def test_an_approved_courier_hears_their_points_and_the_staff_see_them_marked(
    wx: Wechat, fake_wechat: Any
) -> None:
    await _approved(wx)
    courier = await _approved_again("o-courier")
    await _snap(wx, "o-courier", "井盖翘起来了，电动车容易摔")
    # A second one later on the round (a photo then would join the first for 5 minutes).
    await service.file_report(
        "o-courier", "路灯不亮了", "3号楼", "3", courier.phone, NOW, volunteer=courier,
        photos=[service.photo(PIC2, "media-2")],
    )  # fmt: skip
    mine = await wx.text("o-courier", "我的积分")
    assert "2026年的志愿者积分：2分（本月2分）" in mine
    assert "2026年随手拍报告问题2件" in mine and "随手拍报告一件问题1分" in mine
    assert "送餐" not in mine  # a courier delivers no meals: not the meal rule
    # Registered but not approved: no points yet.
    await _register(wx, "o-rider")
    assert "送餐志愿者" in await wx.text("o-rider", "我的积分")

    board = await wx.text("o-admin", "积分榜")
    assert "1. 志愿者…rier【快递/外卖志愿者】（幸福里小区）：2分" in board

    admin = await make_staff("o-boss", Role.ADMIN)
    await console_login(wx.client, fake_wechat, admin)
    page = await (await wx.client.get("/console/points")).text()
    ranking = page[page.index('id="ranking"') : page.index("</table>")]
    assert "志愿者…rier <span" in ranking and "快递/外卖志愿者" in ranking
    assert "幸福里小区" in ranking and "<b>2</b>" in ranking
    resp = await wx.client.get("/console/points.csv?year=2026")
    rows = list(csv.reader(io.StringIO((await resp.text()).lstrip("\ufeff"))))
    assert rows[0][4] == "kind" and rows[1][2:5] == ["o-courier", "幸福里小区", "快递/外卖志愿者"]


async def test_a_courier_s_report_counts_once_when_they_also_get_the_volunteer_role(
    wx: Wechat,
) -> None:
    await _approved(wx)
    report = await _snap(wx, "o-courier", "井盖翘起来了")
    assert "积分：1分" in await wx.text("o-courier", "我的积分")
    # Later they also deliver meals: the volunteer role. The report is still one report.
    await grant_role("o-courier", Role.VOLUNTEER, None, "1-5号楼")
    [tally] = [t for t in await points.ranking(2026) if t.openid == "o-courier"]
    assert (tally.points, tally.tasks, tally.reports) == (1, 1, 1)
    assert "积分：1分" in await wx.text("o-courier", "我的积分")
    # A ledger row an older version credited for the same report is not counted again, and
    # nothing can credit a grid report through the ledger now.
    await VolunteerTask.create(
        openid="o-courier", kind=points.GRID_REPORT, points=1, at=NOW,
        ref=f"grid_report:{report.pk}",
    )  # fmt: skip
    [tally] = [t for t in await points.ranking(2026) if t.openid == "o-courier"]
    assert tally.points == 1
    with pytest.raises(ValueError):
        await points.credit_task("o-courier", points.GRID_REPORT, f"grid_report:{report.pk}", NOW)
    # A resident's report earns nobody anything.
    await wx.photo("o-r")
    await wx.text("o-r", "楼道里的灯坏了")
    await wx.text("o-r", "7号楼2单元")
    await wx.text("o-r", "不留")
    assert await GridReport.filter(openid="o-r").exists()
    assert [t.openid for t in await points.ranking(2026)] == ["o-courier"]


# ---- erasure ---------------------------------------------------------------------------------


async def test_erasing_a_courier_removes_the_registration_and_their_reports_photos_and_places(
    wx: Wechat, fake_wechat: Any
) -> None:
    await _approved(wx)
    fake_wechat.add_media("media-1", JPEG)
    mine = await _snap(wx, "o-courier", "井盖翘起来了，电动车容易摔")
    await wx.photo("o-r", PIC2, "media-r")
    await wx.text("o-r", "垃圾桶满出来了")
    await wx.text("o-r", "7号楼")
    await wx.text("o-r", "不留")
    theirs = await GridReport.get(openid="o-r")
    await photos.copy_new(_api(wx), _data_dir(wx), NOW)
    assert photos.stored(_data_dir(wx), mine.pk, 1) is not None
    worker: PushWorker = wx.client.app[push_worker_key]
    await worker.drain()

    kept = await wx.text("o-courier", "我的信息存了什么")
    assert "快递员志愿者登记（姓名、电话、公司、片区）" in kept and "随手拍转给网格员" in kept
    assert "志愿者登记" not in await wx.text("o-r", "我的信息存了什么")
    assert "快递/外卖志愿者登记" in await wx.text("o-courier", "删除我的信息")
    assert "已删除" in await wx.text("o-courier", "确认删除我的信息")

    assert not await CourierVolunteer.filter(openid="o-courier").exists()
    report = await GridReport.get(pk=mine.pk)
    assert report.openid == "erased" and report.phone == "" and report.volunteer_id is None
    assert report.photos is None and report.lat is None and report.place_label is None
    # The problem and its state stay for the community (a public place, still to be fixed).
    assert report.text == "井盖翘起来了，电动车容易摔" and report.closed_at is None
    assert report.forwarded_to == ["o-grid-east"]
    assert photos.stored(_data_dir(wx), mine.pk, 1) is None
    assert not (_data_dir(wx) / "photos" / str(mine.pk)).exists()
    # What the grid worker was sent about it no longer names the courier or links the photo.
    told = [m.payload["text"] for m in await OutboxMessage.filter(target="o-grid-east")]
    assert told and not any("王小明" in t or "13900002222" in t or PIC in t for t in told)
    # Someone else's report is untouched; the courier earns nothing any more.
    [left] = (await GridReport.get(pk=theirs.pk)).photos or []
    assert left["url"] == PIC2 and left["media_id"] == "media-r"
    assert "o-courier" not in [t.openid for t in await points.ranking(2026)]
    [record] = await ErasureRecord.all()
    assert record.removed["courier"] == 1 and record.removed["reports"] == 1
    assert "志愿者登记" not in await wx.text("o-courier", "我的信息存了什么")


# ---- the console shows the photos ------------------------------------------------------------


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in filter(None, (p.strip() for p in csp.split(";"))):
        name, *values = part.split()
        out[name] = values
    return out


async def test_the_console_shows_photos_as_images_from_wechat_s_host_only(
    wx: Wechat, fake_wechat: Any
) -> None:
    admin = await make_staff("o-admin", Role.ADMIN)
    await wx.photo("o-r", PIC, "media-1")
    await wx.photo("o-r", "https://evil.example/x.jpg", "media-2")
    await wx.text("o-r", "垃圾桶满出来了好几天没人收")
    await wx.text("o-r", "7号楼")
    await wx.text("o-r", "不留")
    await console_login(wx.client, fake_wechat, admin)
    resp = await wx.client.get("/console/")
    csp = _directives(resp.headers["Content-Security-Policy"])
    assert csp["img-src"] == ["'self'", "data:", "http://mmbiz.qpic.cn", "https://mmbiz.qpic.cn"]
    assert csp["default-src"] == ["'none'"] and "script-src" not in csp
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]
    page = await resp.text()
    reports = page[page.index('id="grid-reports"') : page.index('id="grid-volunteers"')]
    assert (
        f'<a href="{PIC}" target="_blank" rel="noreferrer noopener"><img src="{PIC}" alt="照片1" '
        'referrerpolicy="no-referrer" loading="lazy"'
    ) in reports
    # Another host is a link only (the CSP would refuse it anyway).
    assert 'href="https://evil.example/x.jpg"' in reports
    assert 'src="https://evil.example' not in reports and "（微信保存3天）" in reports


# ---- photos copied from WeChat ---------------------------------------------------------------


async def test_the_client_downloads_temporary_media_from_the_fake_wechat(
    wx: Wechat, fake_wechat: Any
) -> None:
    api = _api(wx)
    fake_wechat.add_media("m-ok", JPEG)
    media = await api.download_media("m-ok", max_bytes=photos.PHOTO_MAX_BYTES)
    assert media.content == JPEG and media.content_type == "image/jpeg"
    with pytest.raises(WeChatAPIError) as refused:
        await api.download_media("m-unknown", max_bytes=1000)
    assert refused.value.errcode == 40007
    fake_wechat.add_media("m-old", JPEG)
    fake_wechat.age_media("m-old", 3.1)  # WeChat keeps it 3 days
    with pytest.raises(WeChatAPIError) as expired:
        await api.download_media("m-old", max_bytes=photos.PHOTO_MAX_BYTES)
    assert expired.value.errcode == 40007
    with pytest.raises(MediaTooLarge):
        await api.download_media("m-ok", max_bytes=100)
    fake_wechat.expire_tokens()  # another party took a new token: renewed once, then served
    assert (await api.download_media("m-ok", max_bytes=10_000)).content == JPEG
    calls = [c for c in fake_wechat.calls if c.path == "/cgi-bin/media/get"]
    assert calls[-1].params["media_id"] == "m-ok" and calls[-1].params["access_token"]


async def test_new_photos_are_copied_and_served_to_admins_from_the_copy(
    wx: Wechat, fake_wechat: Any
) -> None:
    fake_wechat.add_media("media-1", JPEG)
    fake_wechat.add_media("media-html", b"<html>not a photo</html>", "image/jpeg")
    fake_wechat.add_media("media-png", PNG, "image/png")
    await wx.photo("o-r", PIC, "media-1")
    await wx.photo("o-r", PIC2, "media-gone")  # never known to WeChat: 40007
    await wx.photo("o-r", PIC2, "media-html")
    await wx.photo("o-r", PIC2, "media-png")
    await wx.text("o-r", "垃圾桶满出来了")
    await wx.text("o-r", "7号楼")
    await wx.text("o-r", "不留")
    report = await GridReport.get()
    data_dir, api = _data_dir(wx), _api(wx)
    fake_wechat.fail("/cgi-bin/media/get", status=502)  # WeChat busy once: tried again later
    first = await photos.copy_new(api, data_dir, NOW)
    assert first == {"stored": 1, "failed": 2, "retry": 1}
    second = await photos.copy_new(api, data_dir, NOW)
    assert second == {"stored": 1, "failed": 0, "retry": 0}
    report = await GridReport.get(pk=report.pk)
    assert [p.get("stored") or p.get("failed") for p in report.photos or []] == [
        "1.jpg", "wechat 40007", "not an image (image/jpeg)", "4.jpg",
    ]  # fmt: skip
    assert (data_dir / "photos" / str(report.pk) / "1.jpg").read_bytes() == JPEG
    assert photos.stored(data_dir, report.pk, 4) is not None
    # Nothing left to copy: WeChat is not asked again.
    asked = len([c for c in fake_wechat.calls if c.path == "/cgi-bin/media/get"])
    assert await photos.copy_new(api, data_dir, NOW) == {"stored": 0, "failed": 0, "retry": 0}
    assert len([c for c in fake_wechat.calls if c.path == "/cgi-bin/media/get"]) == asked
    # Reports older than WeChat's 3 days are not tried.
    late = NOW + dt.timedelta(days=4)
    await GridReport.filter(pk=report.pk).update(
        photos=[{"url": PIC, "media_id": "media-1"}], created_at=NOW
    )
    assert await photos.copy_new(api, data_dir, late) == {"stored": 0, "failed": 0, "retry": 0}
    await GridReport.filter(pk=report.pk).update(photos=[
        {"url": PIC, "media_id": "media-1", "stored": "1.jpg"},
        {"url": PIC2, "media_id": "media-gone", "failed": "wechat 40007"},
    ])  # fmt: skip

    client = wx.client
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF)
    admin = await make_staff("o-admin", Role.ADMIN)
    url = f"/console/grid-reports/{report.pk}/photos/1"
    assert (await client.get(url, allow_redirects=False)).status == 302  # signed out: login
    await console_login(client, fake_wechat, staff)
    assert (await client.get(url)).status == 403
    client.session.cookie_jar.clear()
    await console_login(client, fake_wechat, admin)
    resp = await client.get(url)
    assert resp.status == 200 and resp.content_type == "image/jpeg"
    assert await resp.read() == JPEG and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get(f"/console/grid-reports/{report.pk}/photos/2")).status == 404
    assert (await client.get(f"/console/grid-reports/{report.pk}/photos/x")).status == 404
    page = await (await client.get("/console/")).text()
    reports = page[page.index('id="grid-reports"') : page.index('id="grid-volunteers"')]
    assert f'<a href="{url}" target="_blank" rel="noreferrer noopener"><img src="{url}"' in reports
    assert f'<img src="{PIC2}"' in reports  # no copy of that one: WeChat's link


async def test_the_background_copier_copies_a_new_report_s_photo(
    wx: Wechat, fake_wechat: Any
) -> None:
    fake_wechat.add_media("media-1", JPEG)
    await wx.photo("o-r", PIC, "media-1")
    await wx.text("o-r", "垃圾桶满出来了")
    await wx.text("o-r", "7号楼")
    await wx.text("o-r", "不留")  # answered at once: nothing was downloaded while answering
    report = await GridReport.get()
    assert not [c for c in fake_wechat.calls if c.path == "/cgi-bin/media/get"]
    stop = asyncio.Event()
    job = asyncio.create_task(run_photo_copier(stop, _api(wx), _data_dir(wx), lambda: NOW))
    try:
        for _ in range(100):
            if photos.stored(_data_dir(wx), report.pk, 1) is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(job, 5)
    assert photos.photo_path(_data_dir(wx), report.pk, 1).read_bytes() == JPEG
