from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.volunteers import HandoverStatus
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Handover',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField(db_index=True)),
                ('giver', fields.CharField(db_index=True, max_length=64)),
                ('area', fields.CharField(default='', max_length=64)),
                ('signup_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('offered_to', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('staff', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=HandoverStatus.OFFERED, description='OFFERED: offered\nTAKEN: taken\nTO_STAFF: to_staff\nWITHDRAWN: withdrawn', enum_type=HandoverStatus, max_length=16)),
                ('taker', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('settled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'volunteer_handovers', 'app': 'volunteers', 'pk_attr': 'id', 'table_description': "One volunteer's undelivered lines of one day, offered to others. The status only moves"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VolunteerTask',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('openid', fields.CharField(db_index=True, max_length=64)),
                ('kind', fields.CharField(max_length=32)),
                ('points', fields.IntField()),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ref', fields.CharField(unique=True, max_length=128)),
                ('note', fields.CharField(default='', max_length=100)),
            ],
            options={'table': 'volunteer_tasks', 'app': 'volunteers', 'pk_attr': 'id', 'table_description': 'Points for a task (not a delivered line): credited once per `ref`.'},
            bases=['Model'],
        ),
    ]
