"""The console's canteen pages: staff paste a menu, see what the parser understood, and
publish (or correct) it; the dashboard's menu rows. Rules and pushes are canteen.service's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from canteen import service as canteen_service
from canteen import texts as canteen_texts
from canteen.menu_parser import KIND_NAMES, MenuParseError, menu_post, parse_menu, render_menu
from community.errors import DomainError
from handlers.console.common import clock_now, flash_back, render, staff_session
from handlers.keys import settings_key
from models.canteen import MEAL_NAMES


def dish_groups(dishes: list[dict[str, Any]]) -> list[str]:
    """Dishes grouped as "热菜：红烧肉、青菜", once per kind, in the menu's order
    (not 热菜：…；热菜：…)."""
    names = {k.value: v for k, v in KIND_NAMES.items()}
    groups: dict[str, list[str]] = {}
    for d in dishes:
        groups.setdefault(d.get("kind", ""), []).append(d["name"])
    return [
        f"{names[kind]}：{'、'.join(items)}" if names.get(kind) else "、".join(items)
        for kind, items in groups.items()
    ]


async def menus_of_day(canteen: Any, day: Any) -> list[dict[str, Any]]:
    out = []
    for menu in await canteen_service.menus_on(canteen, day):
        out.append(
            {
                "meal": MEAL_NAMES[menu.meal],
                "version": menu.version,
                "price": f"{menu.price_cents / 100:g}元" if menu.price_cents is not None else "",
                "dishes": dish_groups(menu.dishes),
            }
        )
    return out


MENU_EXAMPLE = (
    "发布菜单 明天午餐\n凉菜：拍黄瓜\n热菜：红烧肉、西红柿炒鸡蛋\n汤：紫菜蛋花汤\n主食：米饭\n10元"
)


async def _menu_draft(request: web.Request, form: Any, session: dict[str, Any]) -> Any:
    canteen = await canteen_service.staff_canteen(session["openid"])
    if canteen is None or not await canteen_service.may_publish(session["openid"], canteen):
        raise web.HTTPForbidden(text="只有食堂工作人员可以发布菜单。")
    text = str(form.get("text", "")).strip()[:2000]
    if not text.startswith(("发布", "更新", "更正", "修改")):
        text = "发布菜单 " + text  # the parser reads the day and meal from the first line
    try:
        draft = parse_menu(text, clock_now(request).date())
    except MenuParseError as exc:
        return canteen, text, None, str(exc)
    return canteen, text, draft, None


async def menu_preview(request: web.Request) -> web.Response:
    """What the parser understood, to confirm before anything is published."""
    session, form = await staff_session(request)
    canteen, text, draft, error = await _menu_draft(request, form, session)
    ctx = {
        "csrf": session["csrf"],
        "text": text,
        "error": error,
        "example": MENU_EXAMPLE,
        "preview": render_menu(canteen.name, draft) if draft else None,
        "correction": bool(
            draft and await canteen_service.find_menu(canteen, draft.date, draft.meal)
        ),
    }
    return render(request, "preview.html", ctx, 400 if error else 200)


async def menu_publish(request: web.Request) -> web.Response:
    """Publish (or correct) the confirmed menu; pushes are queued with it."""
    session, form = await staff_session(request)
    canteen, _text, draft, error = await _menu_draft(request, form, session)
    if draft is None:
        raise await flash_back(request, session, f"没有发布：{error}")
    templates = canteen_service.MenuTemplates.of(request.app[settings_key])
    menu, people, groups = await canteen_service.publish_menu(
        canteen, draft, session["openid"], templates
    )
    what = "已更正" if menu.version > 1 else "已发布"
    day = f"{draft.date.month}月{draft.date.day}日{MEAL_NAMES[draft.meal]}"
    raise await flash_back(
        request, session, f"{day}菜单{what}，将推送给{people}位订阅居民和{groups}个群。"
    )


async def menu_copy(request: web.Request) -> web.Response:
    """复制上周菜单为草稿: last week's menus of the day asked (tomorrow by default) as editable
    drafts, each previewed and published as a pasted menu is; nothing is saved here."""
    session, form = await staff_session(request)
    canteen = await canteen_service.staff_canteen(session["openid"])
    if canteen is None:
        raise web.HTTPForbidden(text="只有食堂工作人员可以发布菜单。")
    today = clock_now(request).date()
    try:
        day = dt.date.fromisoformat(str(form.get("day", "")).strip())
    except ValueError:
        day = today + dt.timedelta(days=1)
    try:
        copied = await canteen_service.copy_last_week(
            session["openid"], canteen, [day], None, today
        )
    except DomainError as exc:
        raise await flash_back(request, session, exc.message) from None
    ctx = {
        "csrf": session["csrf"],
        "day": f"{day.month}月{day.day}日",
        "drafts": [menu_post(d) for d in copied.drafts],
        "missing": [
            canteen_texts.missing(source, "、".join(MEAL_NAMES[m] for m in meals))
            for source, meals in copied.missing
        ],
    }
    return render(request, "menu_copy.html", ctx)
