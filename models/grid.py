"""Problems residents report to their grid worker (网格员): 有事就找网格员."""

from __future__ import annotations

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

    class Meta:
        table = "grid_reports"

    def __str__(self) -> str:
        return f"GridReport#{self.pk}"
