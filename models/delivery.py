"""Meal delivery to residents (送餐上门): who gets meals, the places per meal, and each delivery."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.canteen import Meal


class SignupStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    DELIVERED = "delivered"
    NO_ANSWER = "no_answer"  # knocked, nobody opened: the grid worker is alerted at once
    NOT_HOME = "not_home"  # known to be out (a neighbour said so, a note on the door)


class SubsidyTier(StrEnum):
    """The government meal subsidy a recipient qualifies for (助餐补贴), set by canteen staff or
    admins only; how much each tier gets is the canteen's setting (Canteen.subsidy_cents)."""

    NONE = "none"
    AGE60 = "age60"  # 60岁以上
    AGE80 = "age80"  # 80岁以上
    DIBAO = "dibao"  # 低保
    TEKUN = "tekun"  # 特困
    DISABLED = "disabled"  # 残疾


class Recipient(Model):
    """Who a resident orders for (themselves or a relative) and where, reused on return."""

    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64, db_index=True)  # the account that signs up
    label = fields.CharField(max_length=16)  # 本人, 我妈, 老伴儿
    address = fields.CharField(max_length=64)  # 3号楼2单元401
    building = fields.CharField(max_length=16)  # 3 (matches volunteer areas)
    phone = fields.CharField(max_length=20)
    emergency_phone = fields.CharField(max_length=20, null=True)
    diet = fields.CharField(max_length=100, default="")
    # The subsidy tier (None: none), who set it and when: staff only, never the resident.
    tier = fields.CharEnumField(SubsidyTier, max_length=16, null=True)
    tier_set_by = fields.CharField(max_length=64, null=True)
    tier_set_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "delivery_recipients"
        unique_together = (("openid", "label"),)

    def __str__(self) -> str:
        return f"Recipient#{self.pk}"


class MealSlot(Model):
    """Delivery places of one canteen meal on one day, counted atomically in the database.

    `booked` only grows through a conditional UPDATE that keeps it within `capacity`, so the
    meal is never overbooked, whatever the number of server processes.
    """

    id = fields.IntField(primary_key=True)
    canteen_id = fields.IntField()
    date = fields.DateField()
    meal = fields.CharEnumField(Meal, max_length=16)
    capacity = fields.IntField()
    booked = fields.IntField(default=0)
    roster_built_at = fields.DatetimeField(null=True)
    overdue_checked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery_slots"
        unique_together = (("canteen_id", "date", "meal"),)

    def __str__(self) -> str:
        return f"{self.date} {self.meal} {self.booked}/{self.capacity}"


class Signup(Model):
    """One recipient, one meal, one day: booked or cancelled, then how the delivery went."""

    id = fields.IntField(primary_key=True)
    recipient: fields.ForeignKeyRelation[Recipient] = fields.ForeignKeyField(
        "delivery.Recipient", related_name="signups", on_delete=fields.CASCADE
    )
    slot: fields.ForeignKeyRelation[MealSlot] = fields.ForeignKeyField(
        "delivery.MealSlot", related_name="signups", on_delete=fields.CASCADE
    )
    count = fields.IntField()
    status = fields.CharEnumField(SignupStatus, max_length=16, default=SignupStatus.BOOKED)
    # Filled when the roster is built at the cutoff.
    area = fields.CharField(max_length=64, null=True)
    line_no = fields.IntField(null=True)
    # Reported by the volunteer who delivered.
    outcome = fields.CharEnumField(Outcome, max_length=16, null=True)
    reported_by = fields.CharField(max_length=64, null=True)
    reported_at = fields.DatetimeField(null=True)
    alerted_at = fields.DatetimeField(null=True)
    # The subsidy terms of this meal, written when it is booked and again while it is still to
    # be delivered (a tier set today counts from today's meals on): a tier or price changed
    # later never rewrites a delivered meal. None on sign-ups from before subsidies existed.
    tier = fields.CharEnumField(SubsidyTier, max_length=16, null=True)
    price_cents = fields.IntField(null=True)
    subsidy_cents = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    recipient_id: int
    slot_id: int

    class Meta:
        table = "delivery_signups"
        unique_together = (("recipient", "slot"),)

    def __str__(self) -> str:
        return f"Signup#{self.pk} {self.status}"
