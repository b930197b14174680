"""Place rules: what a valid place is, and every change to one (so the Redis index stays in
step with the database). The console, the API, the importer and the demo all come through here.
"""

from __future__ import annotations

import math
import re
from typing import Any

from redis.asyncio import Redis

from community import geo, hours
from community.errors import DomainError
from community.phones import normalise_phone
from models.places import Place, PlaceSource
from places import index
from places.kinds import KindError, parse_kind

# Characters XML 1.0 cannot carry (WeChat replies are XML, spreadsheets are XML inside): a name
# holding one would break every reply that shows it.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
LIMITS = {"name": 64, "address": 200, "offerings": 500}
DATUMS = ("gcj02", "wgs84")


class PlaceError(DomainError):
    """A place that cannot be saved; `field` names the bad value."""


def _text(values: dict[str, Any], field: str, required: bool = False) -> str:
    raw = values.get(field)
    text = "" if raw is None else str(raw).strip()
    if _XML_ILLEGAL.search(text):
        raise PlaceError(f"{FIELD_NAMES[field]}里有看不见的控制字符，请删掉后重填", field=field)
    if required and not text:
        raise PlaceError(f"{FIELD_NAMES[field]}不能为空", field=field)
    if field in LIMITS and len(text) > LIMITS[field]:
        raise PlaceError(f"{FIELD_NAMES[field]}最多{LIMITS[field]}个字", field=field)
    return text


FIELD_NAMES = {
    "name": "名称",
    "kind": "类型",
    "address": "地址",
    "lat": "纬度",
    "lng": "经度",
    "coord": "坐标系",
    "hours": "营业时间",
    "phone": "电话",
    "offerings": "服务内容",
    "verified": "已核实",
}


def _coordinate(values: dict[str, Any], field: str) -> float:
    raw = values.get(field)
    try:
        value = float(str(raw).strip()) if not isinstance(raw, int | float) else float(raw)
    except (TypeError, ValueError):
        raise PlaceError(f"{FIELD_NAMES[field]}不是数字", field=field) from None
    if not math.isfinite(value):  # "nan", "inf": float() takes them, the index cannot
        raise PlaceError(f"{FIELD_NAMES[field]}不是有限的数字", field=field)
    return value


def location(lat: float, lng: float, datum: str = "gcj02") -> tuple[float, float]:
    """A point as given → GCJ-02 as stored; raises PlaceError off the map or for another datum."""
    if not geo.on_map(lat, lng):
        raise PlaceError("经纬度超出范围（是不是把纬度和经度写反了？）", field="lat")
    datum = datum.strip().lower().replace("-", "").replace("_", "") or "gcj02"
    if datum not in DATUMS:
        raise PlaceError(f"坐标系只能是 gcj02 或 wgs84，不是“{datum[:12]}”", field="coord")
    if datum == "wgs84":
        lat, lng = geo.wgs84_to_gcj02(lat, lng)
    return round(lat, 7), round(lng, 7)


def _verified(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = "" if raw is None else str(raw).strip().lower()
    if text in {"", "0", "false", "no", "n", "否", "未核实", "待核实"}:
        return False
    if text in {"1", "true", "yes", "y", "是", "已核实", "核实"}:
        return True
    raise PlaceError("已核实一栏填“是”或“否”", field="verified")


def clean(values: dict[str, Any], base: Place | None = None) -> dict[str, Any]:
    """Validate a place's fields (all of them, or with `base` only those given) into model
    fields; raises PlaceError naming the first bad field. `coord` says the datum of lat/lng."""

    def given(field: str) -> bool:
        return base is None or field in values

    out: dict[str, Any] = {}
    if given("name"):
        out["name"] = _text(values, "name", required=True)
    if given("kind"):
        try:
            out["kind"] = parse_kind(_text(values, "kind", required=True))
        except KindError as exc:
            raise PlaceError(exc.message, field="kind") from None
    if given("address"):
        out["address"] = _text(values, "address")
    if given("lat") or given("lng"):
        lat = _coordinate(values, "lat") if "lat" in values or base is None else base.lat
        lng = _coordinate(values, "lng") if "lng" in values or base is None else base.lng
        out["lat"], out["lng"] = location(lat, lng, _text(values, "coord"))
    if given("hours"):
        text = _text(values, "hours")
        try:
            out["hours"] = hours.parse(text).text if text else ""
        except hours.HoursError as exc:
            raise PlaceError(f"营业时间：{exc}", field="hours") from None
    if given("phone"):
        text = _text(values, "phone")
        try:
            out["phone"] = normalise_phone(text) if text else ""
        except DomainError as exc:
            raise PlaceError(exc.message, field="phone") from None
    if given("offerings"):
        out["offerings"] = _text(values, "offerings")
    if "verified" in values:
        out["verified"] = _verified(values["verified"])
    return out


async def find(place_id: int) -> Place | None:
    return await Place.get_or_none(pk=place_id)


async def all_places() -> list[Place]:
    """Every place, for the admins' page: unverified first, then by kind."""
    return await Place.all().order_by("verified", "kind", "id")


async def get(place_id: int) -> Place:
    place = await Place.get_or_none(pk=place_id)
    if place is None:
        raise PlaceError(f"没有编号为 {place_id} 的服务点", code="not_found")
    return place


async def create(redis: Redis, values: dict[str, Any], source: PlaceSource) -> Place:
    fields = clean(values)
    if await Place.exists(name=fields["name"], address=fields["address"]):
        raise PlaceError("同名同地址的服务点已经有了", code="conflict", field="name")
    place = await Place.create(**fields, source=source)
    await index.sync(redis, place)
    return place


async def update(redis: Redis, place: Place, values: dict[str, Any]) -> Place:
    """Change the fields given; the index follows."""
    fields = clean(values, base=place)
    name, address = fields.get("name", place.name), fields.get("address", place.address)
    if (name, address) != (place.name, place.address) and await Place.exists(
        name=name, address=address
    ):
        raise PlaceError("同名同地址的服务点已经有了", code="conflict", field="name")
    place.update_from_dict(fields)
    await place.save()
    await index.sync(redis, place)
    return place


async def set_verified(redis: Redis, place: Place, verified: bool) -> Place:
    place.verified = verified
    await place.save(update_fields=["verified", "updated_at"])
    await index.sync(redis, place)
    return place


async def delete(redis: Redis, place: Place) -> None:
    await place.delete()
    await index.remove(redis, place.pk)


async def public_places() -> list[Place]:
    """What residents may see (the map page, the poster, GeoJSON): verified places only."""
    return await Place.filter(verified=True).order_by("kind", "id")
