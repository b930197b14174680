"""Places of the 15-minute circle: import, the index and the nearest by walking time, the chat
(the same pending-location flow as craftsmen, follow-ups), GeoJSON, the map page and the poster."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.context import SHANGHAI
from community import geo
from models.directory import Craftsman, Source, Status
from models.places import Place, PlaceSource
from places import circle, index, poster, service
from places.importer import import_file
from places.kinds import IDS, KINDS, outline, parse_kind
from settings import load_settings
from tests.directory_support import HOME, WEDNESDAY_10, freeze, north, say, send_location

ROOT = Path(__file__).resolve().parent.parent


def pdf_text(pdf: bytes) -> str:
    """The first page's text as pypdf reads it, without spaces. pypdf decodes fpdf2's ToUnicode
    map for CJK as UTF-16 with a NUL before each character (poppler's pdftotext reads the same
    file cleanly), so NULs are dropped too."""
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    return "".join(text.replace("\x00", "").split())


async def make_place(
    bot: Any, name: str, kind: str, metres_north: float, hours: str = "24/7", **extra: Any
) -> Place:
    place = await service.create(
        bot.services.redis,
        {
            "name": name,
            "kind": kind,
            "lat": north(metres_north),
            "lng": HOME[1],
            "hours": hours,
            "verified": True,
            **extra,
        },
        PlaceSource.CONSOLE,
    )
    return place


# ---- kinds and validation --------------------------------------------------------------------


def test_every_label_kind_has_a_distinct_colour_and_shape() -> None:
    from bot.nlu.labels import PLACES

    assert tuple(PLACES) == IDS
    pairs = {(k.colour, k.shape) for k in KINDS.values()}
    assert len(pairs) == len(KINDS)
    assert len({k.colour for k in KINDS.values()}) == len(KINDS)
    for k in KINDS.values():
        assert all(abs(x) <= 1.06 and abs(y) <= 1.06 for x, y in outline(k.shape))
    assert parse_kind("药房") == "pharmacy"
    assert parse_kind("菜鸟驿站") == "express"
    assert parse_kind("XX大药房") == "pharmacy"


def test_bad_values_are_refused_with_the_field() -> None:
    good = {"name": "仁心药房", "kind": "药店", "lat": 31.23, "lng": 121.47}
    assert service.clean(good)["kind"] == "pharmacy"
    for bad, field in [
        ({"lat": "nan"}, "lat"),
        ({"lng": float("inf")}, "lng"),
        ({"lat": 91}, "lat"),
        ({"name": "药房\x07"}, "name"),
        ({"address": "幸福路\x00"}, "address"),
        ({"kind": "银行"}, "kind"),
        ({"hours": "早上开"}, "hours"),
        ({"phone": "12"}, "phone"),
        ({"coord": "bd09"}, "coord"),
    ]:
        with pytest.raises(service.PlaceError) as err:
            service.clean({**good, **bad})
        assert err.value.field == field, bad


def test_wgs84_input_is_stored_as_gcj02() -> None:
    lat, lng = 31.2304, 121.4737
    out = service.clean({"name": "a", "kind": "toilet", "lat": lat, "lng": lng, "coord": "WGS-84"})
    g_lat, g_lng = geo.wgs84_to_gcj02(lat, lng)
    assert (out["lat"], out["lng"]) == (round(g_lat, 7), round(g_lng, 7))
    assert geo.haversine_m(lat, lng, out["lat"], out["lng"]) > 300  # Shanghai's shift is ~500 m


# ---- import ----------------------------------------------------------------------------------

CSV = """名称,类型,地址,纬度,经度,坐标系,营业时间,电话,服务内容
仁心大药房,药店,和平街22号,31.2275,121.4752,,每天8:00-22:00,021-63210003,医保卡
菜鸟驿站,快递驿站,3号楼底商,31.2290,121.4760,wgs84,,,代收快递
坏坐标,公厕,某路,nan,121.47,,,,
控制字符,公厕,某路\x0b口,31.23,121.47,,,,
不知道,银行,某路,31.23,121.47,,,,
"""


async def test_import_csv_reports_bad_rows_and_reimport_updates(
    client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "places.csv"
    path.write_text(CSV, encoding="utf-8")
    report = await import_file(path)
    rows = dict(report.errors)
    assert "有限" in rows[4] and "不是服务点类型" in rows[6]
    # A control character never reaches a reply: the row is refused by the places' rules, or
    # (when the shared spreadsheet reader already drops such characters) stored without it.
    kept = await Place.get_or_none(name="控制字符")
    if 5 in rows:
        assert "控制字符" in rows[5] and kept is None
    else:
        assert kept is not None and kept.address == "某路口"
    assert len(report.created) == 2 + (kept is not None)
    await Place.filter(name="控制字符").delete()
    pharmacy = await Place.get(name="仁心大药房")
    assert pharmacy.kind == "pharmacy" and pharmacy.hours == "Mo-Su 08:00-22:00"
    assert not pharmacy.verified  # waits for staff to verify
    express = await Place.get(name="菜鸟驿站")
    assert (express.lat, express.lng) != (31.2290, 121.4760)  # converted from WGS-84
    # Staff verify one; a re-import without the column leaves that alone and updates hours.
    pharmacy.verified = True
    await pharmacy.save()
    good = "\n".join(CSV.splitlines()[:3]) + "\n"
    path.write_text(good.replace("每天8:00-22:00", "每天8:00-21:00"), encoding="utf-8")
    again = await import_file(path)
    assert not again.created and len(again.updated) == 1 and again.unchanged == 1
    pharmacy = await Place.get(name="仁心大药房")
    assert pharmacy.verified and pharmacy.hours == "Mo-Su 08:00-21:00"
    assert await Place.all().count() == 2


async def test_import_xlsx_verified_list_is_searchable(
    client: Any, bot: Any, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["name", "kind", "address", "lat", "lng", "hours", "phone"])
    ws.append(["幸福路公厕", "toilet", "幸福路", north(300), HOME[1], "24/7", ""])
    ws.append(["越界", "toilet", "北极", 89.5, 0, "", ""])
    path = tmp_path / "places.xlsx"
    wb.save(path)
    report = await import_file(path, bot.services.redis, verified=True)
    assert report.created == ["幸福路公厕"]
    assert [row for row, _ in report.errors] == [3]
    found = await index.nearby(bot.services.redis, "toilet", HOME[0], HOME[1], 1000)
    assert [h.card.name for h in found] == ["幸福路公厕"]


async def test_import_refuses_a_file_beyond_the_bounds(client: Any, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(500)) + "\n", encoding="utf-8")
    with pytest.raises(service.PlaceError):
        await import_file(path)
    assert not await Place.exists()


async def _main(*args: str, **env: str) -> tuple[int, str]:
    """`python main.py ARGS` in its own process, against the test database and Redis."""
    import asyncio
    import os
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "main.py", *args, cwd=ROOT,
        env={**os.environ, "LOG_JSON": "false", **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_import_places_and_poster_commands(
    client: Any, tmp_path: Path, database_url: str, redis_url: str
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "DATA_DIR": str(tmp_path)}
    path = tmp_path / "places.csv"
    path.write_text(CSV, encoding="utf-8")
    code, out = await _main("import-places", str(path), "--dry-run", **env)
    assert code == 1 and "将新增" in out and "第4行" in out and "第6行" in out, out
    assert not await Place.exists()  # a dry run
    code, out = await _main("import-places", str(path), "--verified", **env)
    assert code == 1 and "已新增" in out
    assert await Place.filter(verified=True, name__in=["仁心大药房", "菜鸟驿站"]).count() == 2
    png = tmp_path / "poster.png"
    code, out = await _main("poster", "--out", str(png), **env)
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", out


# ---- search by walking time ------------------------------------------------------------------


async def test_nearest_by_walking_time_with_open_state_and_pace(client: Any, bot: Any) -> None:
    from places import search

    redis = bot.services.redis
    await make_place(bot, "远药房", "pharmacy", 900, "24/7")
    await make_place(bot, "近药房", "pharmacy", 300, "Mo-Su 12:00-20:00", phone="021-63210003")
    await make_place(bot, "公厕", "toilet", 100)
    hidden = await make_place(bot, "未核实药房", "pharmacy", 50)
    await service.set_verified(redis, hidden, False)
    out = await search.nearest(redis, "pharmacy", HOME[0], HOME[1], WEDNESDAY_10)
    assert [f.card.name for f in out.found] == ["近药房", "远药房"]
    assert out.found[0].minutes == 4 and out.found[0].note == "今天12:00开门"
    assert out.found[1].note == "营业中" and not out.widened
    slow = await search.nearest(redis, "pharmacy", HOME[0], HOME[1], WEDNESDAY_10, elderly=True)
    assert [f.card.name for f in slow.found] == ["近药房"]  # 675 m at an elderly pace
    assert slow.found[0].minutes == 7
    far = await search.nearest(redis, "charging", HOME[0], HOME[1], WEDNESDAY_10)
    assert far.found == []


# ---- chat ------------------------------------------------------------------------------------


async def test_chat_asks_for_the_location_then_answers_and_follows_up(
    client: Any, bot: Any
) -> None:
    freeze(bot)
    await make_place(bot, "仁心大药房", "pharmacy", 300, "Mo-Su 08:00-22:00", phone="021-63210003")
    await make_place(bot, "康宁药房", "pharmacy", 700, "Mo-Su 12:00-20:00")
    first = await say(bot, "附近有药店吗")
    assert "位置" in first
    answer = await send_location(bot, *HOME)
    assert answer.index("仁心大药房") < answer.index("康宁药房")
    assert "步行约4分钟" in answer and "营业中" in answer and "021-63210003" in answer
    assert "今天12:00开门" in answer
    closes = await say(bot, "第一个几点关门")
    assert "仁心大药房" in closes and "22:00关门" in closes
    opens = await say(bot, "第二个几点开门")
    assert "康宁药房" in opens and "12:00开门" in opens
    phone = await say(bot, "仁心电话多少")
    assert "021-63210003" in phone


async def test_a_question_about_hours_gets_the_nearest_ones_hours_first(
    client: Any, bot: Any
) -> None:
    freeze(bot)  # a Wednesday, 10:00
    await make_place(
        bot, "幸福里社区卫生服务站", "health", 300, "周一至周五 8:00-17:00；周六 8:00-12:00"
    )
    await send_location(bot, *HOME)
    answer = await say(bot, "社区医院几点开门")
    first = answer.splitlines()[0]
    assert "幸福里社区卫生服务站现在营业，17:00关门" in first
    assert "周一到周五8:00–17:00" in first and "周六8:00–12:00" in first
    assert "步行约4分钟" in answer


async def test_follow_ups_are_about_the_list_shown_last(client: Any, bot: Any) -> None:
    from tests.directory_support import make_craftsman

    freeze(bot)
    await make_craftsman(bot, "张师傅", ["tailor"], 100, "Mo-Su 08:00-18:00")
    await make_place(bot, "仁心大药房", "pharmacy", 300, "Mo-Su 08:00-22:00")
    await send_location(bot, *HOME)
    assert "张师傅" in await say(bot, "找裁缝")
    assert "仁心大药房" in await say(bot, "附近有药店吗")
    answer = await say(bot, "第一个几点关门")
    assert "仁心大药房" in answer and "22:00关门" in answer
    assert "张师傅" in await say(bot, "找裁缝")
    assert "仁心大药房" not in await say(bot, "第一个几点关门")


async def test_typed_compound_answers_a_waiting_place_search(client: Any, bot: Any) -> None:
    freeze(bot)
    await Craftsman.create(
        name="王师傅", categories=["tailor"], phone="13800000001", lat=HOME[0], lng=HOME[1],
        compound="幸福小区", status=Status.APPROVED, source=Source.IMPORT,
    )  # fmt: skip
    await make_place(bot, "幸福路公厕", "toilet", 200)
    assert "位置" in await say(bot, "哪有公厕")
    answer = await say(bot, "幸福小区")
    assert "幸福路公厕" in answer and "步行约3分钟" in answer


async def test_map_link_and_unknown_kind(client: Any, bot: Any) -> None:
    text = await say(bot, "生活圈地图")
    assert "/map/" in text


# ---- GeoJSON ---------------------------------------------------------------------------------


async def test_geojson_is_wgs84_by_default_and_gcj02_on_request(client: Any, bot: Any) -> None:
    near = await make_place(bot, "幸福路公厕", "toilet", 250)
    await make_place(bot, "远公厕", "toilet", 3000)
    await make_place(bot, "药房", "pharmacy", 100)
    resp = await client.get("/api/places", params={"kind": "toilet"})
    assert resp.status == 200 and resp.content_type == "application/geo+json"
    body = await resp.json(content_type=None)
    assert body["type"] == "FeatureCollection" and "datum" not in body
    assert {f["properties"]["name"] for f in body["features"]} == {"幸福路公厕", "远公厕"}
    feat = next(f for f in body["features"] if f["id"] == near.pk)
    lng, lat = feat["geometry"]["coordinates"]
    w_lat, w_lng = geo.gcj02_to_wgs84(near.lat, near.lng)
    assert abs(lat - w_lat) < 1e-6 and abs(lng - w_lng) < 1e-6
    resp = await client.get(
        "/api/places",
        params={"datum": "gcj02", "lat": HOME[0], "lng": HOME[1], "within_m": 1000},
    )
    body = await resp.json(content_type=None)
    assert body["datum"] == "gcj02"
    assert [f["properties"]["name"] for f in body["features"]] == ["药房", "幸福路公厕"]
    assert body["features"][1]["geometry"]["coordinates"] == [near.lng, near.lat]
    assert body["features"][1]["properties"]["walk_minutes"] == 3
    bad = await client.get("/api/places", params={"within_m": 500})
    assert bad.status == 400 and "lat" in (await bad.json())["error"]["fields"]
    doc = await (await client.get("/api/openapi.json")).json()
    op = doc["paths"]["/api/places"]["get"]
    assert "application/geo+json" in op["responses"]["200"]["content"]


async def test_admin_creates_and_verifies_a_place_over_the_api(client: Any, bot: Any) -> None:
    from handlers.api_v1 import document_key
    from models.users import Role
    from tests.api_support import Api, grant

    freeze(bot)
    api = Api(client, client.app[document_key])
    await grant("admin", Role.ADMIN)
    admin = await api.login("admin")
    body = {
        "name": "暖新驿站",
        "kind": "暖新驿站",
        "lat": HOME[0],
        "lng": HOME[1],
        "coord": "wgs84",
    }
    created = await api.call("POST", "/api/admin/places", admin, json=body)
    assert created.status == 201, created.body
    assert created.body["kind"] == "rider_station" and not created.body["verified"]
    pid = created.body["id"]
    assert (await api.get(f"/api/places/{pid}")).status == 404
    verified = await api.call("PATCH", f"/api/admin/places/{pid}", admin, json={"verified": True})
    assert verified.status == 200 and verified.body["verified"]
    assert (await api.get(f"/api/places/{pid}")).body["name"] == "暖新驿站"
    bad = await api.call("POST", "/api/admin/places", admin, json={**body, "name": "x\x01"})
    assert bad.status == 400 and "name" in bad.body["error"]["fields"]
    assert (await api.call("POST", "/api/admin/places", admin, json=body)).status == 409
    resident = await api.login("resident")
    assert (await api.call("POST", "/api/admin/places", resident, json=body)).status == 403
    lat, lng = created.body["lat"], created.body["lng"]
    near = await api.get(
        "/api/places/nearest", resident, kind="rider_station", lat=north(-100, lat), lng=lng
    )
    assert near.status == 200 and near.body["items"][0]["walk_minutes"] == 1
    assert near.body["items"][0]["open_state"] == "unknown"


# ---- map page and poster ---------------------------------------------------------------------


async def test_map_page_shows_places_but_no_craftsman_home(client: Any, bot: Any) -> None:
    from places.demo import seed_demo

    await seed_demo()
    await index.rebuild(bot.services.redis)
    await Craftsman.create(
        name="李阿姨", categories=["tailor"], phone="13800000002", lat=HOME[0], lng=HOME[1],
        address="和平里5号楼302室", status=Status.APPROVED, source=Source.SELF,
    )  # fmt: skip
    resp = await client.get("/map/")
    assert resp.status == 200
    html = await resp.text()
    assert "幸福里党群服务中心" in html and "暖新驿站" in html
    assert "302室" not in html and "13800000002" not in html
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "img-src 'self' data:;" in csp
    js = await client.get("/map/map.js")
    assert js.status == 200 and "https://" not in (await js.text()).replace("http://www.w3.org", "")
    assert re.search(r'<script src="/map/map.js">', html)


async def test_a_place_name_cannot_break_out_of_the_page(client: Any, bot: Any) -> None:
    name = "</script><!--<script>alert(1)</script>"
    await make_place(bot, name, "toilet", 100)
    html = await (await client.get("/map/")).text()
    assert "alert(1)" in html and "<script>alert" not in html and "<!--" not in html
    data = html.split('<script type="application/json" id="data">')[1].split("</script>")[0]
    import json

    assert json.loads(data)["spots"][0]["name"] == name


async def test_map_page_without_places_still_draws(client: Any) -> None:
    resp = await client.get("/map/")
    assert resp.status == 200
    html = await resp.text()
    assert '"spots": []' in html and "0个服务点" in html


async def test_map_csp_admits_only_the_configured_tile_host(make_settings: Any) -> None:
    from handlers.map_page import _csp

    assert "tiles.example.org" in _csp("https://tiles.example.org/{z}/{x}/{y}.png")
    assert "http" not in _csp(None).replace("'self'", "")


async def test_poster_png_and_pdf(client: Any, bot: Any) -> None:
    from places.demo import seed_demo

    await seed_demo()
    settings = load_settings(None, public_url="https://linli.example.org", data_dir="/tmp")
    when = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
    view = await circle.build(settings, when)
    png = poster.render(view, poster.map_url(settings), "png", when)
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    assert img.size == (1488, 2105) and len(png) > 50_000
    pdf = poster.render(view, poster.map_url(settings), "pdf", when)
    text = pdf_text(pdf)
    assert "幸福里社区" in text and "布点图" in text
    assert "仁心大药房" in text and "分钟" in text and "图例" in text
    assert "https://linli.example.org/map/" in text
    for kind in {s.kind for s in view.spots}:
        assert KINDS[kind].name in text


async def test_console_admin_edits_verifies_and_downloads_the_poster(
    client: Any, bot: Any, fake_wechat: Any
) -> None:
    from models.users import Role
    from tests.console_support import console_login, make_staff

    freeze(bot)
    admin = await make_staff("o-admin", Role.ADMIN)
    csrf = await console_login(client, fake_wechat, admin)
    place = await Place.create(
        name="社区书屋", kind="culture_sports", lat=HOME[0], lng=HOME[1], source=PlaceSource.IMPORT
    )
    page = await (await client.get("/console/places")).text()
    assert "社区书屋" in page and "待核实（1）" in page
    resp = await client.post(
        f"/console/places/{place.pk}/verify", data={"csrf": csrf, "verified": "1"}
    )
    assert "已核实" in await resp.text()
    assert (await Place.get(pk=place.pk)).verified
    found = await index.nearby(bot.services.redis, "culture_sports", HOME[0], HOME[1], 100)
    assert [h.card.name for h in found] == ["社区书屋"]
    form = {"csrf": csrf, "name": "社区书屋", "kind": "culture_sports", "lat": str(HOME[0]),
            "lng": str(HOME[1]), "hours": "早上开"}  # fmt: skip
    resp = await client.post(f"/console/places/{place.pk}", data=form)
    assert "没有保存" in await resp.text() and "营业时间" in await resp.text()
    form["hours"] = "周二至周日 9:00-20:00"
    resp = await client.post(f"/console/places/{place.pk}", data=form)
    assert "已保存" in await resp.text()
    assert (await Place.get(pk=place.pk)).hours == "Tu-Su 09:00-20:00"
    refused = await client.post(f"/console/places/{place.pk}", data={**form, "csrf": "x"})
    assert refused.status == 403
    pdf = await client.get("/console/places/poster.pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    text = pdf_text(await pdf.read())
    assert "社区书屋" in text
    resident = await client.get("/console/places", allow_redirects=False)
    assert resident.status == 200  # still the admin's session
