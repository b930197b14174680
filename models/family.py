"""Family: a relative linked to an elder, told of the elder's delivery alerts and emergencies."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class LinkStatus(StrEnum):
    PENDING = "pending"  # the relative asked; the elder has not answered
    CONFIRMED = "confirmed"  # the elder agreed, or the staff linked them
    DECLINED = "declined"


class FamilyLink(Model):
    """One relative (`relative_openid`) of one elder (`elder_openid`, the account that signed
    up for its own deliveries). Only CONFIRMED links are told anything."""

    id = fields.IntField(primary_key=True)
    elder_openid = fields.CharField(max_length=64, db_index=True)
    relative_openid = fields.CharField(max_length=64, db_index=True)
    status = fields.CharEnumField(LinkStatus, max_length=16, default=LinkStatus.PENDING)
    note = fields.CharField(max_length=40, default="")  # what the relative said they are
    linked_by = fields.CharField(max_length=64, default="")  # "elder", or the staff member
    created_at = fields.DatetimeField(auto_now_add=True)
    confirmed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "family_links"
        unique_together = (("elder_openid", "relative_openid"),)

    def __str__(self) -> str:
        return f"FamilyLink#{self.pk} {self.status}"
