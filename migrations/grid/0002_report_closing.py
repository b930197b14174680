from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('grid', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='GridReport',
            name='urgent',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='GridReport',
            name='closed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='GridReport',
            name='closed_by',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='GridReport',
            name='note',
            field=fields.CharField(default='', db_default='', max_length=200),
        ),
    ]
