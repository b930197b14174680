"""People who talk to the bot, and the roles the community grants them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    RESIDENT = "resident"
    CRAFTSMAN = "craftsman"
    CANTEEN_STAFF = "canteen_staff"
    VOLUNTEER = "volunteer"
    ADMIN = "admin"


class User(Model):
    """A WeChat user, keyed by the openid WeChat gives us for this account."""

    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    channel = fields.CharField(max_length=16, default="wechat")
    # False after an unsubscribe event: no pushes go to someone who unfollowed.
    followed = fields.BooleanField(default=True)
    # Walking speed for directory answers is slower for residents known to be elderly.
    elderly = fields.BooleanField(default=False)
    compound = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    roles: fields.ReverseRelation[RoleGrant]

    class Meta:
        table = "users"

    def __str__(self) -> str:
        return f"User#{self.pk}"


class RoleGrant(Model):
    """A role held by a user, optionally scoped to one canteen or one area (e.g. buildings 1-5)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="roles", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(Role, max_length=16)
    canteen_id = fields.IntField(null=True)
    area = fields.CharField(max_length=64, null=True)
    # For volunteers: "grid" marks the area's grid worker (网格员), who gets delivery alerts.
    duty = fields.CharField(max_length=16, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "role_grants"
        unique_together = (("user", "role", "canteen_id", "area"),)

    def __str__(self) -> str:
        return f"{self.role} for User#{self.user_id}"  # type: ignore[attr-defined]


class ErasureStatus(StrEnum):
    DONE = "done"
    REFUSED = "refused"  # a meal past its cutoff was still on its way: asked to come back later


class ErasureRecord(Model):
    """One 删除我的信息 request (PIPL: the community can show it was done): who asked, by a
    short digest of their openid (the account itself is erased), when, and what was removed or
    anonymised, as counts. Nothing here identifies the person."""

    id = fields.IntField(primary_key=True)
    who = fields.CharField(max_length=16, db_index=True)  # privacy.service.who_digest(openid)
    asked_at = fields.DatetimeField()
    status = fields.CharEnumField(ErasureStatus, max_length=16, default=ErasureStatus.DONE)
    # {"cancelled": 2, "recipients": 1, "reports": 1, "family_links": 1, ...}
    removed: fields.JSONField[dict[str, int]] = fields.JSONField(default=dict)

    class Meta:
        table = "privacy_erasures"

    def __str__(self) -> str:
        return f"ErasureRecord#{self.pk} {self.status}"
