"""Volunteers' own records beside the delivery rows: a round handed over (今天我去不了, offered
to the area's other volunteers until one accepts or it goes back to the staff) and the tasks
that earn points besides delivered lines (a handover accepted, another module's courier run)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class HandoverStatus(StrEnum):
    OFFERED = "offered"  # waiting for a volunteer to answer 我来送
    TAKEN = "taken"  # a volunteer accepted: the lines are theirs now
    TO_STAFF = "to_staff"  # nobody accepted in time (or nobody else covers the area)
    WITHDRAWN = "withdrawn"  # the volunteer could go after all (我又能去了)


class Handover(Model):
    """One volunteer's undelivered lines of one day, offered to others. The status only moves
    from OFFERED by a conditional UPDATE, so two volunteers accepting at once: one wins."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(db_index=True)
    giver = fields.CharField(max_length=64, db_index=True)
    area = fields.CharField(max_length=64, default="")
    signup_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    offered_to: fields.JSONField[list[str]] = fields.JSONField(default=list)
    staff: fields.JSONField[list[str]] = fields.JSONField(default=list)
    status = fields.CharEnumField(HandoverStatus, max_length=16, default=HandoverStatus.OFFERED)
    taker = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "volunteer_handovers"

    def __str__(self) -> str:
        return f"Handover#{self.pk} {self.status}"


class VolunteerTask(Model):
    """Points for a task (not a delivered line): credited once per `ref`."""

    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64, db_index=True)
    kind = fields.CharField(max_length=32)
    points = fields.IntField()
    at = fields.DatetimeField(db_index=True)
    ref = fields.CharField(max_length=128, unique=True)
    note = fields.CharField(max_length=100, default="")

    class Meta:
        table = "volunteer_tasks"

    def __str__(self) -> str:
        return f"VolunteerTask#{self.pk} {self.kind}"
