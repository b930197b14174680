from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.push import PushChannel, PushStatus
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.CharEnumField(description='WECHAT_CS: wechat_cs\nWECHAT_TEMPLATE: wechat_template\nMINI_SUBSCRIBE: mini_subscribe\nWECOM_ROBOT: wecom_robot', enum_type=PushChannel, max_length=16)),
                ('target', fields.CharField(max_length=128)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('dedupe_key', fields.CharField(null=True, unique=True, max_length=191)),
                ('status', fields.CharEnumField(default=PushStatus.PENDING, db_index=True, description='PENDING: pending\nSENDING: sending\nSENT: sent\nFAILED: failed', enum_type=PushStatus, max_length=8)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'push_outbox', 'app': 'push', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
