"""Community group chats (WeCom intelligent bot): which canteen and area a group belongs to, and
the 接龙 lines staff imported from a group's chain."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.canteen import Meal


class GroupBinding(Model):
    """A WeCom group bound by an admin to the community's canteen and an area ("1-5号楼"):
    the canteen its 接龙 book with, and the place "nearest" means there (groups send no
    locations)."""

    id = fields.IntField(primary_key=True)
    chat_id = fields.CharField(max_length=64, unique=True)
    canteen_id = fields.IntField()
    area = fields.CharField(max_length=64, default="")
    bound_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "group_bindings"

    def __str__(self) -> str:
        return f"GroupBinding#{self.pk} {self.chat_id}"


class ChainLine(Model):
    """One 接龙 line booked for a canteen meal on a day. Identified across pastes by `key`
    (name and building), so pasting the chain again books only the new lines and shows edited
    or removed ones as changes."""

    id = fields.IntField(primary_key=True)
    canteen_id = fields.IntField()
    date = fields.DateField()
    meal = fields.CharEnumField(Meal, max_length=16)
    key = fields.CharField(max_length=40)
    name = fields.CharField(max_length=16)
    address = fields.CharField(max_length=64)
    building = fields.CharField(max_length=16)
    count = fields.IntField()
    note = fields.CharField(max_length=100, default="")
    recipient_id = fields.IntField()
    signup_id = fields.IntField(null=True)
    chat_id = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "group_chain_lines"
        unique_together = (("canteen_id", "date", "meal", "key"),)

    def __str__(self) -> str:
        return f"ChainLine#{self.pk} {self.date} {self.meal}"
