"""The 15-minute circle's places over JSON: GeoJSON for the mini-program's map component, the
nearest of a kind by walking time, one place, and the admins' create and edit (verify).
Every rule is the places service's."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from community import geo
from community.errors import DomainError
from craftsman_directory import service as directory_service
from handlers.api_v1.core import (
    ID,
    INT,
    PHONE_RULE,
    STR,
    Access,
    ApiError,
    Call,
    Endpoint,
    checked,
    conflict,
    invalid,
    not_found,
    obj,
    ok,
    ref,
)
from models.places import Place, PlaceSource
from places import search, service
from places.kinds import IDS, KINDS, name

STATE_NAMES = {0: "open", 1: "unknown", 2: "closed"}  # community.hours OPEN, UNKNOWN, CLOSED
GEO_LAT_MAX = geo.GEO_LAT_MAX
OFF_MAP = "超出地图范围，纬度须在南北纬85°以内"


def place_out(p: Place) -> dict[str, Any]:
    return {
        "id": p.pk,
        "name": p.name,
        "kind": p.kind,
        "kind_name": name(p.kind),
        "address": p.address,
        "lat": p.lat,
        "lng": p.lng,
        "hours": p.hours,
        "phone": p.phone,
        "offerings": p.offerings,
        "verified": p.verified,
    }


def _error(exc: DomainError) -> ApiError:
    if exc.code == "conflict":
        return conflict(exc.message)
    return invalid({exc.field or "": exc.message})


# ---- GeoJSON ---------------------------------------------------------------------------------


async def places_geojson(call: Call) -> web.Response:
    """Verified places as a GeoJSON FeatureCollection (RFC 7946: WGS-84, [lng, lat]);
    `datum=gcj02` for WeChat's map component. Filter by kind, and by distance from lat/lng."""
    q = call.query
    datum = q["datum"]
    near = None
    if "within_m" in q or "lat" in q or "lng" in q:
        missing = {f: "必填" for f in ("lat", "lng") if f not in q}
        if missing:
            raise invalid(missing, "按距离筛选要同时给出 lat 和 lng。")
        if abs(q["lat"]) > GEO_LAT_MAX:
            raise invalid({"lat": OFF_MAP})
        near = service.location(q["lat"], q["lng"], datum)  # GCJ-02, as stored
    query = Place.filter(verified=True).order_by("kind", "id")
    if "kind" in q:
        query = query.filter(kind=q["kind"])
    features = []
    for p in await query:
        props: dict[str, Any] = {k: v for k, v in place_out(p).items() if k not in ("lat", "lng")}
        props["colour"], props["shape"] = KINDS[p.kind].colour, KINDS[p.kind].shape
        if near is not None:
            d = geo.haversine_m(near[0], near[1], p.lat, p.lng)
            if "within_m" in q and d > q["within_m"]:
                continue
            props["distance_m"] = round(d)
            props["walk_minutes"] = geo.walk_minutes(d)
        lat, lng = (p.lat, p.lng) if datum == "gcj02" else geo.gcj02_to_wgs84(p.lat, p.lng)
        features.append(
            {
                "type": "Feature",
                "id": p.pk,
                "geometry": {"type": "Point", "coordinates": [round(lng, 7), round(lat, 7)]},
                "properties": props,
            }
        )
    if near is not None:
        features.sort(key=lambda f: f["properties"]["distance_m"])
    body: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if datum == "gcj02":
        # RFC 7946 §4: WGS-84 only; another datum is an agreement with the client, said here.
        body["datum"] = "gcj02"
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), content_type="application/geo+json"
    )


# ---- nearest and detail ----------------------------------------------------------------------


async def nearest_places(call: Call) -> web.Response:
    """The nearest verified places of a kind by walking time at my pace, open or when they open
    (GCJ-02, as wx.getLocation gives it). Widened beyond 15 minutes when none is that near."""
    q = call.query
    if abs(q["lat"]) > GEO_LAT_MAX:
        raise invalid({"lat": OFF_MAP})
    elderly = await directory_service.walks_slowly(call.redis, call.me.openid)
    outcome = await search.nearest(
        call.redis, q["kind"], q["lat"], q["lng"], call.services.clock(), elderly, q["limit"]
    )
    items = [
        {
            "id": f.card.id,
            "name": f.card.name,
            "kind": f.card.kind,
            "address": f.card.address,
            "phone": f.card.phone,
            "hours": f.card.hours,
            "lat": f.card.lat,
            "lng": f.card.lng,
            "distance_m": round(f.distance_m),
            "walk_minutes": f.minutes,
            "open_state": STATE_NAMES[f.state],
            "note": f.note,
        }
        for f in outcome.found
    ]
    return ok(
        {
            "kind": q["kind"],
            "kind_name": name(q["kind"]),
            "radius_m": round(outcome.radius_m),
            "widened": outcome.widened,
            "items": items,
        }
    )


async def get_place(call: Call) -> web.Response:
    """One verified place."""
    place = await Place.get_or_none(pk=call.path["place_id"], verified=True)
    if place is None:
        raise not_found("服务点")
    return ok(place_out(place))


# ---- admins ----------------------------------------------------------------------------------


async def create_place(call: Call) -> web.Response:
    """Add a place (coord: the datum of lat/lng, gcj02 or wgs84; GCJ-02 is stored)."""
    try:
        place = await service.create(call.redis, call.body, PlaceSource.CONSOLE)
    except DomainError as exc:
        raise _error(exc) from None
    return ok(place_out(place), status=201)


async def update_place(call: Call) -> web.Response:
    """Change a place (only the fields sent); `verified: true` shows it to residents."""
    place = await Place.get_or_none(pk=call.path["place_id"])
    if place is None:
        raise not_found("服务点")
    try:
        place = await service.update(call.redis, place, call.body)
    except DomainError as exc:
        raise _error(exc) from None
    return ok(place_out(place))


# ---- declarations ----------------------------------------------------------------------------

_NUM = {"type": "number"}
_LAT = {"type": "number", "minimum": -GEO_LAT_MAX, "maximum": GEO_LAT_MAX, "x-message": OFF_MAP}
_LNG = {"type": "number", "minimum": -180, "maximum": 180}
_KIND = {"type": "string", "enum": list(IDS), "description": "服务点类型（LABELS.md 的 place）"}
_PID = {"place_id": ID}
_HOURS_RULE = "营业时间：如“每天8:00-18:00”“周一到周五 9:00-17:00”，或 OpenStreetMap 写法"
_TEXT_RULE = "不能含看不见的控制字符"
_TOGETHER = "按距离筛选（within_m）或排序时，lat 和 lng 要一起给"

PLACE_FIELDS: dict[str, Any] = {
    "name": checked({"type": "string", "minLength": 1, "maxLength": 64}, _TEXT_RULE),
    "kind": checked(
        {"type": "string", "minLength": 1, "maxLength": 24},
        "类型编号、中文名或说法，如 pharmacy、药店、菜鸟驿站",
    ),
    "address": checked({"type": "string", "maxLength": 200}, _TEXT_RULE),
    "lat": _LAT,
    "lng": _LNG,
    "coord": {"type": "string", "enum": ["gcj02", "wgs84"], "default": "gcj02"},
    "hours": checked({"type": "string", "maxLength": 200}, _HOURS_RULE),
    "phone": checked({"type": "string", "maxLength": 32}, PHONE_RULE + "；可空"),
    "offerings": checked({"type": "string", "maxLength": 500}, _TEXT_RULE),
    "verified": {"type": "boolean"},
}

_PLACE_PROPS = {
    "id": INT,
    "name": STR,
    "kind": _KIND,
    "kind_name": STR,
    "address": STR,
    "lat": _NUM,
    "lng": _NUM,
    "hours": STR,
    "phone": STR,
    "offerings": STR,
    "verified": {"type": "boolean"},
}
_FEATURE_PROPS = {k: v for k, v in _PLACE_PROPS.items() if k not in ("lat", "lng")}
_FEATURE_PROPS.update(colour=STR, shape=STR, distance_m=INT, walk_minutes=INT)

SCHEMAS: dict[str, Any] = {
    "Place": obj(list(_PLACE_PROPS), _PLACE_PROPS),
    "PlaceFeatureCollection": {
        "type": "object",
        "description": "RFC 7946 GeoJSON：[经度, 纬度]，默认 WGS-84，datum=gcj02 时为 GCJ-02",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "datum": {"type": "string", "enum": ["gcj02"]},
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "id", "geometry", "properties"],
                    "properties": {
                        "type": {"const": "Feature"},
                        "id": INT,
                        "geometry": {
                            "type": "object",
                            "required": ["type", "coordinates"],
                            "properties": {
                                "type": {"const": "Point"},
                                "coordinates": {
                                    "type": "array",
                                    "items": _NUM,
                                    "minItems": 2,
                                    "maxItems": 2,
                                },
                            },
                        },
                        "properties": obj(
                            [k for k in _FEATURE_PROPS if k not in ("distance_m", "walk_minutes")],
                            _FEATURE_PROPS,
                        ),
                    },
                },
            },
        },
    },
    "PlaceNearest": obj(
        ["kind", "kind_name", "radius_m", "widened", "items"],
        {
            "kind": _KIND,
            "kind_name": STR,
            "radius_m": INT,
            "widened": {"type": "boolean"},
            "items": {
                "type": "array",
                "items": obj(
                    [
                        "id",
                        "name",
                        "kind",
                        "address",
                        "phone",
                        "hours",
                        "lat",
                        "lng",
                        "distance_m",
                        "walk_minutes",
                        "open_state",
                        "note",
                    ],  # fmt: skip
                    {
                        **{k: _PLACE_PROPS[k] for k in ("id", "name", "kind", "address")},
                        **{k: _PLACE_PROPS[k] for k in ("phone", "hours", "lat", "lng")},
                        "distance_m": INT,
                        "walk_minutes": INT,
                        "open_state": {"type": "string", "enum": ["open", "unknown", "closed"]},
                        "note": STR,
                    },
                ),
            },
        },
    ),
}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/places",
        places_geojson,
        "生活圈服务点（GeoJSON，默认 WGS-84；datum=gcj02 给微信地图组件）",
        "places",
        access=Access.PUBLIC,
        query={
            "kind": _KIND,
            "lat": checked(_LAT, _TOGETHER),
            "lng": checked(_LNG, _TOGETHER),
            "within_m": {"type": "number", "exclusiveMinimum": 0, "maximum": 50000},
            "datum": {"type": "string", "enum": ["wgs84", "gcj02"], "default": "wgs84"},
        },
        ok_schema=ref("PlaceFeatureCollection"),
        ok_media="application/geo+json",
    ),
    Endpoint(
        "GET",
        "/api/places/nearest",
        nearest_places,
        "最近的某类服务点（按我的步速算步行时间，营业中或几点开门）",
        "places",
        query={
            "kind": _KIND,
            "lat": _LAT,
            "lng": _LNG,
            "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
        },
        required_query=("kind", "lat", "lng"),
        ok_schema=ref("PlaceNearest"),
    ),
    Endpoint(
        "GET",
        "/api/places/{place_id}",
        get_place,
        "服务点详情",
        "places",
        access=Access.PUBLIC,
        path_params=_PID,
        ok_schema=ref("Place"),
    ),
    Endpoint(
        "POST",
        "/api/admin/places",
        create_place,
        "新增服务点（管理员）",
        "admin",
        access=Access.ADMIN,
        body=obj(["name", "kind", "lat", "lng"], PLACE_FIELDS),
        ok_status=201,
        ok_schema=ref("Place"),
        extra_statuses=(409,),
    ),
    Endpoint(
        "PATCH",
        "/api/admin/places/{place_id}",
        update_place,
        "修改或核实服务点（管理员，只改传来的字段）",
        "admin",
        access=Access.ADMIN,
        path_params=_PID,
        body=obj([], PLACE_FIELDS, minProperties=1),
        ok_schema=ref("Place"),
        extra_statuses=(409,),
    ),
]
