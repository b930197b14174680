from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='GridReport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('openid', fields.CharField(db_index=True, max_length=64)),
                ('text', fields.CharField(max_length=300)),
                ('address', fields.CharField(max_length=64)),
                ('building', fields.CharField(max_length=16)),
                ('phone', fields.CharField(max_length=20)),
                ('forwarded_to', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'grid_reports', 'app': 'grid', 'pk_attr': 'id', 'table_description': 'One problem a resident reported, forwarded to the grid workers of the building.'},
            bases=['Model'],
        ),
    ]
