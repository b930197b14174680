from tortoise import migrations
from tortoise.migrations import operations as ops
from models.push import PushUrgency
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('push', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='urgency',
            field=fields.CharEnumField(default=PushUrgency.ROUTINE, db_default='routine', db_index=True, description='ROUTINE: routine\nIMPORTANT: important\nURGENT: urgent', enum_type=PushUrgency, max_length=9),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='subject',
            field=fields.CharField(null=True, db_index=True, max_length=64),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='escalate_to',
            field=fields.JSONField(null=True),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='deliver_by',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='retry_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='escalated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='escalation_of',
            field=fields.BigIntField(null=True, db_index=True),
        ),
    ]
