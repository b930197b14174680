"""The craftsman directory (能人巧匠): craftsmen, their reviews and complaints about them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Status(StrEnum):
    PENDING = "pending"  # self-registered, waiting for an admin
    APPROVED = "approved"  # searchable
    PAUSED = "paused"  # hidden at the craftsman's own wish (holiday, busy)
    SUSPENDED = "suspended"  # hidden after upheld complaints; only an admin reinstates


class Source(StrEnum):
    SELF = "self"  # registered through the bot
    IMPORT = "import"  # a community's spreadsheet
    DEMO = "demo"


class Craftsman(Model):
    """A tradesperson residents can find. Coordinates are GCJ-02 (what WeChat sends)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    # Category ids from LABELS.md (e.g. ["tailor", "shoe_repair"]); few per row, so JSON
    # rather than a join table: search goes through the Redis index, not SQL.
    categories: fields.JSONField[list[str]] = fields.JSONField(default=list)
    description = fields.CharField(max_length=500, default="")
    phone = fields.CharField(max_length=32)
    address = fields.CharField(max_length=200, default="")
    compound = fields.CharField(max_length=64, null=True, db_index=True)
    lat = fields.FloatField()
    lng = fields.FloatField()
    home_visits = fields.BooleanField(default=False)
    # OSM-like opening hours, e.g. "Mo-Fr 08:00-12:00,13:00-17:30; Sa 09:00-12:00"; "" = unknown.
    hours = fields.CharField(max_length=200, default="")
    status = fields.CharEnumField(Status, max_length=16, default=Status.PENDING, db_index=True)
    rating_avg = fields.FloatField(default=0.0)
    rating_count = fields.IntField(default=0)
    # The craftsman's own WeChat openid when self-registered (one entry per person).
    openid = fields.CharField(max_length=64, null=True, unique=True)
    source = fields.CharEnumField(Source, max_length=8, default=Source.SELF)
    notes = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # A pause with an end (休息到下周一): still APPROVED and indexed, but searches skip the card
    # before this day (China time), so coming back needs no job: the date simply passes.
    paused_until = fields.DateField(null=True)

    reviews: fields.ReverseRelation[Review]
    complaints: fields.ReverseRelation[Complaint]
    changes: fields.ReverseRelation[ListingChange]

    class Meta:
        table = "craftsmen"

    def __str__(self) -> str:
        return f"Craftsman#{self.pk} {self.name}"


class Review(Model):
    """1-5 stars and a short text, one per resident and craftsman (a new one replaces it)."""

    # No semicolons in model docstrings: they become table comments, and the SQLite schema
    # editor splits statements on ";".

    id = fields.IntField(primary_key=True)
    craftsman: fields.ForeignKeyRelation[Craftsman] = fields.ForeignKeyField(
        "directory.Craftsman", related_name="reviews", on_delete=fields.CASCADE
    )
    stars = fields.SmallIntField()
    text = fields.CharField(max_length=200, default="")
    reviewer = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    # The craftsman's answer (回复评价 N ...), one per review: a second one replaces it.
    reply = fields.CharField(max_length=200, null=True)
    replied_at = fields.DatetimeField(null=True)

    class Meta:
        table = "craftsman_reviews"
        unique_together = (("craftsman", "reviewer"),)

    def __str__(self) -> str:
        return f"Review#{self.pk} {self.stars}★"


class Complaint(Model):
    """A complaint from a resident. An admin decides if it is upheld (None = not yet decided)."""

    id = fields.IntField(primary_key=True)
    craftsman: fields.ForeignKeyRelation[Craftsman] = fields.ForeignKeyField(
        "directory.Craftsman", related_name="complaints", on_delete=fields.CASCADE
    )
    reason = fields.CharField(max_length=200)
    complainant = fields.CharField(max_length=64)
    upheld = fields.BooleanField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "craftsman_complaints"

    def __str__(self) -> str:
        return f"Complaint#{self.pk} on Craftsman#{self.craftsman_id}"  # type: ignore[attr-defined]


class ListingChange(Model):
    """One change a craftsman made to their own listing by chat.

    For the console's history (营业时间改成... by whom, when). `pending` marks a change the
    community must approve first (a new trade, a move far away): it is applied only then, the
    listing stays as it was meanwhile."""

    id = fields.IntField(primary_key=True)
    craftsman: fields.ForeignKeyRelation[Craftsman] = fields.ForeignKeyField(
        "directory.Craftsman", related_name="changes", on_delete=fields.CASCADE
    )
    field = fields.CharField(max_length=32)  # hours, description, categories, location, ...
    old = fields.CharField(max_length=500, default="")  # shown as said to the craftsman
    new = fields.CharField(max_length=500, default="")
    # The new values to store, as the row's fields ({"categories": [...]}), for a pending one.
    values: fields.JSONField[dict[str, object]] = fields.JSONField(default=dict)
    by = fields.CharField(max_length=64)  # who changed it (openid)
    pending = fields.BooleanField(default=False)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "craftsman_changes"

    def __str__(self) -> str:
        return f"ListingChange#{self.pk} {self.field}"
