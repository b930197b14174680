"""Fuzzing the mini-program API with schemathesis, from the document the app serves.

The live /api/openapi.json is loaded from the running app (an aiohttp TestServer on a loopback
port) and every operation in it gets generated requests, valid and invalid: anonymous, with a
resident's bearer token and with an admin's, and once more with the path ids pointing at rows
that exist (a generated id almost never does), so the authorized paths run, not only the 401s
and 404s. Every answer must be a documented status with a body matching its schema, never a
5xx, never a 2xx to invalid data nor a 400 to valid data (unless the document states the rule
the field broke, `x-server-rule`), never a secret (a WeChat session_key or access token, our
Token or AppSecrets, an openid) and never a stack trace; and no request may make the app log
an error.

schemathesis drives plain functions with `requests`, so the fuzzing runs in a worker thread
while the app serves on the test's event loop. Bounded (a few examples per operation and pass)
and derandomized, so every run sends the same requests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.context import SHANGHAI
from canteen.cli import add_canteen
from handlers.api_v1.core import SERVER_RULE
from handlers.keys import bot_key
from main import create_app
from models.directory import Complaint, Review, Status
from models.users import Role
from tests.api_support import clear_delivery, grant, openid_of, seed_delivery
from tests.conftest import AES_KEY, APP_SECRET, MINI_APP_SECRET, TOKEN, reset_state
from tests.directory_support import make_craftsman
from wechat_api.fake import FakeWeChat

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
RESIDENT, ADMIN = "fuzz-resident", "fuzz-admin"  # login codes (the fake makes the openids)
# Never in an answer: besides these, every access token the fake WeChat has issued.
NEVER = (
    TOKEN,
    APP_SECRET,
    MINI_APP_SECRET,
    AES_KEY,
    "session_key",
    openid_of(""),  # every openid the fake gives starts so
    "Traceback",
    'File "',
    "site-packages",
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,  # invalid input gets a 4xx, not a 2xx
]
# handlers.api.unstorable: a character XML cannot carry (control characters, a lone surrogate),
# in any field's value or name
UNSTORABLE = {"含有无法识别的字符", "含有无法识别的字段名"}


@dataclass(frozen=True)
class Pass:
    role: str  # "anonymous", or the login code of the caller
    mode: GenerationMode
    examples: int  # per operation; anonymous calls to protected operations all end at a 401
    known: bool = False  # path ids (and a trade) fixed to seeded rows


PASSES = [
    Pass("anonymous", POSITIVE, 3),
    Pass("anonymous", NEGATIVE, 3),
    *(
        p
        for code in (RESIDENT, ADMIN)
        for p in (
            Pass(code, POSITIVE, 8),
            Pass(code, POSITIVE, 8, known=True),
            Pass(code, NEGATIVE, 8),
        )
    ),
]


class Leaks:
    def __init__(self, fake: FakeWeChat) -> None:
        self.fake = fake

    def check(self, ctx: CheckContext, response: Response, case: Case) -> bool:
        text = response.content.decode("utf-8", "replace")
        # The fake's tokens are read at each check: the app fetches new ones as it goes.
        for secret in (*NEVER, *self.fake.tokens):
            if secret in text:
                raise AssertionError(f"{secret[:12]!r} in the answer: {text[:300]}")
        return True


class ValidDataAccepted:
    """schemathesis' positive_data_acceptance (valid data never gets a 400), except where the
    400 names only fields the document says the server checks beyond their schema
    (`x-server-rule`: a phone number's format, a trade in words, a date in the past), or text
    no field may carry (control characters, a lone surrogate). Any other 400 to schema-valid
    data means the schema promises more than the server accepts: a finding."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.ruled: dict[str, set[str]] = {}
        for path, item in document["paths"].items():
            for method, op in item.items():
                schema = (
                    op.get("requestBody", {})
                    .get("content", {})
                    .get("application/json", {})
                    .get("schema", {})
                )
                fields = {
                    name
                    for name, prop in schema.get("properties", {}).items()
                    if SERVER_RULE in prop or SERVER_RULE in prop.get("items", {})
                }
                fields |= {
                    p["name"] for p in op.get("parameters", []) if SERVER_RULE in p["schema"]
                }
                self.ruled[f"{method.upper()} {path}"] = fields

    def check(self, ctx: CheckContext, response: Response, case: Case) -> bool | None:
        try:
            return positive_data_acceptance(ctx, response, case)
        except RejectedPositiveData:
            if response.status_code != 400 or not self._explained(case, response):
                raise
            return None

    def _explained(self, case: Case, response: Response) -> bool:
        fields = response.json().get("error", {}).get("fields") or {}
        ruled = self.ruled.get(case.operation.label, set())
        return bool(fields) and all(
            message in UNSTORABLE or name.split(".")[0] in ruled for name, message in fields.items()
        )


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def server(aiohttp_client: Any, make_settings: Any) -> AsyncIterator[TestClient]:
    """The app on a loopback port; rate limits raised so fuzzing does not meet 429s."""
    settings = make_settings(
        api_reads_per_minute=100_000,
        api_writes_per_minute=100_000,
        api_logins_per_minute=100_000,
    )
    c = await aiohttp_client(create_app(settings))
    await reset_state(c)
    yield c
    await clear_delivery()


async def seed(client: TestClient) -> dict[str, list[Any]]:
    """Rows for the known-ids passes: a canteen, craftsmen (one the resident's), a complaint,
    the resident's meal sign-ups. Returns the values each path parameter may take."""
    bot = client.app[bot_key]
    canteen = await add_canteen("幸福食堂", "幸福小区1号楼", 31.23, 121.47, [], ["lunch="])
    craftsmen = [
        await make_craftsman(bot, "李师傅", ["tailor"], 100),
        await make_craftsman(bot, "王师傅", ["shoe_repair"], 200, status=Status.PENDING),
        await make_craftsman(bot, "张师傅", ["key_lock"], 300, openid=openid_of(RESIDENT)),
    ]
    complaint = await Complaint.create(
        craftsman=craftsmen[0], reason="没来", complainant=openid_of(RESIDENT)
    )
    await grant(ADMIN, Role.ADMIN)
    today = dt.datetime.now(SHANGHAI).date()
    ids = await seed_delivery(canteen, RESIDENT, today)
    from models.places import Place, PlaceSource

    places = [
        await Place.create(name="仁心药房", kind="pharmacy", lat=31.23, lng=121.47, verified=True),
        await Place.create(
            name="待核实公厕", kind="toilet", lat=31.231, lng=121.47, source=PlaceSource.IMPORT
        ),
    ]
    return {
        "place_id": [p.pk for p in places],
        "craftsman_id": [c.pk for c in craftsmen],
        "canteen_id": [canteen.pk],
        "complaint_id": [complaint.pk],
        "recipient_id": [ids["rcp"]],
        "signup_id": [ids["line"], ids["g"]],
        "date": [(today + dt.timedelta(days=d)).isoformat() for d in (0, 1)],
        "meal": ["lunch"],
    }


def fixed(op: APIOperation, known: dict[str, list[Any]]) -> tuple[list[dict[str, Any]], Any]:
    """The seeded values for op's path parameters (every combination), and a real trade for
    a `category` query; ([{}], None) when op has neither."""
    names = [param.name for param in op.path_parameters]
    paths = [dict(zip(names, vs, strict=True)) for vs in itertools.product(*map(known.get, names))]
    query = {"category": "tailor"} if any(q.name == "category" for q in op.query) else None
    return paths, query


def cases(op: APIOperation, p: Pass, known: dict[str, list[Any]]) -> st.SearchStrategy[Case]:
    if not p.known:
        return op.as_strategy(generation_mode=p.mode)
    paths, query = fixed(op, known)
    return st.sampled_from(paths).flatmap(
        lambda path: op.as_strategy(generation_mode=p.mode, path_parameters=path, query=query)
    )


def fuzz(base: str, known: dict[str, list[Any]], leaks: Leaks) -> tuple[list[str], int]:
    """Every operation × pass; returns the failures (empty when all is well) and the number of
    runs."""
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    session = requests.Session()
    document = session.get(f"{base}/api/openapi.json", timeout=10).json()
    checks = [*CHECKS, ValidDataAccepted(document).check, leaks.check]

    def headers(role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        # A fresh token per run: a generated POST /api/logout ends only that run's token.
        resp = session.post(f"{base}/api/login", json={"code": role}, timeout=10)
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['token']}"}

    failures: list[str] = []
    runs = 0
    for op, p in itertools.product(operations, PASSES):
        if p.known and fixed(op, known) == ([{}], None):
            continue  # nothing to fix: the same as the plain pass

        @settings(
            max_examples=p.examples,
            deadline=None,
            derandomize=True,  # the same requests every run: a CI failure replays
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases(op, p, known), sent=st.just(headers(p.role)))
        def run(case: Case, sent: dict[str, str]) -> None:
            case.call_and_validate(base_url=base, session=session, headers=sent, checks=checks)

        runs += 1
        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is the latter
            what = "known ids" if p.known else p.mode.value
            failures.append(f"{op.label} as {p.role} ({what}):\n{exc}")
    return failures, runs


async def test_api_fuzz(server: TestClient, fake_wechat: FakeWeChat) -> None:
    known = await seed(server)
    errors = Recorder()
    logging.getLogger().addHandler(errors)
    try:
        base = str(server.make_url("")).rstrip("/")
        failures, runs = await asyncio.to_thread(fuzz, base, known, Leaks(fake_wechat))
    finally:
        logging.getLogger().removeHandler(errors)
    titles = [f.splitlines()[0] for f in failures]
    assert not failures, "\n".join(titles) + "\n\n" + "\n\n".join(failures)[:20000]
    assert runs > 100
    # A request that made the app log an error (an unhandled exception) is a finding too.
    found = [logging.Formatter().format(r) for r in errors.records]
    assert found == [], "\n".join(found)[-4000:]


# ---- regressions: what the fuzzing turned up -------------------------------------------------


async def login(client: TestClient, code: str) -> dict[str, str]:
    resp = await client.post("/api/login", json={"code": code})
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def test_ids_past_the_int4_columns_are_not_found(server: TestClient) -> None:
    """A path id the id columns cannot hold names nothing (404); it reached the database (500)."""
    await grant(ADMIN, Role.ADMIN)
    admin = await login(server, ADMIN)
    for method, path in [
        ("GET", f"/api/craftsmen/{2**31}"),
        ("GET", "/api/craftsmen/1389182016579654647808/reviews"),
        ("PUT", f"/api/craftsmen/{2**63}/availability"),
        ("GET", f"/api/canteens/{2**40}/menus"),
        ("POST", f"/api/admin/complaints/{2**31}/decision"),
    ]:
        resp = await server.request(method, path, headers=admin, json={})
        body = await resp.json()
        assert resp.status == 404 and body["error"]["code"] == "not_found", (path, body)
    assert (await server.get(f"/api/craftsmen/{2**31 - 1}", headers=admin)).status == 404


async def test_latitudes_the_geo_index_cannot_hold_are_refused(server: TestClient) -> None:
    """Redis GEO takes latitudes within ±85.05112878°: a search or an entry beyond was a 503
    (Redis refused the command), as if the service were down. Now a 400 naming the field."""
    bot = server.app[bot_key]
    craftsman = await make_craftsman(bot, "李师傅", ["tailor"], 100, openid=openid_of(RESIDENT))
    resident = await login(server, RESIDENT)
    for lat in (88.9, -85.06):
        resp = await server.get(
            "/api/craftsmen", params={"category": "tailor", "lat": lat, "lng": 0}, headers=resident
        )
        body = await resp.json()
        assert resp.status == 400 and "lat" in body["error"]["fields"], body
        resp = await server.patch(
            f"/api/craftsmen/{craftsman.pk}", json={"lat": lat}, headers=resident
        )
        assert resp.status == 400 and "lat" in (await resp.json())["error"]["fields"]
    await craftsman.refresh_from_db()
    assert craftsman.lat < 85
    edge = {"category": "tailor", "lat": 85.05, "lng": 180}
    assert (await server.get("/api/craftsmen", params=edge, headers=resident)).status == 200


async def test_text_no_column_can_keep_is_refused(server: TestClient) -> None:
    """A lone surrogate ("\\ud800", valid JSON) could be neither stored nor answered (500); a NUL
    reached PostgreSQL, which refuses it (503, as if down). Now a 400 naming the field."""
    bot = server.app[bot_key]
    craftsman = await make_craftsman(bot, "李师傅", ["tailor"], 100)
    resident = await login(server, RESIDENT)
    json_body = {**resident, "Content-Type": "application/json"}
    for text, field in [
        (r'{"stars": 4, "text": "好\ud800"}', "text"),
        (r'{"stars": 4, "text": "好\u0000师傅"}', "text"),
        (r'{"stars": 4, "\udfff": 1}', ""),
    ]:
        resp = await server.post(
            f"/api/craftsmen/{craftsman.pk}/reviews", data=text, headers=json_body
        )
        body = await resp.json()
        assert resp.status == 400 and field in body["error"]["fields"], (text, body)
    assert await Review.filter(craftsman=craftsman).count() == 0
    resp = await server.post(
        "/api/me/recipients",
        data=r'{"label": "我妈", "address": "3号楼\u0000", "phone": "13800000001"}',
        headers=json_body,
    )
    assert resp.status == 400 and "address" in (await resp.json())["error"]["fields"]
    resp = await server.post("/api/nlu/parse", data=r'{"text": "找裁缝\ud800"}', headers=json_body)
    assert resp.status == 400 and "text" in (await resp.json())["error"]["fields"]


async def test_deeply_nested_json_is_refused(server: TestClient) -> None:
    """[[[[… a thousand deep (2 KB) made the JSON parser give up with a RecursionError: a 500."""
    resident = await login(server, RESIDENT)
    json_body = {**resident, "Content-Type": "application/json"}
    for path in ["/api/login", "/api/me/recipients", "/api/nlu/parse"]:
        for depth in (900, 1000, 5000):
            deep = "[" * depth + "]" * depth
            for data in (deep, '{"label": ' + deep + "}"):
                resp = await server.post(path, data=data, headers=json_body)
                body = await resp.json()
                assert resp.status == 400 and body["error"]["code"] in {"invalid_json", "invalid"}


async def test_nlu_parse_answers_too_large_in_json(server: TestClient) -> None:
    """/api/nlu/parse answered an oversized body with aiohttp's text/plain 413, undocumented."""
    resp = await server.post("/api/nlu/parse", data=b'{"text": "' + b"x" * 70_000 + b'"}')
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "too_large"
    doc = (await (await server.get("/api/openapi.json")).json())["paths"]["/api/nlu/parse"]
    assert "413" in doc["post"]["responses"]
