import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('directory', '0002_paused_until')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Review',
            name='reply',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='Review',
            name='replied_at',
            field=fields.DatetimeField(null=True),
        ),
        ops.CreateModel(
            name='ListingChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('craftsman', fields.ForeignKeyField('directory.Craftsman', source_field='craftsman_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.CASCADE)),
                ('field', fields.CharField(max_length=32)),
                ('old', fields.CharField(default='', max_length=500)),
                ('new', fields.CharField(default='', max_length=500)),
                ('values', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('by', fields.CharField(max_length=64)),
                ('pending', fields.BooleanField(default=False)),
                ('decided_at', fields.DatetimeField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'craftsman_changes', 'app': 'directory', 'pk_attr': 'id', 'table_description': 'One change a craftsman made to their own listing by chat.'},
            bases=['Model'],
        ),
    ]
