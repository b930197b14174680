"""Canteens and their menus over JSON: read a day or a week; staff publish and correct."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from canteen import service
from canteen.menu_parser import KIND_NAMES, MAX_DISHES, Dish, MenuDraft, render_menu
from handlers.api_v1.core import (
    ID,
    INT,
    PAGE_QUERY,
    STR,
    Call,
    Endpoint,
    forbidden,
    invalid,
    not_found,
    obj,
    ok,
    page_schema,
    ref,
)
from handlers.keys import settings_key
from models.canteen import MEAL_NAMES, MEAL_ORDER, Canteen, DishKind, Meal, Menu


async def canteen_out(c: Canteen) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "address": c.address,
        "lat": c.lat,
        "lng": c.lng,
        "meals": [
            {
                "meal": m.meal.value,
                "meal_name": MEAL_NAMES[m.meal],
                "serve_from": m.serve_from,
                "serve_until": m.serve_until,
                "price_cents": m.price_cents,
                "signup_cutoff": m.signup_cutoff,
            }
            for m in await service.meals_of(c)
        ],
    }


def _draft(menu: Menu) -> MenuDraft:
    return MenuDraft(
        date=menu.date,
        meal=menu.meal,
        dishes=[Dish(d["name"], DishKind(d["kind"])) for d in menu.dishes],
        price_cents=menu.price_cents,
    )


def menu_out(canteen: Canteen, menu: Menu) -> dict[str, Any]:
    return {
        "id": menu.pk,
        "canteen_id": canteen.pk,
        "date": menu.date.isoformat(),
        "meal": menu.meal.value,
        "meal_name": MEAL_NAMES[menu.meal],
        "dishes": [
            {"name": d["name"], "kind": d["kind"], "kind_name": KIND_NAMES[DishKind(d["kind"])]}
            for d in menu.dishes
        ],
        "price_cents": menu.price_cents,
        "version": menu.version,
        "published_at": menu.published_at.isoformat(),
        "text": render_menu(canteen.name, _draft(menu)),
    }


async def _canteen(call: Call) -> Canteen:
    canteen = await Canteen.get_or_none(pk=call.path["canteen_id"])
    if canteen is None:
        raise not_found("食堂")
    return canteen


async def list_canteens(call: Call) -> web.Response:
    """Every canteen with its meals, hours and prices."""
    page, per_page = call.query["page"], call.query["per_page"]
    query = Canteen.all().order_by("id")
    total = await query.count()
    rows = await query.offset((page - 1) * per_page).limit(per_page)
    items = [await canteen_out(c) for c in rows]
    return ok(
        {
            "items": items,
            "page": page,
            "per_page": per_page,
            "total": total,
            "has_more": page * per_page < total,
        }
    )


async def get_canteen(call: Call) -> web.Response:
    """One canteen with its meals."""
    return ok(await canteen_out(await _canteen(call)))


async def list_menus(call: Call) -> web.Response:
    """Published menus from `date` (today by default) for `days` days (7 = a week)."""
    canteen = await _canteen(call)
    start = (
        dt.date.fromisoformat(call.query["date"])
        if call.query.get("date")
        else call.services.clock().date()
    )
    menus = []
    for offset in range(call.query["days"]):
        day = start + dt.timedelta(days=offset)
        for meal in MEAL_ORDER:
            menu = await service.find_menu(canteen, day, meal)
            if menu is not None:
                menus.append(menu_out(canteen, menu))
    return ok(
        {
            "canteen_id": canteen.pk,
            "from": start.isoformat(),
            "days": call.query["days"],
            "menus": menus,
        }
    )


async def publish_menu(call: Call) -> web.Response:
    """Publish (201) or correct (200) a day's meal; subscribers and groups get it pushed. The
    same menu again (a retry) is a no-op: 200, pushed to nobody."""
    canteen = await _canteen(call)
    if not await service.may_publish(call.me.openid, canteen):
        raise forbidden("只有本食堂的工作人员可以发布菜单。")
    dishes: list[Dish] = []
    for d in call.body["dishes"]:
        name = d["name"].strip()
        if name and all(x.name != name for x in dishes):
            dishes.append(Dish(name, DishKind(d.get("kind", DishKind.HOT.value))))
    if not dishes:
        raise invalid({"dishes": "没看到菜名"})
    draft = MenuDraft(
        date=dt.date.fromisoformat(call.path["date"]),
        meal=Meal(call.path["meal"]),
        dishes=dishes,
        price_cents=call.body.get("price_cents"),
    )
    templates = service.MenuTemplates.of(call.app[settings_key])
    done = await service.publish_menu(canteen, draft, call.me.openid, templates)
    pushed = {"residents": done.residents, "groups": done.groups}
    body = {**menu_out(canteen, done.menu), "pushed_to": pushed}
    # A retried identical PUT changes nothing and pushes nothing: 200, pushed to nobody.
    return ok(body, status=201 if done.changed and done.menu.version == 1 else 200)


_NULL_NUM = {"type": ["number", "null"]}
_MEALS = [m.value for m in Meal]
_CANTEEN_ID = {"canteen_id": ID}

SCHEMAS: dict[str, Any] = {
    "Canteen": obj(
        ["id", "name", "address", "lat", "lng", "meals"],
        {
            "id": INT,
            "name": STR,
            "address": STR,
            "lat": _NULL_NUM,
            "lng": _NULL_NUM,
            "meals": {
                "type": "array",
                "items": obj(
                    [
                        "meal",
                        "meal_name",
                        "serve_from",
                        "serve_until",
                        "price_cents",
                        "signup_cutoff",
                    ],
                    {
                        "meal": {"type": "string", "enum": _MEALS},
                        "meal_name": STR,
                        "serve_from": STR,
                        "serve_until": STR,
                        "price_cents": INT,
                        "signup_cutoff": STR,
                    },
                ),
            },
        },
    ),
    "Menu": obj(
        [
            "id",
            "canteen_id",
            "date",
            "meal",
            "meal_name",
            "dishes",
            "price_cents",
            "version",
            "published_at",
            "text",
        ],
        {
            "id": INT,
            "canteen_id": INT,
            "date": {"type": "string", "format": "date"},
            "meal": {"type": "string", "enum": _MEALS},
            "meal_name": STR,
            "dishes": {
                "type": "array",
                "items": obj(
                    ["name", "kind", "kind_name"],
                    {
                        "name": STR,
                        "kind": {"type": "string", "enum": [k.value for k in DishKind]},
                        "kind_name": STR,
                    },
                ),
            },
            "price_cents": {"type": ["integer", "null"]},
            "version": INT,
            "published_at": {"type": "string", "format": "date-time"},
            "text": {"type": "string", "description": "居民看到的菜单文字"},
            "pushed_to": obj(["residents", "groups"], {"residents": INT, "groups": INT}),
        },
    ),
    "MenuDays": obj(
        ["canteen_id", "from", "days", "menus"],
        {
            "canteen_id": INT,
            "from": {"type": "string", "format": "date"},
            "days": INT,
            "menus": {"type": "array", "items": ref("Menu")},
        },
    ),
    "CanteenPage": page_schema("Canteen"),
}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/canteens",
        list_canteens,
        "食堂列表",
        "canteen",
        query=PAGE_QUERY,
        ok_schema=ref("CanteenPage"),
    ),
    Endpoint(
        "GET",
        "/api/canteens/{canteen_id}",
        get_canteen,
        "食堂详情（餐次、时间、价格）",
        "canteen",
        path_params=_CANTEEN_ID,
        ok_schema=ref("Canteen"),
    ),
    Endpoint(
        "GET",
        "/api/canteens/{canteen_id}/menus",
        list_menus,
        "某天或一周的菜单",
        "canteen",
        path_params=_CANTEEN_ID,
        query={
            "date": {"type": "string", "format": "date", "description": "默认今天"},
            "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 1},
        },
        ok_schema=ref("MenuDays"),
    ),
    Endpoint(
        "PUT",
        "/api/canteens/{canteen_id}/menus/{date}/{meal}",
        publish_menu,
        "发布或更正菜单（本食堂工作人员）",
        "canteen",
        path_params={
            **_CANTEEN_ID,
            "date": {"type": "string", "format": "date"},
            "meal": {"type": "string", "enum": _MEALS},
        },
        body=obj(
            ["dishes"],
            {
                "dishes": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_DISHES,
                    "items": obj(
                        ["name"],
                        {
                            "name": {"type": "string", "minLength": 1, "maxLength": 20},
                            "kind": {"type": "string", "enum": [k.value for k in DishKind]},
                        },
                    ),
                },
                "price_cents": {"type": ["integer", "null"], "minimum": 0, "maximum": 100000},
            },
        ),
        ok_schema=ref("Menu"),
        extra_statuses=(201, 403),
    ),
]
