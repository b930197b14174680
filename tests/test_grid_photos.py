"""随手拍: a photo (WeChat image message) and a place (location message) go with a grid report,
through the real /wechat callback with the XML WeChat sends; couriers and riders register as
volunteers by chat, an admin approves them, and their photos reach the grid worker of the place."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
import xmltodict

from bot.context import SHANGHAI
from canteen.cli import grant_role
from community.errors import DomainError
from grid import service
from handlers.keys import bot_key
from models.grid import CourierVolunteer, GridReport, VolunteerStatus
from models.push import OutboxMessage
from models.users import Role
from tests.conftest import signed_query, url_with, wechat_xml

NOW = dt.datetime(2026, 11, 25, 9, 5, tzinfo=SHANGHAI)
PIC = "http://mmbiz.qpic.cn/mmbiz_jpg/abc123/0"
PIC2 = "http://mmbiz.qpic.cn/mmbiz_jpg/def456/0"


class Wechat:
    """A resident's phone: text, image and location messages posted to the signed /wechat."""

    def __init__(self, client: Any) -> None:
        self.client = client
        client.app[bot_key].services.clock = lambda: NOW
        self.ids = itertools.count(910_000)

    async def post(self, user: str, **fields: Any) -> str:
        body = wechat_xml(user, MsgId=next(self.ids), **fields)
        resp = await self.client.post(url_with(signed_query()), data=body.encode())
        assert resp.status == 200, await resp.text()
        answer = await resp.text()
        return "" if answer == "success" else xmltodict.parse(answer)["xml"].get("Content", "")

    async def text(self, user: str, text: str) -> str:
        return await self.post(user, MsgType="text", Content=text)

    async def photo(self, user: str, url: str = PIC, media_id: str = "media-1") -> str:
        return await self.post(user, MsgType="image", PicUrl=url, MediaId=media_id)

    async def place(self, user: str, lat: str, lng: str, label: str) -> str:
        return await self.post(
            user, MsgType="location", Location_X=lat, Location_Y=lng, Scale=16, Label=label
        )


@pytest.fixture
async def wx(driven_client: Any) -> Wechat:
    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    await grant_role("o-grid-west", Role.VOLUNTEER, None, "6-10号楼", grid=True)
    return Wechat(driven_client)


async def pushes_to(target: str) -> list[str]:
    rows = await OutboxMessage.filter(target=target).order_by("id")
    return [m.payload["text"] for m in rows]


# ---- a resident's photo ---------------------------------------------------------------------


async def test_photo_alone_is_kept_and_the_bot_asks_what_and_where(wx: Wechat) -> None:
    answer = await wx.photo("o-r")
    assert "照片收到了" in answer and "什么事" in answer
    assert await GridReport.all().count() == 0  # nothing filed yet, nothing lost either
    assert "哪栋楼" in await wx.text("o-r", "楼道里的灯坏了，黑乎乎的")
    assert "留个电话" in await wx.text("o-r", "7号楼2单元")
    done = await wx.text("o-r", "不留")
    assert "正在转告网格员" in done and "照片1张" in done
    report = await GridReport.get()
    assert report.photos == [{"url": PIC, "media_id": "media-1"}]
    assert report.building == "7" and report.forwarded_to == ["o-grid-west"]
    (push,) = await pushes_to("o-grid-west")
    assert "附照片1张" in push and PIC in push and "楼道里的灯坏了" in push


async def test_photo_sent_right_after_a_report_joins_it(wx: Wechat) -> None:
    await wx.text("o-r", "3号楼楼道灯坏了")
    assert "正在转告网格员" in await wx.text("o-r", "不留")
    report = await GridReport.get()
    assert report.photos is None
    answer = await wx.photo("o-r")
    assert f"第{report.pk}号" in answer and "网格员能看到" in answer
    await report.refresh_from_db()
    assert report.photos == [{"url": PIC, "media_id": "media-1"}]
    first, more = await pushes_to("o-grid-east")
    assert "照片" not in first
    assert f"#{report.pk} 补充" in more and PIC in more
    assert await GridReport.all().count() == 1


async def test_two_photos_go_with_one_report(wx: Wechat) -> None:
    await wx.photo("o-r", PIC, "m1")
    answer = await wx.photo("o-r", PIC2, "m2")
    assert "共2张" in answer and "什么事" in answer
    await wx.text("o-r", "2号楼前面的树倒了，挡着路")
    done = await wx.text("o-r", "13800001111")
    assert "照片2张" in done
    report = await GridReport.get()
    assert [p["url"] for p in report.photos or []] == [PIC, PIC2]
    (push,) = await pushes_to("o-grid-east")
    assert "附照片2张" in push and PIC in push and PIC2 in push
    todo = await wx.text("o-grid-east", "我的待办")
    assert f"#{report.pk} 【有照片2张】" in todo


async def test_a_photo_while_a_report_is_asked_for_joins_it_and_the_question_stays(
    wx: Wechat,
) -> None:
    assert "什么事" in await wx.text("o-r", "找网格员")
    answer = await wx.photo("o-r")
    assert "照片收到了" in answer and "什么事" in answer
    await wx.text("o-r", "4号楼有人乱停车堵住消防通道")
    await wx.text("o-r", "不留")
    report = await GridReport.get()
    assert report.photos and report.photos[0]["url"] == PIC
    assert "（附照片1张）" in await wx.text("o-r", "我反映的事怎么样了")
    assert "拍张照片发给我" in await wx.text("o-r", "随手拍")


# ---- places -----------------------------------------------------------------------------------


async def test_location_first_is_kept_for_the_photo_and_report_that_follow(wx: Wechat) -> None:
    answer = await wx.place("o-r", "31.2304", "121.4737", "幸福里小区8号楼")
    assert "已记住您的位置" in answer and "发张照片" in answer
    assert "什么事" in await wx.photo("o-r")
    # The place named a building: not asked again.
    assert "留个电话" in await wx.text("o-r", "垃圾桶满出来了好几天没人收")
    await wx.text("o-r", "不留")
    report = await GridReport.get()
    assert (report.lat, report.lng) == (31.2304, 121.4737)
    assert report.place_label == "幸福里小区8号楼" and report.building == "8"
    assert report.forwarded_to == ["o-grid-west"]
    (push,) = await pushes_to("o-grid-west")
    assert "位置：幸福里小区8号楼" in push and "coord:31.230400,121.473700" in push
    todo = await wx.text("o-grid-west", "我的待办")
    assert "【有照片】【有位置】" in todo


async def test_location_after_a_report_joins_it(wx: Wechat) -> None:
    await wx.text("o-r", "6号楼电动车在楼道里充电")
    await wx.text("o-r", "不留")
    answer = await wx.place("o-r", "31.2311", "121.4740", "")
    report = await GridReport.get()
    assert f"第{report.pk}号" in answer
    assert (report.lat, report.lng) == (31.2311, 121.474)
    more = (await pushes_to("o-grid-west"))[-1]
    assert "补发了位置" in more and "coord:31.231100,121.474000" in more


async def test_location_while_a_search_waits_is_still_the_searchs(wx: Wechat) -> None:
    """A location the bot asked for (a search) is not taken for a report."""
    from infra import keys

    client = wx.client
    await client.app[bot_key].services.redis.set(
        keys.pending("o-r"), '{"action": "nowhere", "payload": {}}'
    )
    answer = await wx.place("o-r", "31.2304", "121.4737", "人民广场")
    assert "反映" not in answer
    assert await GridReport.all().count() == 0


# ---- malformed and odd messages ---------------------------------------------------------------


async def test_image_without_picurl_is_asked_again_politely(wx: Wechat) -> None:
    answer = await wx.post("o-r", MsgType="image", MediaId="m-only")
    assert "照片没收到" in answer
    answer = await wx.post("o-r", MsgType="image", PicUrl="javascript:alert(1)", MediaId="m")
    assert "照片没收到" in answer
    assert await GridReport.all().count() == 0
    assert "什么事" in await wx.photo("o-r")  # a good one afterwards works


async def test_photo_with_an_emergency_still_takes_the_emergency_path(wx: Wechat) -> None:
    assert "什么事" in await wx.photo("o-r")
    answer = await wx.text("o-r", "5号楼着火了 冒烟了")
    assert "119" in answer and "已通知网格员" in answer  # advice and the alert, as ever
    (alert,) = await OutboxMessage.filter(target="o-grid-east", subject__startswith="emergency:")
    assert "【紧急·着火冒烟】" in alert.payload["text"]
    # The photo that was waiting joins the emergency's report with the next message.
    answer = await wx.text("o-r", "好的")
    assert "照片已经转给网格员" in answer
    report = await GridReport.get()
    assert report.text.startswith("【紧急】") and report.photos and report.photos[0]["url"] == PIC


# ---- couriers and riders as volunteers --------------------------------------------------------


async def _register(wx: Wechat, user: str = "o-courier") -> CourierVolunteer:
    assert "姓名" in await wx.text(user, "我是快递员 想当志愿者")
    assert "手机号" in await wx.text(user, "王小明")
    assert "哪一片" in await wx.text(user, "13900002222")
    assert "哪家公司" in await wx.text(user, "幸福里小区")
    assert "等社区审核" in await wx.text(user, "顺丰快递")
    return await CourierVolunteer.get(openid=user)


async def test_courier_registers_an_admin_approves_and_their_photo_reaches_the_grid_worker(
    wx: Wechat,
) -> None:
    await grant_role("o-admin", Role.ADMIN, None, None)
    courier = await _register(wx)
    assert courier.status is VolunteerStatus.PENDING and courier.trade == "快递员"
    assert courier.company == "顺丰快递" and courier.phone == "13900002222"
    (told_admin,) = await pushes_to("o-admin")
    assert f"志愿者登记#{courier.pk}" in told_admin and "王小明" in told_admin

    # Not approved yet: a photo is an ordinary resident's report (asked for the phone).
    with pytest.raises(DomainError):
        await service.decide_volunteer("o-courier", courier.pk, True, NOW)  # not an admin
    await service.decide_volunteer("o-admin", courier.pk, True, NOW)
    (approved,) = await pushes_to("o-courier")
    assert "已通过" in approved

    # Place first (on the round): the 随手拍 starts, asks what, the phone is known.
    answer = await wx.place("o-courier", "31.2290", "121.4700", "幸福里小区3号楼")
    assert "位置收到了" in answer and "什么事" in answer
    assert "什么事" in await wx.photo("o-courier")
    done = await wx.text("o-courier", "井盖翘起来了，电动车容易摔")
    assert "已转给网格员" in done
    report = await GridReport.get()
    assert report.volunteer_id == courier.pk and report.phone == "13900002222"
    assert report.photos and report.lat == 31.229 and report.forwarded_to == ["o-grid-east"]
    (push,) = await pushes_to("o-grid-east")
    assert f"【志愿者随手拍#{report.pk}】" in push and "王小明（顺丰快递" in push and PIC in push
    assert "【志愿者随手拍】" in await wx.text("o-grid-east", "我的待办")
    # It counts as a volunteer's task, once, from the report itself (delivery.points).
    from delivery.points import ranking

    (tally,) = [t for t in await ranking(2026) if t.openid == "o-courier"]
    assert tally.points == 1 and tally.tasks == 1 and tally.reports == 1 and tally.courier


async def test_a_stranger_photo_is_a_residents_report_and_rejected_couriers_stay_residents(
    wx: Wechat,
) -> None:
    await grant_role("o-admin", Role.ADMIN, None, None)
    courier = await _register(wx, "o-rider")
    await service.decide_volunteer("o-admin", courier.pk, False, NOW)
    with pytest.raises(DomainError):  # decided once
        await service.decide_volunteer("o-admin", courier.pk, True, NOW)
    assert "没有通过" in (await pushes_to("o-rider"))[-1]
    # A rejected courier's (or a stranger's) location is kept, not a 随手拍 of its own.
    assert "发张照片" in await wx.place("o-rider", "31.2290", "121.4700", "路口")
    await wx.photo("o-stranger")
    # The words name the building: only the phone is asked.
    assert "留个电话" in await wx.text("o-stranger", "9号楼下水道堵了")
    await wx.text("o-stranger", "不留")
    report = await GridReport.get(openid="o-stranger")
    assert report.volunteer_id is None and report.photos
    assert "志愿者" not in (await pushes_to("o-grid-west"))[0]


# ---- the console: the open reports show the photo and the place; admins approve couriers -------


async def test_console_shows_photo_and_place_and_approves_a_courier(
    wx: Wechat, fake_wechat: Any
) -> None:
    from tests.console_support import console_login, make_staff

    client = wx.client
    admin = await make_staff("o-admin", Role.ADMIN)
    await wx.place("o-r", "31.2304", "121.4737", "幸福里小区8号楼")
    await wx.photo("o-r")
    await wx.text("o-r", "垃圾桶满出来了好几天没人收")
    await wx.text("o-r", "不留")
    courier = await _register(wx, "o-rider")

    csrf = await console_login(client, fake_wechat, admin)
    page = await (await client.get("/console/")).text()
    reports = page[page.index('id="grid-reports"') :]
    assert f'href="{PIC}"' in reports and 'rel="noreferrer noopener"' in reports
    assert "位置：幸福里小区8号楼（31.230400, 121.473700）" in reports
    assert "apis.map.qq.com/uri/v1/marker?marker=coord:31.230400,121.473700" in reports
    pending = page[page.index('id="grid-volunteers"') :]
    assert f"#{courier.pk} 王小明" in pending and "顺丰快递" in pending

    resp = await client.post(
        f"/console/grid-volunteers/{courier.pk}/approve", data={"csrf": csrf}
    )
    assert resp.status == 200 and "已通过" in await resp.text()
    assert (await CourierVolunteer.get(pk=courier.pk)).status is VolunteerStatus.APPROVED
    again = await client.post(f"/console/grid-volunteers/{courier.pk}/reject", data={"csrf": csrf})
    assert "已经处理过了" in await again.text()
    assert (await CourierVolunteer.get(pk=courier.pk)).status is VolunteerStatus.APPROVED
    forged = await client.post(f"/console/grid-volunteers/{courier.pk}/reject", data={"csrf": "x"})
    assert forged.status == 403


async def test_photo_while_the_emergency_asks_which_building_is_kept_for_its_report(
    wx: Wechat,
) -> None:
    answer = await wx.text("o-r", "有人摔倒了起不来")
    assert "120" in answer and "哪栋楼" in answer
    answer = await wx.photo("o-r")
    assert "照片收到了" in answer and "哪栋楼" in answer  # the emergency's question stays
    assert "已通知网格员" in await wx.text("o-r", "3号楼2单元")
    assert "照片已经转给网格员" in await wx.text("o-r", "谢谢")
    report = await GridReport.get()
    assert report.text.startswith("【紧急】") and report.photos and report.photos[0]["url"] == PIC
    assert any(PIC in p for p in await pushes_to("o-grid-east"))


# ---- the service's rules ----------------------------------------------------------------------


async def test_add_to_report_only_the_residents_own_open_report_and_at_most_nine_photos(
    wx: Wechat,
) -> None:
    report = await service.file_report(
        "o-r", "5号楼门口积水", "5号楼门口", "5", "", NOW, photos=[service.photo(PIC)]
    )
    with pytest.raises(DomainError) as other:
        await service.add_to_report("o-someone", report.pk, NOW, new_photo=service.photo(PIC2))
    assert other.value.code == "not_found"
    for n in range(service.PHOTOS_MAX - 1):
        await service.add_to_report("o-r", report.pk, NOW, new_photo=service.photo(f"{PIC}{n}"))
    with pytest.raises(DomainError) as full:
        await service.add_to_report("o-r", report.pk, NOW, new_photo=service.photo(PIC2))
    assert full.value.code == "too_many"
    await service.close_report("o-grid-east", report.pk, "已清理", NOW)
    with pytest.raises(DomainError) as closed:
        await service.add_to_report("o-r", report.pk, NOW, at=service.place(31.2, 121.4, "x"))
    assert closed.value.code == "already_closed"
    await report.refresh_from_db()
    assert len(report.photos or []) == service.PHOTOS_MAX and report.lat is None


async def test_an_unapproved_volunteer_cannot_file_as_one(wx: Wechat) -> None:
    courier = await CourierVolunteer.create(
        openid="o-c", name="张三", phone="13900001111", area="东区", company="中通", trade="快递员"
    )
    with pytest.raises(DomainError) as refused:
        await service.file_report("o-c", "路灯坏了", "东区路口", "", "", NOW, volunteer=courier)
    assert refused.value.code == "volunteer_not_approved"
    assert await GridReport.all().count() == 0


def test_the_command_line_lists_and_approves_a_courier(make_settings: Any, capsys: Any) -> None:
    import argparse
    import asyncio

    from grid import cli as grid_cli
    from infra import database

    settings = make_settings()

    async def make() -> int:
        async with database.open_database(settings):
            await CourierVolunteer.filter(openid="o-cli-courier").delete()
            v = await CourierVolunteer.create(
                openid="o-cli-courier", name="赵六", phone="13600001111", area="西区",
                company="极兔速递", trade="快递员",
            )  # fmt: skip
            return v.pk

    async def status(pk: int) -> VolunteerStatus:
        async with database.open_database(settings):
            return (await CourierVolunteer.get(pk=pk)).status

    pk = asyncio.run(make())
    assert grid_cli.cmd_list_volunteers(settings, argparse.Namespace(status="pending")) == 0
    assert f"{pk}\tpending\t快递员\t赵六" in capsys.readouterr().out
    decide = grid_cli._decide(True)
    assert decide(settings, argparse.Namespace(id=pk, by="staff-1")) == 0
    assert asyncio.run(status(pk)) is VolunteerStatus.APPROVED
    assert decide(settings, argparse.Namespace(id=pk, by="staff-1")) == 2  # decided once
    assert "已经处理过了" in capsys.readouterr().err


async def test_a_second_photo_after_the_emergency_brings_the_kept_one_along(wx: Wechat) -> None:
    await wx.text("o-r", "有人摔倒了起不来")
    await wx.photo("o-r", PIC, "m1")
    assert "已通知网格员" in await wx.text("o-r", "3号楼2单元")
    answer = await wx.photo("o-r", PIC2, "m2")
    assert "照片已经转给网格员" in answer and "已补充到您刚才反映的" in answer
    report = await GridReport.get()
    assert [p["url"] for p in report.photos or []] == [PIC, PIC2]
