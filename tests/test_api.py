"""The mini-program API: login, the endpoints × roles matrix, validation, rate limits,
moderation, pagination, and the OpenAPI document (every answer is checked against it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from openapi_spec_validator import validate as validate_spec

from bot.context import SHANGHAI
from canteen.cli import add_canteen, grant_role
from handlers.api_v1 import document_key
from infra import keys
from main import create_app
from models.canteen import Menu, MenuSubscription
from models.directory import Complaint, Craftsman, Review, Status
from models.users import Role, User
from tests.api_support import Api, clear_delivery, grant, openid_of, seed_delivery
from tests.directory_support import HOME, make_craftsman

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # a Wednesday morning
REGISTRATION = {
    "name": "李师傅",
    "categories": ["裁缝", "shoe_repair"],
    "description": "改裤脚、换拉链，可上门",
    "lat": HOME[0],
    "lng": HOME[1],
    "address": "幸福小区3号楼",
    "hours": "每天8:00-18:00",
    "phone": "13800138000",
}


@pytest.fixture
async def api(client: Any, bot: Any) -> Api:
    bot.services.clock = lambda: NOW
    return Api(client, client.app[document_key])


# ---- login -----------------------------------------------------------------------------------


async def test_login_gives_our_own_token_never_the_session_key(api: Api, fake_wechat: Any) -> None:
    answer = await api.call("POST", "/api/login", json={"code": "abc"})
    assert answer.status == 200 and answer.body["token_type"] == "Bearer"
    assert "session_key" not in str(answer.body)
    token = answer.body["token"]
    redis = api.client.app[keys_redis()]
    stored = [k async for k in redis.scan_iter(keys.API_SESSION + "*")]
    assert len(stored) == 1 and token not in stored[0]  # only a hash of the token is kept
    assert 0 < await redis.ttl(stored[0]) <= 7 * 24 * 3600
    assert "session_key" not in (await redis.get(stored[0]))
    me = await api.get("/api/me", token)
    assert me.status == 200 and me.body["roles"] == [] and me.body["craftsman_id"] is None
    user = await User.get(openid=openid_of("abc"))
    assert user.channel == "miniprogram" and me.body["user_id"] == user.pk
    # Logging in again is the same person; logging out ends only that token.
    token2 = await api.login("abc")
    assert (await api.get("/api/me", token2)).body["user_id"] == user.pk
    assert (await api.call("POST", "/api/logout", token)).status == 204
    gone = await api.get("/api/me", token)
    assert gone.status == 401 and gone.body["error"]["code"] == "unauthenticated"
    assert (await api.get("/api/me", token2)).status == 200


async def test_login_failures_are_clear(api: Api, fake_wechat: Any) -> None:
    bad = await api.call("POST", "/api/login", json={"code": "bad-code"})
    assert bad.status == 400 and "code" in bad.body["error"]["fields"]
    missing = await api.call("POST", "/api/login", json={})
    assert missing.status == 400 and missing.body["error"]["fields"] == {"code": "必填"}
    fake_wechat.fail("/sns/jscode2session", status=502)
    down = await api.call("POST", "/api/login", json={"code": "abc"})
    assert down.status == 503 and down.body["error"]["code"] == "unavailable"
    for header in ("Bearer nonsense", "Basic abc", ""):
        resp = await api.client.get("/api/me", headers={"Authorization": header})
        assert resp.status == 401
    assert await User.all().count() == 0


def keys_redis() -> Any:
    from handlers.keys import redis_key

    return redis_key


# ---- the endpoints × roles matrix ------------------------------------------------------------

ROLES = ["anon", "resident", "volunteer", "craftsman_b", "staff2", "staff1", "craftsman_a", "admin"]
CODES = {
    "resident": "r",
    "volunteer": "v",
    "craftsman_b": "cb",
    "staff2": "s2",
    "staff1": "s1",
    "craftsman_a": "ca",
    "admin": "ad",
}


@dataclass
class Case:
    method: str
    template: str
    expect: dict[str, int]  # role → status; roles not named get `default`
    default: int = 200
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    public: bool = False

    def status_for(self, role: str) -> int:
        if role == "anon" and not self.public:
            return self.expect.get("anon", 401)
        return self.expect.get(role, self.default)


ONLY_ADMIN = {r: 403 for r in ROLES if r not in {"anon", "admin"}}
ONLY_OWNER = {r: 403 for r in ROLES if r not in {"anon", "craftsman_a"}}
# The resident's own recipient and sign-ups: invisible (404) to everybody else.
ONLY_RESIDENT = {r: 404 for r in ROLES if r not in {"anon", "resident"}}
ONLY_VOLUNTEER = {r: 403 for r in ROLES if r not in {"anon", "volunteer"}}
ONLY_STAFF1 = {r: 403 for r in ROLES if r not in {"anon", "staff1", "admin"}}

CASES = [
    Case("POST", "/api/login", {}, json={"code": "matrix"}, public=True),
    Case("POST", "/api/logout", {}, default=204),
    Case("GET", "/api/me", {}),
    Case("GET", "/api/me/menu-subscription", {}),
    Case("PUT", "/api/me/menu-subscription", {}, json={"active": True}),
    Case("PUT", "/api/me/walking-pace", {}, json={"elderly_pace": True}),
    Case(
        "GET",
        "/api/craftsmen",
        {},
        params={"category": "tailor", "lat": HOME[0], "lng": HOME[1]},
    ),
    Case(
        "POST",
        "/api/craftsmen",
        {"craftsman_a": 409, "craftsman_b": 409},
        default=201,
        json=REGISTRATION,
    ),
    Case("GET", "/api/craftsmen/{a}", {}),
    Case("PATCH", "/api/craftsmen/{a}", ONLY_OWNER, json={"description": "改裤脚、修拉链"}),
    Case("PUT", "/api/craftsmen/{a}/availability", ONLY_OWNER, json={"paused": True}),
    Case("GET", "/api/craftsmen/{a}/reviews", {}),
    Case("POST", "/api/craftsmen/{a}/reviews", {}, default=201, json={"stars": 5, "text": "好"}),
    Case("POST", "/api/craftsmen/{a}/complaints", {}, default=201, json={"reason": "收费太高"}),
    Case("GET", "/api/admin/craftsmen", ONLY_ADMIN),
    Case("POST", "/api/admin/craftsmen/{p}/approve", ONLY_ADMIN),
    Case("POST", "/api/admin/craftsmen/{p}/reject", {**ONLY_ADMIN, "admin": 204}),
    Case("POST", "/api/admin/craftsmen/{s}/reinstate", ONLY_ADMIN),
    Case("GET", "/api/admin/complaints", ONLY_ADMIN),
    Case("POST", "/api/admin/complaints/{c}/decision", ONLY_ADMIN, json={"upheld": False}),
    Case("GET", "/api/canteens", {}),
    Case("GET", "/api/canteens/{c1}", {}),
    Case("GET", "/api/canteens/{c1}/menus", {}, params={"days": 7}),
    Case(
        "PUT",
        "/api/canteens/{c1}/menus/2026-11-26/lunch",
        {**{r: 403 for r in ROLES if r != "anon"}, "staff1": 201, "admin": 200},
        json={"dishes": [{"name": "红烧肉", "kind": "hot"}], "price_cents": 1000},
    ),
    Case("GET", "/api/me/recipients", {}),
    Case(
        "POST",
        "/api/me/recipients",
        {},
        default=201,
        json={"label": "本人", "address": "5号楼301", "phone": "13812345678"},
    ),
    Case("PATCH", "/api/me/recipients/{rcp}", ONLY_RESIDENT, json={"diet": "不吃辣"}),
    Case("GET", "/api/me/signups", {}),
    Case(
        "POST",
        "/api/me/signups",
        {**ONLY_RESIDENT, "resident": 201},
        json={"recipient_id": "{rcp}", "meal": "lunch", "dates": ["2026-11-27"], "count": 1},
    ),
    Case("DELETE", "/api/me/signups/{g}", ONLY_RESIDENT),
    Case("GET", "/api/volunteer/roster", ONLY_VOLUNTEER),
    Case(
        "POST",
        "/api/volunteer/roster/{line}/report",
        ONLY_VOLUNTEER,
        json={"outcome": "delivered"},
    ),
    Case("GET", "/api/canteens/{c1}/deliveries", ONLY_STAFF1),
    Case("GET", "/api/canteens/{c1}/deliveries.csv", ONLY_STAFF1, params={"date": "2026-11-25"}),
    Case("GET", "/api/canteens/{c1}/subsidy", ONLY_STAFF1, params={"month": "2026-11"}),
    Case("GET", "/api/canteens/{c1}/subsidy.csv", ONLY_STAFF1),
    # Any canteen's staff or an admin sets a tier; the resident never their own.
    Case(
        "PUT",
        "/api/delivery/recipients/{rcp}/tier",
        {r: 403 for r in ROLES if r not in {"anon", "staff1", "staff2", "admin"}},
        json={"tier": "age80"},
    ),
    Case("GET", "/api/places", {}, params={"kind": "pharmacy"}, public=True),
    Case(
        "GET",
        "/api/places/nearest",
        {},
        params={"kind": "pharmacy", "lat": HOME[0], "lng": HOME[1]},
    ),
    Case("GET", "/api/places/{pl}", {}, public=True),
    Case(
        "POST",
        "/api/admin/places",
        ONLY_ADMIN,
        default=201,
        json={"name": "幸福路公厕", "kind": "公厕", "lat": HOME[0], "lng": HOME[1]},
    ),
    Case("PATCH", "/api/admin/places/{pl}", ONLY_ADMIN, json={"phone": "021-63210003"}),
    Case("GET", "/api/openapi.json", {}, public=True),
    Case("POST", "/api/nlu/parse", {}, json={"text": "找裁缝"}, public=True),
]


def _template(path: str) -> str:
    """A case path → the documented path it exercises."""
    return (
        path.replace("{a}", "{craftsman_id}")
        .replace("{p}", "{craftsman_id}")
        .replace("{s}", "{craftsman_id}")
        .replace("{c}", "{complaint_id}")
        .replace("{c1}", "{canteen_id}")
        .replace("{rcp}", "{recipient_id}")
        .replace("{g}", "{signup_id}")
        .replace("{line}", "{signup_id}")
        .replace("{pl}", "{place_id}")
        .replace("2026-11-26/lunch", "{date}/{meal}")
    )


@pytest.fixture
async def world(api: Api, bot: Any) -> AsyncIterator[dict[str, Any]]:
    """Two canteens, two craftsmen with their own entries, staff of each canteen, an admin, a
    volunteer for buildings 1-5, and the resident's lunch orders for their mother (today's on
    the roster, tomorrow's still cancellable)."""
    c1 = await add_canteen("幸福里爱心食堂", "3号楼底商", 31.23, 121.47, [], ["lunch="])
    c2 = await add_canteen("和平里食堂", "1号楼", None, None, [], [])
    await grant("s1", Role.CANTEEN_STAFF, c1)
    await grant("s2", Role.CANTEEN_STAFF, c2)
    await grant("ad", Role.ADMIN)
    await grant_role(openid_of("v"), Role.VOLUNTEER, None, "1-5号楼")
    a = await make_craftsman(bot, "王师傅", ["tailor"], 100, openid=openid_of("ca"))
    await make_craftsman(bot, "赵师傅", ["shoe_repair"], 200, openid=openid_of("cb"))
    p = await make_craftsman(bot, "新师傅", ["tailor"], 300, status=Status.PENDING)
    s = await make_craftsman(bot, "停用师傅", ["tailor"], 400, status=Status.SUSPENDED)
    c = await Complaint.create(craftsman=a, reason="迟到", complainant="o-x")
    tokens = {role: await api.login(code) for role, code in CODES.items()}
    from models.places import Place

    pl = await Place.create(
        name="仁心药房", kind="pharmacy", lat=HOME[0], lng=HOME[1], verified=True
    )
    ids = {"a": a.pk, "p": p.pk, "s": s.pk, "c": c.pk, "c1": c1.pk, "pl": pl.pk}
    ids.update(await seed_delivery(c1, "r", NOW.date()))
    yield {"tokens": tokens, "ids": ids}
    await clear_delivery()


def test_the_matrix_covers_every_documented_operation(client: Any) -> None:
    documented = {
        (method.upper(), path)
        for path, item in client.app[document_key]["paths"].items()
        for method in item
    }
    covered = {(c.method, _template(c.template)) for c in CASES}
    assert covered == documented


def _fill(body: Any, ids: dict[str, int]) -> Any:
    """A case's body names world ids as "{rcp}"; put the ids in."""
    if isinstance(body, dict):
        return {k: _fill(v, ids) for k, v in body.items()}
    if isinstance(body, str) and body.startswith("{") and body.endswith("}"):
        return ids[body[1:-1]]
    return body


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.template}")
async def test_role_matrix(api: Api, world: dict[str, Any], case: Case) -> None:
    path = case.template.format(**world["ids"])
    body = _fill(case.json, world["ids"])
    got = {}
    for role in ROLES:
        token = world["tokens"].get(role)
        answer = await api.call(case.method, path, token, json=body, params=case.params)
        got[role] = answer.status
    assert got == {role: case.status_for(role) for role in ROLES}


async def test_hidden_entries_are_404_to_others(api: Api, world: dict[str, Any]) -> None:
    t, ids = world["tokens"], world["ids"]
    pending = await Craftsman.get(pk=ids["p"])
    pending.openid = openid_of("r")
    await pending.save()
    path = f"/api/craftsmen/{ids['p']}"
    assert (await api.get(path, t["resident"])).status == 200  # their own
    assert (await api.get(path, t["admin"])).status == 200
    assert (await api.get(path, t["craftsman_b"])).status == 404
    review = {"stars": 1, "text": "差"}
    assert (await api.call("POST", path + "/reviews", t["staff1"], json=review)).status == 404
    assert (await api.get("/api/craftsmen/99999", t["resident"])).status == 404
    assert (await api.get("/api/craftsmen/abc", t["resident"])).status == 404


# ---- the same rules as the bot ---------------------------------------------------------------


async def test_register_approve_search_review_complain(
    api: Api, world: dict[str, Any], fake_wechat: Any
) -> None:
    t = world["tokens"]
    created = await api.call("POST", "/api/craftsmen", t["resident"], json=REGISTRATION)
    assert created.status == 201 and created.body["status"] == "pending"
    assert created.body["categories"] == ["tailor", "shoe_repair"]
    assert created.body["phone"] == "13800138000" and created.body["home_visits"] is True
    cid = created.body["id"]
    # Admins were told (as when registering in the chat), and the text was checked first.
    assert any(f"#{cid}" in text for text in fake_wechat.texts_to(openid_of("ad")))
    checked = [b["content"] for b in fake_wechat.sent("/wxa/msg_sec_check")]
    assert REGISTRATION["description"] in checked
    query = {"category": "修鞋", "lat": HOME[0], "lng": HOME[1]}
    before = await api.get("/api/craftsmen", t["resident"], **query)
    assert cid not in [h["id"] for h in before.body["items"]]
    assert (await api.call("POST", f"/api/admin/craftsmen/{cid}/approve", t["admin"])).status == 200
    again = await api.call("POST", f"/api/admin/craftsmen/{cid}/approve", t["admin"])
    assert again.status == 409
    found = await api.get("/api/craftsmen", t["staff1"], **query)
    assert [h["id"] for h in found.body["items"]][0] == cid  # nearest first
    assert (
        found.body["items"][0]["open_state"] == "open" and found.body["category"] == "shoe_repair"
    )
    # The owner pauses: hidden from search; resuming twice is refused with the service's words.
    own = f"/api/craftsmen/{cid}/availability"
    assert (await api.call("PUT", own, t["resident"], json={"paused": True})).status == 200
    hidden = await api.get("/api/craftsmen", t["staff1"], **query)
    assert cid not in [h["id"] for h in hidden.body["items"]]
    assert (await api.call("PUT", own, t["resident"], json={"paused": False})).status == 200
    twice = await api.call("PUT", own, t["resident"], json={"paused": False})
    assert twice.status == 409 and "正常接单" in twice.body["error"]["message"]
    # Reviews: a second one by the same person replaces the first.
    rpath = f"/api/craftsmen/{cid}/reviews"
    await api.call("POST", rpath, t["staff1"], json={"stars": 3, "text": "还行"})
    r = await api.call("POST", rpath, t["staff1"], json={"stars": 5, "text": "很好"})
    assert r.status == 201 and r.body["rating_count"] == 1 and r.body["rating_avg"] == 5
    listed = await api.get(rpath, t["craftsman_b"])
    assert [x["text"] for x in listed.body["items"]] == ["很好"]
    assert "reviewer" not in str(listed.body)
    # Three upheld complaints suspend, as in the chat.
    for _ in range(3):
        c = await api.call(
            "POST", f"/api/craftsmen/{cid}/complaints", t["staff2"], json={"reason": "乱收费"}
        )
        d = await api.call(
            "POST",
            f"/api/admin/complaints/{c.body['id']}/decision",
            t["admin"],
            json={"upheld": True},
        )
    assert d.body["craftsman_suspended"] is True and d.body["state"] == "upheld"
    assert (await Craftsman.get(pk=cid)).status is Status.SUSPENDED


async def test_owner_updates_only_what_they_send(api: Api, world: dict[str, Any]) -> None:
    t, a = world["tokens"], world["ids"]["a"]
    answer = await api.call(
        "PATCH", f"/api/craftsmen/{a}", t["craftsman_a"], json={"phone": "021-12345678"}
    )
    assert answer.status == 200 and answer.body["phone"] == "021-12345678"
    assert answer.body["name"] == "王师傅" and answer.body["categories"] == ["tailor"]


async def test_menus_publish_correct_and_read_a_week(
    api: Api, world: dict[str, Any], bot: Any
) -> None:
    t, c1 = world["tokens"], world["ids"]["c1"]
    await MenuSubscription.create(openid="o-sub")
    path = f"/api/canteens/{c1}/menus/2026-11-26/lunch"
    body = {"dishes": [{"name": "红烧肉", "kind": "hot"}, {"name": "米饭", "kind": "staple"}]}
    first = await api.call("PUT", path, t["staff1"], json=body)
    assert first.status == 201 and first.body["version"] == 1
    assert first.body["pushed_to"] == {"residents": 1, "groups": 0}
    body["dishes"][0]["name"] = "红烧鸡腿"
    fixed = await api.call("PUT", path, t["staff1"], json=body)
    assert fixed.status == 200 and fixed.body["version"] == 2 and "红烧鸡腿" in fixed.body["text"]
    await api.call("PUT", f"/api/canteens/{c1}/menus/2026-11-30/lunch", t["staff1"], json=body)
    day = await api.get(f"/api/canteens/{c1}/menus", t["resident"], date="2026-11-26")
    assert [m["date"] for m in day.body["menus"]] == ["2026-11-26"]
    week = await api.get(f"/api/canteens/{c1}/menus", t["resident"], days=7)
    assert week.body["from"] == "2026-11-25" and len(week.body["menus"]) == 2
    # Residents asking the bot see what the API published.
    from tests.directory_support import say

    assert "红烧鸡腿" in await say(bot, "明天午饭吃什么")
    assert await Menu.all().count() == 2


async def test_subscription_through_the_service(api: Api, world: dict[str, Any]) -> None:
    t = world["tokens"]["resident"]
    on = await api.call("PUT", "/api/me/menu-subscription", t, json={"active": True})
    assert on.body == {"active": True, "changed": True}
    assert (await MenuSubscription.get(openid=openid_of("r"))).active
    assert (await api.get("/api/me", t)).body["menu_subscribed"] is True
    off = await api.call("PUT", "/api/me/menu-subscription", t, json={"active": False})
    assert off.body == {"active": False, "changed": True}


async def test_walking_pace_is_the_same_setting_as_in_the_chat(
    api: Api, world: dict[str, Any]
) -> None:
    t = world["tokens"]["resident"]
    assert (await api.get("/api/me", t)).body["elderly_pace"] is False
    slow = await api.call("PUT", "/api/me/walking-pace", t, json={"elderly_pace": True})
    assert slow.body == {"elderly_pace": True}
    assert (await User.get(openid=openid_of("r"))).elderly
    assert (await api.get("/api/me", t)).body["elderly_pace"] is True
    bad = await api.call("PUT", "/api/me/walking-pace", t, json={"elderly_pace": "yes"})
    assert bad.status == 400 and "elderly_pace" in bad.body["error"]["fields"]


# ---- validation ------------------------------------------------------------------------------


async def test_field_level_errors_and_nothing_written(api: Api, world: dict[str, Any]) -> None:
    t = world["tokens"]["resident"]
    bad = {
        **REGISTRATION,
        "name": "王13800138000",
        "categories": ["造火箭"],
        "hours": "看心情",
        "phone": "12345",
    }
    answer = await api.call("POST", "/api/craftsmen", t, json=bad)
    assert answer.status == 400 and answer.body["error"]["code"] == "invalid"
    fields = answer.body["error"]["fields"]
    assert set(fields) == {"name", "categories", "hours", "phone"}
    assert "电话" in fields["name"] and "造火箭" in fields["categories"]
    shape = await api.call(
        "POST",
        "/api/craftsmen",
        t,
        json={"name": "", "lat": 200, "categories": "裁缝", "extra": 1},
    )
    f = shape.body["error"]["fields"]
    assert f["name"] == "不能为空" and f["categories"] == "应为列表"
    assert f["lat"] == "超出地图范围，纬度须在南北纬85°以内"  # the schema's words for people
    assert f["extra"] == "不认识的字段" and f["phone"] == "必填"
    assert await Craftsman.filter(openid=openid_of("r")).count() == 0
    raw = await api.call("POST", "/api/craftsmen", t, data=b"{not json")
    assert raw.status == 400 and raw.body["error"]["code"] == "invalid_json"
    not_obj = await api.call("POST", "/api/craftsmen", t, json=[1, 2])
    assert not_obj.status == 400


async def test_query_path_and_nested_errors(api: Api, world: dict[str, Any]) -> None:
    t = world["tokens"]
    q = await api.get(
        "/api/craftsmen", t["resident"], category="tailor", lat="north", lng=500, per_page=0
    )
    assert q.status == 400
    assert q.body["error"]["fields"] == {
        "lat": "应为数字",
        "lng": "不能大于180",
        "per_page": "不能小于1",
    }
    cat = await api.get("/api/craftsmen", t["resident"], category="造火箭", lat=31, lng=121)
    assert cat.status == 400 and "category" in cat.body["error"]["fields"]
    c1 = world["ids"]["c1"]
    menu = {"dishes": [{"name": "很" * 30, "kind": "spicy"}], "price_cents": -1}
    m = await api.call("PUT", f"/api/canteens/{c1}/menus/2026-11-26/lunch", t["staff1"], json=menu)
    assert set(m.body["error"]["fields"]) == {"dishes.0.name", "dishes.0.kind", "price_cents"}
    bad_day = await api.call(
        "PUT", f"/api/canteens/{c1}/menus/2026-13-40/lunch", t["staff1"], json={"dishes": []}
    )
    assert bad_day.status == 400 and "date" in bad_day.body["error"]["fields"]
    assert await Menu.all().count() == 0
    huge = await api.call("POST", "/api/craftsmen", t["resident"], data=b'"' + b"x" * 70000 + b'"')
    assert huge.status == 413


async def test_pagination(api: Api, world: dict[str, Any], bot: Any) -> None:
    for i in range(4):
        await make_craftsman(bot, f"待审{i}", ["tailor"], 500 + i, status=Status.PENDING)
    t = world["tokens"]["admin"]
    first = await api.get("/api/admin/craftsmen", t, per_page=2)
    assert first.body["total"] == 5 and first.body["has_more"] is True
    last = await api.get("/api/admin/craftsmen", t, per_page=2, page=3)
    assert len(last.body["items"]) == 1 and last.body["has_more"] is False
    beyond = await api.get("/api/admin/craftsmen", t, per_page=2, page=9)
    assert beyond.body["items"] == [] and beyond.status == 200


# ---- moderation ------------------------------------------------------------------------------


async def test_risky_text_is_refused_before_anyone_sees_it(
    api: Api, world: dict[str, Any], fake_wechat: Any
) -> None:
    t, a = world["tokens"], world["ids"]["a"]
    risky = {**REGISTRATION, "description": "出售违禁物品"}
    reg = await api.call("POST", "/api/craftsmen", t["resident"], json=risky)
    assert reg.status == 400 and set(reg.body["error"]["fields"]) == {"description"}
    assert not await Craftsman.exists(openid=openid_of("r"))
    review = await api.call(
        "POST", f"/api/craftsmen/{a}/reviews", t["resident"], json={"stars": 1, "text": "违禁"}
    )
    assert review.status == 400 and "text" in review.body["error"]["fields"]
    patch = await api.call(
        "PATCH", f"/api/craftsmen/{a}", t["craftsman_a"], json={"description": "违禁品"}
    )
    assert patch.status == 400
    fake_wechat.fail("/wxa/msg_sec_check", status=500)
    down = await api.call(
        "POST", f"/api/craftsmen/{a}/reviews", t["resident"], json={"stars": 4, "text": "不错"}
    )
    assert down.status == 503
    assert await Review.all().count() == 0
    assert (await Craftsman.get(pk=a)).description == ""


# ---- rate limits -----------------------------------------------------------------------------


async def test_rate_limits_per_user(aiohttp_client: Any, make_settings: Any) -> None:
    from tests.conftest import reset_state

    client = await aiohttp_client(
        create_app(make_settings(api_reads_per_minute=3, api_writes_per_minute=2))
    )
    await reset_state(client)
    api = Api(client, client.app[document_key])
    alice, bob = await api.login("alice"), await api.login("bob")
    statuses = [(await api.get("/api/me", alice)).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await api.get("/api/me", alice)
    assert limited.body["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert (await api.get("/api/me", bob)).status == 200  # per user
    # Writes are counted apart from reads.
    sub = [
        (await api.call("PUT", "/api/me/menu-subscription", alice, json={"active": True})).status
        for _ in range(3)
    ]
    assert sub == [200, 200, 429]


# ---- the document ----------------------------------------------------------------------------


async def test_openapi_document_is_valid_and_lists_every_route(api: Api) -> None:
    answer = await api.get("/api/openapi.json")
    doc = answer.body
    validate_spec(doc)
    routes = {
        (r.method, r.resource.canonical)
        for r in api.client.app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/api/")
        and r.method not in {"HEAD", "OPTIONS"}
    }
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert routes == documented
    for path, item in doc["paths"].items():
        for op in item.values():
            assert op.get("summary"), path
