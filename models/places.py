"""Service points of the 15-minute circle (一刻钟便民生活圈): pharmacies, markets, the health
station, express stations, rider stations, public toilets, ... Coordinates are GCJ-02."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class PlaceSource(StrEnum):
    IMPORT = "import"  # a community's spreadsheet
    CONSOLE = "console"  # entered by staff in the console or through the API
    DEMO = "demo"


class Place(Model):
    """A service point residents can walk to. Only verified ones are shown to residents."""

    # No semicolons in model docstrings: they become table comments, and the SQLite schema
    # editor splits statements on ";".

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    # One of the place kinds of LABELS.md (places.kinds.KINDS), e.g. "pharmacy".
    kind = fields.CharField(max_length=24, db_index=True)
    address = fields.CharField(max_length=200, default="")
    lat = fields.FloatField()
    lng = fields.FloatField()
    # OSM-like opening hours as for craftsmen (community.hours); "" = not known.
    hours = fields.CharField(max_length=200, default="")
    phone = fields.CharField(max_length=32, default="")
    offerings = fields.CharField(max_length=500, default="")  # 充电、饮水、休息 / 代收快递
    verified = fields.BooleanField(default=False, db_index=True)
    source = fields.CharEnumField(PlaceSource, max_length=8, default=PlaceSource.CONSOLE)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "places"
        # A re-imported spreadsheet updates its rows: a place is its name at its address.
        unique_together = (("name", "address"),)

    def __str__(self) -> str:
        return f"Place#{self.pk} {self.name}"
