"""Canteen rules shared by the bot, the CLI and (later) the REST API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from canteen import catalog, texts
from canteen.menu_parser import MenuDraft, render_menu
from community.errors import DomainError
from models.canteen import (
    MEAL_NAMES,
    Canteen,
    CanteenMeal,
    Meal,
    Menu,
    MenuSubscription,
    meal_rank,
)
from models.push import OutboxMessage, PushChannel
from models.users import Role, RoleGrant, User

MINI = "mini"  # MenuSubscription.channel of residents who subscribed in the mini-program
SIGNUP_HINT = "回复“送餐”报名送餐上门"
UNCHANGED = "这份菜单和已发布的一样，没有重复推送。"


async def staff_canteen(openid: str) -> Canteen | None:
    """The canteen this user may publish for: canteen staff of it, or any admin (first canteen)."""
    grants = await RoleGrant.filter(user__openid=openid, role__in=[Role.CANTEEN_STAFF, Role.ADMIN])
    for grant in grants:
        if grant.role == Role.CANTEEN_STAFF and grant.canteen_id is not None:
            return await Canteen.get_or_none(pk=grant.canteen_id)
    if any(g.role == Role.ADMIN for g in grants):
        return await Canteen.all().order_by("id").first()
    return None


async def default_canteen() -> Canteen | None:
    # One canteen per community today; with several, the resident's nearest would be chosen.
    return await catalog.cached(("canteen",), Canteen.all().order_by("id").first)


async def canteen_by_id(canteen_id: int) -> Canteen | None:
    """The canteen with this id, or None (kept a few seconds: catalog): a sign-up under way
    names its canteen at every step."""
    return await catalog.cached(("canteen", canteen_id), lambda: Canteen.get_or_none(pk=canteen_id))


@dataclass(frozen=True)
class MenuTemplates:
    """WeChat templates for menu pushes, from settings (both optional)."""

    mini: str | None = None  # mini-program subscribe message (thing1, thing2, date3)
    official: str | None = None  # Official Account template (first, keyword1-3, remark)

    @classmethod
    def of(cls, settings: Any) -> MenuTemplates:
        if settings is None:
            return cls()
        return cls(settings.mini_menu_template_id, settings.wechat_menu_template_id)


@dataclass(frozen=True)
class Publication:
    """What `publish_menu` did: the menu, how many residents and groups get it pushed, and
    whether anything changed (an identical republish changes and pushes nothing). Unpacks as
    (menu, residents, groups)."""

    menu: Menu
    residents: int
    groups: int
    changed: bool = True

    def __iter__(self) -> Iterator[Any]:
        return iter((self.menu, self.residents, self.groups))


async def publish_menu(
    canteen: Canteen, draft: MenuDraft, staff_openid: str, templates: MenuTemplates | None = None
) -> Publication:
    """Save the menu and queue its push, in one transaction.

    Publishing the same day and meal again is a correction: it replaces the menu and the
    correction is pushed (new dedupe keys per version, so nobody gets one version twice).
    Publishing it again unchanged (a double 确认, a retried PUT) is a no-op: nothing is written
    or pushed. Two publications at once are taken one after the other (the first write in the
    transaction locks the menu's row; two first publications race on the unique key, and the
    loser starts over and finds the winner's menu).
    Residents who subscribed in the mini-program get its subscribe message (templates.mini,
    fields thing1 canteen and meal, thing2 dishes, date3 day); without a template configured
    they are skipped, since a mini-program openid cannot receive Official Account messages.
    Official Account subscribers get a customer-service message; WeChat refuses those (45015)
    to users silent for 48 hours, so with templates.official each carries a template message
    the worker sends instead.
    """
    templates = templates or MenuTemplates()
    try:
        return await _publish(canteen, draft, staff_openid, templates)
    except IntegrityError:  # another first publication of this menu won the race
        return await _publish(canteen, draft, staff_openid, templates)
    finally:
        catalog.clear()  # committed (or not): menu questions read the database again


async def _publish(
    canteen: Canteen, draft: MenuDraft, staff_openid: str, templates: MenuTemplates
) -> Publication:
    mini_template = templates.mini
    async with in_transaction() as conn:
        # Write first: PostgreSQL locks the row, SQLite takes its write lock now (see
        # delivery.service._lock), so a concurrent publication reads this one's result.
        await (
            Menu.filter(canteen=canteen, date=draft.date, meal=draft.meal)
            .using_db(conn)
            .update(version=F("version"))
        )
        menu = (
            await Menu.filter(canteen=canteen, date=draft.date, meal=draft.meal)
            .using_db(conn)
            .first()
        )
        fields = {
            "dishes": [{"name": d.name, "kind": d.kind.value} for d in draft.dishes],
            "price_cents": draft.price_cents,
            "published_by": staff_openid,
        }
        if menu is not None and (menu.dishes, menu.price_cents) == (
            fields["dishes"],
            fields["price_cents"],
        ):
            return Publication(menu, 0, 0, changed=False)
        if menu is None:
            menu = await Menu.create(
                canteen=canteen, date=draft.date, meal=draft.meal, using_db=conn, **fields
            )
        else:
            menu.update_from_dict({**fields, "version": menu.version + 1})
            await menu.save(using_db=conn)
        body = render_menu(canteen.name, draft)
        text = f"【菜单更正】\n{body}" if menu.version > 1 else body
        text = f"{text}\n{SIGNUP_HINT}"
        unfollowed = set(
            await User.filter(followed=False).using_db(conn).values_list("openid", flat=True)
        )
        subscribers = [
            (o, channel)
            for o, channel in await MenuSubscription.filter(active=True)
            .using_db(conn)
            .values_list("openid", "channel")
            if o not in unfollowed and (channel != MINI or mini_template)
        ]
        now = dt.datetime.now(dt.UTC)
        tag = f"menu:{menu.pk}:v{menu.version}"
        mini = _mini_payload(canteen, draft, menu, mini_template) if mini_template else {}
        cs: dict[str, Any] = {"text": text}
        if templates.official:
            cs["fallback"] = {
                "channel": PushChannel.WECHAT_TEMPLATE.value,
                "payload": _official_payload(canteen, draft, menu, templates.official),
            }
        rows = [
            OutboxMessage(
                channel=PushChannel.MINI_SUBSCRIBE if channel == MINI else PushChannel.WECHAT_CS,
                target=o,
                payload=mini if channel == MINI else cs,
                dedupe_key=f"{tag}:{o}",
                next_attempt_at=now,
            )
            for o, channel in subscribers
        ] + [
            OutboxMessage(
                channel=PushChannel.WECOM_ROBOT,
                target=key,
                payload={"msgtype": "text", "content": text},
                dedupe_key=f"{tag}:robot:{key}",
                next_attempt_at=now,
            )
            for key in canteen.robot_keys
        ]
        if rows:
            await OutboxMessage.bulk_create(rows, batch_size=500, using_db=conn)
    return Publication(menu, len(subscribers), len(canteen.robot_keys))


def _clip(text: str, limit: int = 20) -> str:
    """Subscribe-message `thing` fields hold at most 20 characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mini_payload(
    canteen: Canteen, draft: MenuDraft, menu: Menu, template_id: str
) -> dict[str, object]:
    correction = "更正·" if menu.version > 1 else ""
    return {
        "template_id": template_id,
        "page": f"pages/menu/index?date={draft.date.isoformat()}&meal={draft.meal.value}",
        "data": {
            "thing1": _clip(f"{correction}{canteen.name}{MEAL_NAMES[draft.meal]}"),
            "thing2": _clip("、".join(d.name for d in draft.dishes)),
            "date3": draft.date.isoformat(),
        },
    }


def _official_payload(
    canteen: Canteen, draft: MenuDraft, menu: Menu, template_id: str
) -> dict[str, object]:
    correction = "（更正）" if menu.version > 1 else ""
    meal = MEAL_NAMES[draft.meal]
    return {
        "template_id": template_id,
        "data": {
            "first": f"{canteen.name}{draft.date.month}月{draft.date.day}日{meal}菜单{correction}",
            "keyword1": f"{canteen.name}{meal}",
            "keyword2": "、".join(d.name for d in draft.dishes)[:100],
            "keyword3": draft.date.isoformat(),
            "remark": SIGNUP_HINT,
        },
    }


async def find_menu(canteen: Canteen, day: dt.date, meal: Meal) -> Menu | None:
    return await Menu.get_or_none(canteen=canteen, date=day, meal=meal)


async def menus_on(canteen: Canteen, day: dt.date) -> list[Menu]:
    """The canteen's menus for one day, in meal order."""
    return await Menu.filter(canteen=canteen, date=day).order_by("meal")


async def find_menus(canteen: Canteen, day: dt.date, meals: list[Meal]) -> dict[Meal, Menu]:
    """The published menus of `meals` on `day`, by meal, in one query (a resident asking "今天
    吃什么" wants every meal: one query each was most of what the question cost)."""
    day_menus = await _menus_of_day(canteen.pk, day)
    return {meal: day_menus[meal] for meal in map(Meal, meals) if meal in day_menus}


async def _menus_of_day(canteen_id: int, day: dt.date) -> dict[Meal, Menu]:
    """Every published menu of the canteen on `day`, by meal (kept a few seconds: catalog)."""

    async def load() -> dict[Meal, Menu]:
        return {Meal(m.meal): m for m in await Menu.filter(canteen_id=canteen_id, date=day)}

    return await catalog.cached(("menus", canteen_id, day), load)


async def price_on(meal: CanteenMeal, day: dt.date) -> int:
    """The price of `meal` on `day`, in cents: the one source for every reply that quotes it
    (menus, the sign-up summary, "多少钱"). A menu published with a price sets that day's;
    otherwise the meal's standing price (add-canteen) holds."""
    menu = await Menu.get_or_none(canteen_id=meal.canteen_id, date=day, meal=meal.meal)  # type: ignore[attr-defined]
    return _price(meal, menu)


async def prices_on(meals: list[CanteenMeal], day: dt.date) -> list[int]:
    """`price_on` of each of `meals`, in their order, in one query (a sign-up quotes every
    meal)."""
    menus = {}
    for canteen_id in {m.canteen_id for m in meals}:  # type: ignore[attr-defined]
        for meal, menu in (await _menus_of_day(canteen_id, day)).items():
            menus[(canteen_id, meal)] = menu
    return [_price(m, menus.get((m.canteen_id, Meal(m.meal)))) for m in meals]  # type: ignore[attr-defined]


def _price(meal: CanteenMeal, menu: Menu | None) -> int:
    """A menu published with a price sets that day's; otherwise the meal's standing price."""
    if menu is not None and menu.price_cents is not None:
        return menu.price_cents
    return meal.price_cents


async def meals_of(canteen: Canteen) -> list[CanteenMeal]:
    """The canteen's meals, breakfast to dinner (kept a few seconds: see catalog)."""

    async def load() -> list[CanteenMeal]:
        rows = await CanteenMeal.filter(canteen_id=canteen.pk)
        return sorted(rows, key=lambda m: meal_rank(m.meal))

    return list(await catalog.cached(("meals", canteen.pk), load))


async def set_subscription(openid: str, active: bool, channel: str = "wechat") -> bool:
    """Returns whether anything changed. `channel` is where the resident subscribed ("wechat"
    for the Official Account, "mini" for the mini-program)."""
    sub = await MenuSubscription.get_or_none(openid=openid)
    if sub is None:
        if not active:
            return False
        await MenuSubscription.create(openid=openid, active=True, channel=channel)
        return True
    if sub.active == active and (not active or sub.channel == channel):
        return False
    sub.active, sub.channel = active, channel if active else sub.channel
    await sub.save(update_fields=["active", "channel", "updated_at"])
    return True


async def may_publish(openid: str, canteen: Canteen) -> bool:
    """Staff publish for their own canteen only; admins for any (as `staff_canteen` allows)."""
    grants = await RoleGrant.filter(user__openid=openid, role__in=[Role.CANTEEN_STAFF, Role.ADMIN])
    return any(
        g.role == Role.ADMIN or (g.role == Role.CANTEEN_STAFF and g.canteen_id == canteen.pk)
        for g in grants
    )


# ---- last week's menu as a draft -------------------------------------------------------------

MAX_COPY_DAYS = 7


@dataclass(frozen=True)
class Copied:
    """Drafts made from last week's menus (nothing published), and what last week lacked."""

    drafts: list[MenuDraft]
    missing: list[tuple[dt.date, list[Meal]]]  # source day, its meals with no menu


def same_weekday_last_week(target: dt.date, weekday: int | None, today: dt.date) -> dt.date:
    """The day a copy is made from: 7 days before `target`, or the named weekday (0 = Monday)
    of the week before `today`'s ("照上周二的")."""
    if weekday is None:
        return target - dt.timedelta(days=7)
    monday = today - dt.timedelta(days=today.weekday() + 7)
    return monday + dt.timedelta(days=weekday)


async def copy_last_week(
    staff: str,
    canteen: Canteen,
    days: list[dt.date],
    meals: list[Meal] | None,
    today: dt.date,
    weekday: int | None = None,
) -> Copied:
    """Drafts for `days` (each meal in `meals`, or every meal the canteen serves) made from
    the menu published 7 days earlier (or on last week's `weekday`). Nothing is saved or pushed:
    the drafts go through the same confirmation as a pasted menu (`publish_menu` on 确认).
    DomainError when nothing at all was published for those days and meals last week."""
    if not await may_publish(staff, canteen):
        raise DomainError(texts.NOT_STAFF_COPY, code="not_staff")
    days = sorted(set(days))
    if len(days) > MAX_COPY_DAYS:
        raise DomainError(texts.TOO_MANY_DAYS, code="too_many_days", field="days")
    if any(day < today for day in days):
        raise DomainError(texts.PAST_DAY, code="past", field="days")
    wanted = sorted(
        meals or [m.meal for m in await meals_of(canteen)] or [Meal.LUNCH], key=meal_rank
    )
    drafts: list[MenuDraft] = []
    missing: list[tuple[dt.date, list[Meal]]] = []
    for day in days:
        source = same_weekday_last_week(day, weekday, today)
        found = await find_menus(canteen, source, wanted)
        for meal in wanted:
            menu = found.get(meal)
            if menu is None:
                continue
            drafts.append(
                MenuDraft.from_json(
                    {
                        "date": day.isoformat(),
                        "meal": meal.value,
                        "dishes": menu.dishes,
                        "price_cents": menu.price_cents,
                    }
                )
            )
        lacking = [meal for meal in wanted if meal not in found]
        if lacking:
            missing.append((source, lacking))
    if not drafts:
        source, lacking = missing[0]
        names = "、".join(MEAL_NAMES[m] for m in lacking)
        raise DomainError(texts.no_menu(source, names), code="no_menu_last_week")
    return Copied(drafts, missing)
