"""The community canteen (爱心食堂): its meals, published menus and who subscribed to them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Meal(StrEnum):
    BREAKFAST = "breakfast"
    LUNCH = "lunch"
    DINNER = "dinner"


MEAL_NAMES = {Meal.BREAKFAST: "早餐", Meal.LUNCH: "午餐", Meal.DINNER: "晚餐"}
# The day's meals in the order they are served: lists, menus and rosters go breakfast to dinner.
MEAL_ORDER = (Meal.BREAKFAST, Meal.LUNCH, Meal.DINNER)
_MEAL_RANK = {meal: rank for rank, meal in enumerate(MEAL_ORDER)}


def meal_rank(meal: Meal | str) -> int:
    """A meal's place in the day (0 for breakfast), as a sort key; a stored string works too."""
    return _MEAL_RANK[Meal(meal)]


class DishKind(StrEnum):
    COLD = "cold"
    HOT = "hot"
    SOUP = "soup"
    STAPLE = "staple"
    OTHER = "other"


class Canteen(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    address = fields.CharField(max_length=128)
    lat = fields.FloatField(null=True)  # GCJ-02
    lng = fields.FloatField(null=True)
    # WeCom group-robot webhook keys of the community groups that get the menu.
    robot_keys: fields.JSONField[list[str]] = fields.JSONField(default=list)
    # Delivery sign-up limits for residents (staff bookings are exempt; delivery.service.book):
    # the portions one account may hold for one meal on one day, all its recipients together,
    # and the portions one recipient may get for one meal. None: the community default
    # (delivery.service.PORTIONS_PER_ACCOUNT, PORTIONS_PER_RECIPIENT); nullable so the column
    # is added to a table that has rows on SQLite as on PostgreSQL.
    portions_per_account = fields.IntField(null=True)
    portions_per_recipient = fields.IntField(null=True)
    # Meal subsidy per tier in cents ({"age80": 400, ...}): what the canteen claims from the
    # government for one delivered meal; the resident pays the meal's price less it. A tier
    # missing (or None for all): the community default (delivery.subsidy.DEFAULT_SUBSIDY_CENTS).
    subsidy_cents: fields.JSONField[dict[str, int] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    meals: fields.ReverseRelation[CanteenMeal]
    menus: fields.ReverseRelation[Menu]

    class Meta:
        table = "canteens"

    def __str__(self) -> str:
        return self.name


class CanteenMeal(Model):
    """One meal a canteen serves: hours, price, sign-up cutoff and delivery capacity."""

    id = fields.IntField(primary_key=True)
    canteen: fields.ForeignKeyRelation[Canteen] = fields.ForeignKeyField(
        "canteen.Canteen", related_name="meals", on_delete=fields.CASCADE
    )
    meal = fields.CharEnumField(Meal, max_length=16)
    serve_from = fields.CharField(max_length=5)  # "11:00"
    serve_until = fields.CharField(max_length=5)  # "12:30"
    price_cents = fields.IntField(default=1000)
    signup_cutoff = fields.CharField(max_length=5)  # same day, e.g. "09:30"
    delivery_capacity = fields.IntField(default=50)

    class Meta:
        table = "canteen_meals"
        unique_together = (("canteen", "meal"),)

    def __str__(self) -> str:
        return f"{self.meal} {self.serve_from}-{self.serve_until}"


class Menu(Model):
    """The published menu of one canteen for one day and meal. A correction replaces it."""

    id = fields.IntField(primary_key=True)
    canteen: fields.ForeignKeyRelation[Canteen] = fields.ForeignKeyField(
        "canteen.Canteen", related_name="menus", on_delete=fields.CASCADE
    )
    date = fields.DateField()
    meal = fields.CharEnumField(Meal, max_length=16)
    # [{"name": "红烧肉", "kind": "hot"}, ...]
    dishes: fields.JSONField[list[dict[str, Any]]] = fields.JSONField()
    price_cents = fields.IntField(null=True)
    version = fields.IntField(default=1)
    published_by = fields.CharField(max_length=64)
    published_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "menus"
        unique_together = (("canteen", "date", "meal"),)

    def __str__(self) -> str:
        return f"{self.date} {self.meal} v{self.version}"


class MenuSubscription(Model):
    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    channel = fields.CharField(max_length=16, default="wechat")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "menu_subscriptions"

    def __str__(self) -> str:
        return f"MenuSubscription#{self.pk}"
