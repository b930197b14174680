"""Meal delivery in the mini-program API: recipients, sign-ups with cutoff and capacity answers,
cancelling only one's own, volunteers' roster lines and reports, and the staff day view and CSV.

The app runs without its scheduler (driven_client); the test moves the clock the handlers read
(app[bot_key].services.clock) and builds rosters with scheduler.tick, as tests/test_delivery.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.context import SHANGHAI
from canteen.cli import add_canteen, grant_role
from delivery import roster, scheduler, service
from handlers.api_v1 import document_key
from handlers.keys import bot_key
from models.canteen import CanteenMeal, Meal
from models.delivery import MealSlot, Outcome, Recipient, Signup, SignupStatus
from models.users import Role
from tests.api_support import Api, clear_delivery, openid_of
from tests.conftest import lunch_and_dinner_canteen

WED = dt.date(2026, 11, 25)
THU, FRI, SAT = (WED + dt.timedelta(days=n) for n in (1, 2, 3))


def at(day: dt.date, hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=SHANGHAI)


class World:
    def __init__(self, client: TestClient, api: Api) -> None:
        self.api = api
        self.when = at(WED, "10:00")  # lunch sign-ups for today closed at 09:30
        client.app[bot_key].services.clock = lambda: self.when
        self.tokens: dict[str, str] = {}
        self.canteen: Any = None
        self.other: Any = None

    async def call(self, who: str, method: str, path: str, **kw: Any) -> Any:
        return await self.api.call(method, path, self.tokens[who], **kw)

    async def recipient(self, who: str, label: str, address: str, phone: str) -> int:
        body = {"label": label, "address": address, "phone": phone}
        answer = await self.call(who, "POST", "/api/me/recipients", json=body)
        assert answer.status in (200, 201), answer.body
        return int(answer.body["id"])

    async def sign_up(self, who: str, rid: int, *days: dt.date, count: int = 1, **kw: Any) -> Any:
        body = {
            "recipient_id": rid,
            "meal": kw.get("meal", "lunch"),
            "dates": [d.isoformat() for d in days],
            "count": count,
        }
        return await self.call(who, "POST", "/api/me/signups", json=body)


@pytest.fixture
async def w(driven_client: TestClient) -> AsyncIterator[World]:
    api = Api(driven_client, driven_client.app[document_key])
    world = World(driven_client, api)
    world.canteen = await lunch_and_dinner_canteen()
    world.other = await add_canteen("和平里食堂", "1号楼", None, None, [], [])
    await grant_role(openid_of("staff"), Role.CANTEEN_STAFF, world.canteen.pk, None)
    await grant_role(openid_of("staff2"), Role.CANTEEN_STAFF, world.other.pk, None)
    await grant_role(openid_of("vol_a"), Role.VOLUNTEER, None, "1-5号楼")
    await grant_role(openid_of("vol_b"), Role.VOLUNTEER, None, "6、7、8号楼")
    await grant_role(openid_of("vol_far"), Role.VOLUNTEER, world.other.pk, None)
    for code in ("a", "b", "c", "staff", "staff2", "vol_a", "vol_b", "vol_far"):
        world.tokens[code] = await api.login(code)
    yield world
    await clear_delivery()


# ---- recipients ------------------------------------------------------------------------------


async def test_recipients_use_the_chat_forms_checks(w: World) -> None:
    bad = {"label": " ", "address": "家里", "phone": "12345", "emergency_phone": "abc"}
    answer = await w.call("a", "POST", "/api/me/recipients", json=bad)
    assert answer.status == 400 and answer.body["error"]["code"] == "invalid"
    fields = answer.body["error"]["fields"]
    assert set(fields) == {"label", "address", "phone", "emergency_phone"}
    assert "没看到楼号" in fields["address"] and "电话号码不对" in fields["phone"]
    no_room = await w.call(
        "a", "POST", "/api/me/recipients", json={**bad, "label": "我妈", "address": "5号楼"}
    )
    assert "门牌" in no_room.body["error"]["fields"]["address"]
    shape = await w.call("a", "POST", "/api/me/recipients", json={"label": "我妈", "diet": 3})
    assert shape.body["error"]["fields"] == {"address": "必填", "phone": "必填", "diet": "应为文字"}
    assert await Recipient.all().count() == 0

    body = {
        "label": "我妈",
        "address": " 3号楼 2单元 401",
        "phone": "138 1234 5678",
        "emergency_phone": "",
        "diet": "少盐",
    }
    created = await w.call("a", "POST", "/api/me/recipients", json=body)
    assert created.status == 201
    assert created.body["address"] == "3号楼2单元401" and created.body["building"] == "3"
    assert created.body["phone"] == "13812345678" and created.body["emergency_phone"] is None
    again = await w.call("a", "POST", "/api/me/recipients", json={**body, "phone": "021-12345678"})
    assert again.status == 200 and again.body["id"] == created.body["id"]
    assert again.body["phone"] == "021-12345678"
    mine = await w.call("a", "GET", "/api/me/recipients")
    assert [r["label"] for r in mine.body["items"]] == ["我妈"]
    assert (await w.call("b", "GET", "/api/me/recipients")).body["items"] == []

    rid = created.body["id"]
    moved = await w.call(
        "a",
        "PATCH",
        f"/api/me/recipients/{rid}",
        json={"address": "12栋1单元302室", "emergency_phone": "13900001111"},
    )
    assert moved.status == 200 and moved.body["building"] == "12"
    assert moved.body["emergency_phone"] == "13900001111" and moved.body["diet"] == "少盐"
    myself = await w.call(
        "a",
        "POST",
        "/api/me/recipients",
        json={"label": "自己", "address": "5号楼301", "phone": "13812345678"},
    )
    assert myself.status == 201 and myself.body["label"] == "本人"  # as the chat form stores it
    taken = await w.call("a", "PATCH", f"/api/me/recipients/{rid}", json={"label": "本人"})
    assert taken.status == 400 and "label" in taken.body["error"]["fields"]
    empty = await w.call("a", "PATCH", f"/api/me/recipients/{rid}", json={})
    assert empty.status == 400
    bad_phone = await w.call("a", "PATCH", f"/api/me/recipients/{rid}", json={"phone": "1"})
    assert set(bad_phone.body["error"]["fields"]) == {"phone"}
    theirs = await w.call("b", "PATCH", f"/api/me/recipients/{rid}", json={"diet": "不吃辣"})
    assert theirs.status == 404
    r = await Recipient.get(pk=rid)
    assert (r.label, r.address, r.phone, r.diet) == (
        "我妈",
        "12栋1单元302室",
        "021-12345678",
        "少盐",
    )


# ---- sign-ups --------------------------------------------------------------------------------


async def test_sign_up_answers_per_day_and_offers_the_next_open_one(w: World) -> None:
    rid = await w.recipient("a", "我妈", "3号楼2单元401", "13812345678")
    answer = await w.sign_up("a", rid, WED, THU, FRI, count=2)
    assert answer.status == 201
    assert [(r["date"], r["result"]) for r in answer.body["results"]] == [
        ("2026-11-25", "closed"),
        ("2026-11-26", "booked"),
        ("2026-11-27", "booked"),
    ]
    assert answer.body["results"][0]["result_name"] == "已过报名截止时间"
    assert answer.body["next_open_day"] == SAT.isoformat()  # after the last day asked for
    assert answer.body["canteen_id"] == w.canteen.pk and answer.body["meal_name"] == "午餐"

    same = await w.sign_up("a", rid, THU, count=2)
    assert same.status == 200 and same.body["results"][0]["result"] == "already"
    more = await w.sign_up("a", rid, THU, count=3)
    assert more.status == 201 and more.body["results"][0]["result"] == "updated"
    assert (await MealSlot.get(date=THU, meal=Meal.LUNCH)).booked == 3
    assert same.body["next_open_day"] is None

    mine = await w.call("a", "GET", "/api/me/signups")
    assert [(s["date"], s["count"], s["label"]) for s in mine.body["items"]] == [
        ("2026-11-26", 3, "我妈"),
        ("2026-11-27", 2, "我妈"),
    ]
    assert mine.body["items"][0]["cutoff_at"] == "2026-11-26T09:30:00+08:00"
    assert mine.body["items"][0]["can_cancel"] is True and mine.body["total"] == 2
    paged = await w.call("a", "GET", "/api/me/signups", params={"per_page": 1, "page": 2})
    assert [s["date"] for s in paged.body["items"]] == ["2026-11-27"] and not paged.body["has_more"]
    assert (await w.call("b", "GET", "/api/me/signups")).body["items"] == []


async def test_sign_up_validation_writes_nothing(w: World) -> None:
    rid = await w.recipient("a", "本人", "5号楼301", "13812345678")
    past = await w.sign_up("a", rid, THU, dt.date(2026, 11, 24))
    assert past.status == 400 and past.body["error"]["fields"] == {"dates.1": "不能报过去的日子。"}
    breakfast = await w.sign_up("a", rid, THU, meal="breakfast")
    assert breakfast.body["error"]["fields"] == {"meal": "食堂只送午餐、晚餐。"}
    too_many = await w.sign_up("a", rid, THU, count=9)
    assert too_many.body["error"]["fields"] == {"count": "不能大于5"}
    shape = await w.call(
        "a", "POST", "/api/me/signups", json={"recipient_id": rid, "meal": "lunch", "dates": []}
    )
    assert shape.body["error"]["fields"] == {"dates": "至少1项"}
    bad_day = await w.call(
        "a",
        "POST",
        "/api/me/signups",
        json={"recipient_id": rid, "meal": "lunch", "dates": ["2026-02-30"]},
    )
    assert bad_day.status == 400 and "dates.0" in bad_day.body["error"]["fields"]
    no_canteen = await w.call(
        "a",
        "POST",
        "/api/me/signups",
        json={"recipient_id": rid, "canteen_id": 9999, "meal": "lunch", "dates": ["2026-11-26"]},
    )
    assert no_canteen.body["error"]["fields"] == {"canteen_id": "没有这个食堂"}
    huge = await w.sign_up("a", 2**40, THU)
    assert huge.status == 400 and set(huge.body["error"]["fields"]) == {"recipient_id"}
    # Someone else's recipient is not there at all for them.
    assert (await w.sign_up("b", rid, THU)).status == 404
    assert await Signup.all().count() == 0 and await MealSlot.all().count() == 0


async def test_full_meal_says_so_and_offers_the_next_day(w: World) -> None:
    await CanteenMeal.filter(canteen=w.canteen, meal=Meal.LUNCH).update(delivery_capacity=1)
    ra = await w.recipient("a", "本人", "5号楼301", "13812345678")
    rb = await w.recipient("b", "本人", "6号楼301", "13812345679")
    assert (await w.sign_up("a", ra, THU)).status == 201
    full = await w.sign_up("b", rb, THU)
    assert full.status == 200
    assert full.body["results"] == [
        {"date": "2026-11-26", "result": "full", "result_name": "名额已满"}
    ]
    assert full.body["next_open_day"] == FRI.isoformat()
    assert (await MealSlot.get(date=THU)).booked == 1
    assert not await Signup.filter(recipient_id=rb).exists()


async def test_cancel_only_my_own_and_only_before_the_cutoff(w: World) -> None:
    rid = await w.recipient("a", "我妈", "3号楼2单元401", "13812345678")
    booked = await w.sign_up("a", rid, THU, FRI)
    assert booked.status == 201
    thu, fri = await Signup.filter(recipient_id=rid).order_by("id")
    # Resident B can neither cancel nor see A's sign-up.
    other = await w.call("b", "DELETE", f"/api/me/signups/{thu.pk}")
    assert other.status == 404 and other.body["error"]["code"] == "not_found"
    assert (await Signup.get(pk=thu.pk)).status == SignupStatus.BOOKED

    done = await w.call("a", "DELETE", f"/api/me/signups/{thu.pk}")
    assert done.status == 200 and done.body["status"] == "cancelled"
    assert done.body["can_cancel"] is False
    assert (await MealSlot.get(date=THU, meal=Meal.LUNCH)).booked == 0
    twice = await w.call("a", "DELETE", f"/api/me/signups/{thu.pk}")
    assert twice.status == 409 and twice.body["error"]["code"] == "already_cancelled"

    w.when = at(FRI, "09:31")  # Friday's lunch closed a minute ago
    late = await w.call("a", "DELETE", f"/api/me/signups/{fri.pk}")
    assert late.status == 409 and late.body["error"]["code"] == "past_cutoff"
    assert "饭还会按时送到" in late.body["error"]["message"]
    assert (await Signup.get(pk=fri.pk)).status == SignupStatus.BOOKED
    assert (await MealSlot.get(date=FRI, meal=Meal.LUNCH)).booked == 1
    listed = await w.call("a", "GET", "/api/me/signups")
    assert [(s["date"], s["can_cancel"]) for s in listed.body["items"]] == [("2026-11-27", False)]
    assert (await w.call("a", "DELETE", "/api/me/signups/99999")).status == 404
    assert (await w.call("a", "DELETE", f"/api/me/signups/{2**40}")).status == 404


# ---- volunteers and staff --------------------------------------------------------------------


async def _three_households(w: World) -> dict[str, int]:
    """Lunch on Thursday for buildings 3 (a's mother), 7 (b) and 12 (c); roster at 09:30."""
    ids = {}
    for who, label, address in (
        ("a", "我妈", "3号楼2单元401"),
        ("b", "本人", "7号楼101"),
        ("c", "本人", "12号楼502"),
    ):
        rid = await w.recipient(who, label, address, "13800000001")
        assert (await w.sign_up(who, rid, THU)).status == 201
        ids[who] = (await Signup.get(recipient_id=rid)).pk
    assert await scheduler.tick(at(THU, "09:30")) == {"rosters": 1, "overdue": 0}
    w.when = at(THU, "11:40")
    return ids


async def test_volunteers_see_their_areas_and_report(w: World) -> None:
    ids = await _three_households(w)
    a_view = await w.call("vol_a", "GET", "/api/volunteer/roster")
    assert a_view.body["date"] == "2026-11-26"
    [line] = a_view.body["lines"]
    assert line["id"] == ids["a"] and line["line_no"] == 1 and line["area"] == "1-5号楼"
    assert line["text"] == "1. 3号楼2单元401｜1份｜电话 13800000001｜家属代订（我妈）"
    assert line["emergency_phone"] is None
    b_view = await w.call("vol_b", "GET", "/api/volunteer/roster")
    assert [x["address"] for x in b_view.body["lines"]] == ["7号楼101"]
    # A volunteer of another canteen sees nothing here; building 12 is nobody's (staff get it).
    assert (await w.call("vol_far", "GET", "/api/volunteer/roster")).body["lines"] == []
    assert (await w.call("a", "GET", "/api/volunteer/roster")).status == 403

    path = "/api/volunteer/roster/{}/report"
    not_mine = await w.call("vol_a", "POST", path.format(ids["b"]), json={"outcome": "delivered"})
    assert not_mine.status == 404
    assert (await Signup.get(pk=ids["b"])).outcome is None
    bad = await w.call("vol_a", "POST", path.format(ids["a"]), json={"outcome": "lost"})
    assert bad.status == 400 and "outcome" in bad.body["error"]["fields"]
    ok = await w.call("vol_a", "POST", path.format(ids["a"]), json={"outcome": "delivered"})
    assert ok.status == 200 and ok.body["alerted"] == 0
    assert ok.body["line"]["outcome"] == "delivered" and ok.body["line"]["outcome_name"] == "已送达"
    assert ok.body["line"]["reported_at"].startswith("2026-11-26T11:40")
    nobody = await w.call("vol_b", "POST", path.format(ids["b"]), json={"outcome": "no_answer"})
    assert nobody.status == 200 and nobody.body["alerted"] >= 1  # as "2 没人" in the chat
    signup = await Signup.get(pk=ids["b"])
    assert signup.outcome is Outcome.NO_ANSWER and signup.reported_by == openid_of("vol_b")
    assert signup.alerted_at is not None

    # The staff view shows what the volunteers reported.
    staff = await w.call(
        "staff", "GET", f"/api/canteens/{w.canteen.pk}/deliveries", params={"date": "2026-11-26"}
    )
    assert staff.status == 200 and staff.body["total"] == 3
    assert [(x["line_no"], x["outcome"]) for x in staff.body["items"]] == [
        (1, "delivered"),
        (2, "no_answer"),
        (3, None),
    ]
    assert staff.body["items"][2]["area"] == "未分片区"
    [lunch] = staff.body["meals"]
    assert lunch == {
        "meal": "lunch",
        "meal_name": "午餐",
        "capacity": 50,
        "booked": 3,
        "roster_built": True,
        "households": 3,
        "delivered": 1,
        "no_answer": 1,
        "not_home": 0,
        "unreported": 1,
    }
    page = await w.call(
        "staff",
        "GET",
        f"/api/canteens/{w.canteen.pk}/deliveries",
        params={"date": "2026-11-26", "per_page": 2, "page": 2},
    )
    assert [x["line_no"] for x in page.body["items"]] == [3] and page.body["has_more"] is False
    today = await w.call("staff", "GET", f"/api/canteens/{w.canteen.pk}/deliveries")
    assert today.body["date"] == "2026-11-26"  # the clock's day by default
    dinner = await w.call(
        "staff", "GET", f"/api/canteens/{w.canteen.pk}/deliveries", params={"meal": "dinner"}
    )
    assert dinner.body["items"] == [] and dinner.body["meals"] == []
    other = await w.call("staff2", "GET", f"/api/canteens/{w.canteen.pk}/deliveries")
    assert other.status == 403
    assert (await w.call("staff", "GET", "/api/canteens/9999/deliveries")).status == 404


async def test_report_goes_to_the_line_asked_for_when_two_rosters_share_numbers(
    w: World,
) -> None:
    """Lunch and dinner both have a line 1; the chat's "1 送到" means the latest roster, the
    API names the sign-up, so the lunch line is the one reported even after dinner's roster."""
    rid = await w.recipient("a", "本人", "3号楼401", "13812345678")
    await w.sign_up("a", rid, THU)
    await w.sign_up("a", rid, THU, meal="dinner")
    await scheduler.tick(at(THU, "09:30"))
    await scheduler.tick(at(THU, "15:00"))
    w.when = at(THU, "17:10")
    lunch, dinner = await Signup.filter(recipient_id=rid).order_by("id")
    assert lunch.line_no == dinner.line_no == 1
    lines = (await w.call("vol_a", "GET", "/api/volunteer/roster")).body["lines"]
    assert [(x["meal"], x["line_no"]) for x in lines] == [("lunch", 1), ("dinner", 1)]
    answer = await w.call(
        "vol_a", "POST", f"/api/volunteer/roster/{lunch.pk}/report", json={"outcome": "not_home"}
    )
    assert answer.status == 200 and answer.body["line"]["meal"] == "lunch"
    assert (await Signup.get(pk=lunch.pk)).outcome is Outcome.NOT_HOME
    assert (await Signup.get(pk=dinner.pk)).outcome is None


async def test_csv_export_for_staff_and_admins_only(w: World) -> None:
    ids = await _three_households(w)
    path = "/api/volunteer/roster/{}/report"
    await w.call("vol_a", "POST", path.format(ids["a"]), json={"outcome": "delivered"})
    url = f"/api/canteens/{w.canteen.pk}/deliveries.csv"
    answer = await w.call("staff", "GET", url, params={"date": "2026-11-26"})
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "deliveries-" in answer.headers["Content-Disposition"]
    text = answer.body.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["line"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["outcome"] == "delivered" and rows[0]["ordered_for"] == "我妈"
    assert rows[1]["outcome"] == "" and rows[2]["area"] == "未分片区"
    assert text == await roster.export_csv(w.canteen.pk, THU)
    await grant_role(openid_of("boss"), Role.ADMIN, None, None)
    boss = await w.api.login("boss")
    assert (await w.api.call("GET", url, boss, params={"date": "2026-11-26"})).status == 200
    for who in ("staff2", "vol_a", "a"):
        refused = await w.call(who, "GET", url)
        assert refused.status == 403 and refused.body["error"]["code"] == "forbidden"
    bad = await w.call("staff", "GET", url, params={"date": "26/11"})
    assert bad.status == 400 and "date" in bad.body["error"]["fields"]


async def test_service_helpers_check_ownership(w: World) -> None:
    mine = await service.save_recipient(
        "o-x", label="本人", address="3号楼401", building="3", phone="13812345678"
    )
    assert await service.own_recipient("o-x", mine.pk) == mine
    assert await service.own_recipient("o-y", mine.pk) is None
    meal = await CanteenMeal.get(canteen=w.canteen, meal=Meal.LUNCH)
    await service.book(mine, meal, THU, 1, at(WED, "08:00"))
    signup = await Signup.get(recipient=mine)
    found = await service.own_signup("o-x", signup.pk)
    assert found is not None and found.slot.date == THU and found.recipient.label == "本人"
    assert await service.own_signup("o-y", signup.pk) is None
    updated = await service.update_recipient(mine, address="5号楼101", building="5")
    assert (await Recipient.get(pk=mine.pk)).building == "5" and updated.address == "5号楼101"
