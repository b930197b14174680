"""A client for the mini-program API that checks every answer against /api/openapi.json.

Responses are validated with openapi-core (an independent reader of the document), so a
handler whose answer drifts from its documented schema or status fails the test that made it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from multidict import CIMultiDict, MultiDict
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters

from models.canteen import Canteen
from models.delivery import Signup
from models.users import Role, RoleGrant, User


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters


@dataclass
class _Response:
    data: bytes
    status_code: int
    content_type: str
    headers: CIMultiDict[str]


@dataclass
class Answer:
    status: int
    body: Any
    headers: Any


_READERS: dict[str, OpenAPI] = {}


def _json(data: bytes | str, **_: Any) -> Any:
    return json.loads(data)


def _text(data: bytes | str, **_: Any) -> str:
    return data.decode("utf-8") if isinstance(data, bytes) else data


def reader(document: dict[str, Any]) -> OpenAPI:
    """Reading (and checking) the document takes most of a second: once per session."""
    key = json.dumps(document, sort_keys=True)
    if key not in _READERS:
        # A CSV export is text: read it as text, so its documented string schema is checked.
        # GeoJSON (/api/places) is JSON under its own media type (RFC 7946).
        config = Config(
            extra_media_type_deserializers={"text/csv": _text, "application/geo+json": _json}
        )
        _READERS[key] = OpenAPI.from_dict(document, config=config)
    return _READERS[key]


class Api:
    def __init__(self, client: Any, document: dict[str, Any]) -> None:
        self.client = client
        self.openapi = reader(document)
        self.checked = 0

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        data: bytes | None = None,
    ) -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if data is not None:
            headers["Content-Type"] = "application/json"
        resp = await self.client.request(
            method, path, headers=headers, json=json, params=params, data=data
        )
        raw = await resp.read()
        content_type = resp.headers.get("Content-Type", "").split(";")[0]
        json_types = ("application/json", "application/geo+json")
        body = await resp.json(content_type=None) if content_type in json_types else raw
        query = MultiDict({k: str(v) for k, v in (params or {}).items()})
        request = _Request(
            host_url=f"http://{urlsplit(str(resp.url)).netloc}",
            path=urlsplit(str(resp.url)).path,
            method=method.lower(),
            body=None,
            content_type="application/json",
            parameters=RequestParameters(query=query, header=CIMultiDict(headers)),
        )
        response = _Response(raw, resp.status, content_type, CIMultiDict(resp.headers))
        # Raises when the status is undocumented or the body does not match its schema.
        self.openapi.validate_response(request, response)  # type: ignore[arg-type]
        self.checked += 1
        return Answer(resp.status, body, resp.headers)

    async def get(self, path: str, token: str | None = None, **params: Any) -> Answer:
        return await self.call("GET", path, token, params=params or None)

    async def login(self, code: str) -> str:
        answer = await self.call("POST", "/api/login", json={"code": code})
        assert answer.status == 200, answer.body
        return str(answer.body["token"])


def openid_of(code: str) -> str:
    """The openid the fake WeChat gives for a login code."""
    return f"o-mini-{code}"


async def grant(code: str, role: Role, canteen: Canteen | None = None) -> User:
    user, _ = await User.get_or_create(openid=openid_of(code))
    await RoleGrant.create(user=user, role=role, canteen_id=canteen.pk if canteen else None)
    return user


async def seed_delivery(canteen: Canteen, code: str, today: dt.date) -> dict[str, int]:
    """Someone `code` orders lunch for their mother, today (roster built at the cutoff, so
    volunteers have a line) and tomorrow (still cancellable). Through the service, as the
    chat does. Returns the ids the role matrix needs."""
    from delivery import roster, service
    from models.canteen import CanteenMeal, Meal
    from models.delivery import MealSlot

    lunch = await CanteenMeal.get(canteen=canteen, meal=Meal.LUNCH)
    mother = await service.save_recipient(
        openid_of(code),
        label="我妈",
        address="3号楼2单元401",
        building="3",
        phone="13800000001",
        emergency_phone="13900000000",
        diet="少盐",
    )
    early = service.cutoff_at(lunch, today) - dt.timedelta(hours=2)
    for day in (today, today + dt.timedelta(days=1)):
        await service.book(mother, lunch, day, 1, early)
    slot = await MealSlot.get(canteen_id=canteen.pk, date=today, meal=Meal.LUNCH)
    await roster.build_roster(slot, service.cutoff_at(lunch, today))
    line = await Signup.get(recipient=mother, slot=slot)
    later = await Signup.get(recipient=mother, slot__date=today + dt.timedelta(days=1))
    return {"rcp": mother.pk, "line": line.pk, "g": later.pk}


async def clear_delivery() -> None:
    """Remove the delivery rows a test made. The next test's app ticks its delivery scheduler
    on start-up with the real clock, before its tables are emptied; slots left near today
    (the tests' dates) would make that tick build rosters or alert while TRUNCATE runs."""
    from models.delivery import MealSlot

    await Signup.all().delete()
    await MealSlot.all().delete()
