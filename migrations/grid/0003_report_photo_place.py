from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('grid', '0002_report_closing')]

    initial = False

    operations = [
        ops.AddField(
            model_name='GridReport',
            name='photos',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='GridReport',
            name='lat',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='GridReport',
            name='lng',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='GridReport',
            name='place_label',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='GridReport',
            name='volunteer_id',
            field=fields.IntField(null=True),
        ),
    ]
