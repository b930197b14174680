from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('canteen', '0002_booking_limits')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Canteen',
            name='subsidy_cents',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
