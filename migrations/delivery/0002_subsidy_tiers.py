from tortoise import migrations
from tortoise.migrations import operations as ops
from models.delivery import SubsidyTier
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('delivery', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Recipient',
            name='tier',
            field=fields.CharEnumField(null=True, description='NONE: none\nAGE60: age60\nAGE80: age80\nDIBAO: dibao\nTEKUN: tekun\nDISABLED: disabled', enum_type=SubsidyTier, max_length=16),
        ),
        ops.AddField(
            model_name='Recipient',
            name='tier_set_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Recipient',
            name='tier_set_by',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Signup',
            name='price_cents',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Signup',
            name='subsidy_cents',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Signup',
            name='tier',
            field=fields.CharEnumField(null=True, description='NONE: none\nAGE60: age60\nAGE80: age80\nDIBAO: dibao\nTEKUN: tekun\nDISABLED: disabled', enum_type=SubsidyTier, max_length=16),
        ),
    ]
