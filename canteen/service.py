"""Canteen rules shared by the bot, the CLI and (later) the REST API."""

from __future__ import annotations

import datetime as dt

from tortoise.transactions import in_transaction

from canteen.menu_parser import MenuDraft, render_menu
from models.canteen import Canteen, CanteenMeal, Meal, Menu, MenuSubscription
from models.push import OutboxMessage, PushChannel
from models.users import Role, RoleGrant, User

SIGNUP_HINT = "回复“送餐”报名送餐上门"


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
    return await Canteen.all().order_by("id").first()


async def publish_menu(
    canteen: Canteen, draft: MenuDraft, staff_openid: str
) -> tuple[Menu, int, int]:
    """Save the menu and queue its push, in one transaction. Returns (menu, residents, groups).

    Publishing the same day and meal again is a correction: it replaces the menu and the
    correction is pushed (new dedupe keys per version, so nobody gets one version twice).
    """
    async with in_transaction() as conn:
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
        openids = [
            o
            for o in await MenuSubscription.filter(active=True)
            .using_db(conn)
            .values_list("openid", flat=True)
            if o not in unfollowed
        ]
        now = dt.datetime.now(dt.UTC)
        tag = f"menu:{menu.pk}:v{menu.version}"
        rows = [
            OutboxMessage(
                channel=PushChannel.WECHAT_CS,
                target=o,
                payload={"text": text},
                dedupe_key=f"{tag}:{o}",
                next_attempt_at=now,
            )
            for o in openids
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
    return menu, len(openids), len(canteen.robot_keys)


async def find_menu(canteen: Canteen, day: dt.date, meal: Meal) -> Menu | None:
    return await Menu.get_or_none(canteen=canteen, date=day, meal=meal)


async def meals_of(canteen: Canteen) -> list[CanteenMeal]:
    order = {Meal.BREAKFAST: 0, Meal.LUNCH: 1, Meal.DINNER: 2}
    return sorted(await CanteenMeal.filter(canteen=canteen), key=lambda m: order[m.meal])


async def set_subscription(openid: str, active: bool) -> bool:
    """Returns whether anything changed."""
    sub = await MenuSubscription.get_or_none(openid=openid)
    if sub is None:
        if not active:
            return False
        await MenuSubscription.create(openid=openid, active=True)
        return True
    if sub.active == active:
        return False
    sub.active = active
    await sub.save(update_fields=["active", "updated_at"])
    return True
