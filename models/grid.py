"""Problems residents report to their grid worker (网格员): 有事就找网格员."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class GridReport(Model):
    """One problem a resident reported, forwarded to the grid workers of the building."""

    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64, db_index=True)
    text = fields.CharField(max_length=300)
    address = fields.CharField(max_length=64)
    building = fields.CharField(max_length=16)
    phone = fields.CharField(max_length=20)
    forwarded_to: fields.JSONField[list[str]] = fields.JSONField(default=list)  # openids told
    created_at = fields.DatetimeField(auto_now_add=True)
    # 我的待办 lists a worker's open reports, urgent ones (a neighbour not seen for days) first;
    # 办结 closes one with the worker's note, which the resident is told.
    # Database defaults too: the columns were added to a table that already had rows.
    urgent = fields.BooleanField(default=False, db_default=False)
    closed_at = fields.DatetimeField(null=True)
    closed_by = fields.CharField(max_length=64, null=True)
    note = fields.CharField(max_length=200, default="", db_default="")
    # A photo (WeChat image message) and a place (location message) the report carries: WeChat's
    # PicUrl and MediaId as sent ({"url", "media_id"}; the media is WeChat's for 3 days, nothing
    # is downloaded while answering), and the point in GCJ-02 with its label.
    photos: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(null=True)
    lat = fields.FloatField(null=True)
    lng = fields.FloatField(null=True)
    place_label = fields.CharField(max_length=100, null=True)
    # Set when an approved courier/rider volunteer sent it (随手拍 on their rounds).
    volunteer_id = fields.IntField(null=True)

    class Meta:
        table = "grid_reports"

    def __str__(self) -> str:
        return f"GridReport#{self.pk}"


class VolunteerStatus(StrEnum):
    PENDING = "pending"  # registered by chat, waiting for an admin
    APPROVED = "approved"  # their 随手拍 go to the grid workers as volunteer reports
    REJECTED = "rejected"


class CourierVolunteer(Model):
    """A courier or rider (快递员, 外卖骑手) registered as a volunteer for 随手拍."""

    # They registered by chat to report what they see on their rounds; an admin approves them,
    # as craftsmen are approved; approved, their photos go to the grid workers of the place.

    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=32)
    phone = fields.CharField(max_length=20)
    area = fields.CharField(max_length=64)  # where their rounds go (a name residents use)
    company = fields.CharField(max_length=32)  # 顺丰, 美团, ...
    trade = fields.CharField(max_length=16)  # 快递员 / 外卖骑手
    status = fields.CharEnumField(VolunteerStatus, max_length=16, default=VolunteerStatus.PENDING)
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_at = fields.DatetimeField(null=True)
    decided_by = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "grid_courier_volunteers"

    def __str__(self) -> str:
        return f"CourierVolunteer#{self.pk}"
