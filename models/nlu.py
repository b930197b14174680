"""What staff taught the NLU: resident messages (scrubbed) labelled in the console."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class NluExample(Model):
    """One labelled message; `python main.py train-nlu` learns from these beside the shipped
    corpus (bot/nlu/data). The text is scrubbed of phones, names and addresses."""

    id = fields.IntField(primary_key=True)
    text = fields.CharField(max_length=200)
    intent = fields.CharField(max_length=32)
    category = fields.CharField(max_length=32, null=True)
    place = fields.CharField(max_length=32, null=True)
    labelled_by = fields.CharField(max_length=64)  # the admin's openid
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "nlu_examples"

    def __str__(self) -> str:
        return f"NluExample#{self.pk} {self.intent}"
