from tortoise import migrations
from tortoise.migrations import operations as ops
from models.canteen import Meal
from models.delivery import Outcome, SignupStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='MealSlot',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('canteen_id', fields.IntField()),
                ('date', fields.DateField()),
                ('meal', fields.CharEnumField(description='BREAKFAST: breakfast\nLUNCH: lunch\nDINNER: dinner', enum_type=Meal, max_length=16)),
                ('capacity', fields.IntField()),
                ('booked', fields.IntField(default=0)),
                ('roster_built_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('overdue_checked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery_slots', 'app': 'delivery', 'unique_together': (('canteen_id', 'date', 'meal'),), 'pk_attr': 'id', 'table_description': 'Delivery places of one canteen meal on one day, counted atomically in the database.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Recipient',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('openid', fields.CharField(db_index=True, max_length=64)),
                ('label', fields.CharField(max_length=16)),
                ('address', fields.CharField(max_length=64)),
                ('building', fields.CharField(max_length=16)),
                ('phone', fields.CharField(max_length=20)),
                ('emergency_phone', fields.CharField(null=True, max_length=20)),
                ('diet', fields.CharField(default='', max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'delivery_recipients', 'app': 'delivery', 'unique_together': (('openid', 'label'),), 'pk_attr': 'id', 'table_description': 'Who a resident orders for (themselves or a relative) and where, reused on return.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Signup',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('recipient', fields.ForeignKeyField('delivery.Recipient', source_field='recipient_id', db_constraint=True, to_field='id', related_name='signups', on_delete=OnDelete.CASCADE)),
                ('slot', fields.ForeignKeyField('delivery.MealSlot', source_field='slot_id', db_constraint=True, to_field='id', related_name='signups', on_delete=OnDelete.CASCADE)),
                ('count', fields.IntField()),
                ('status', fields.CharEnumField(default=SignupStatus.BOOKED, description='BOOKED: booked\nCANCELLED: cancelled', enum_type=SignupStatus, max_length=16)),
                ('area', fields.CharField(null=True, max_length=64)),
                ('line_no', fields.IntField(null=True)),
                ('outcome', fields.CharEnumField(null=True, description='DELIVERED: delivered\nNO_ANSWER: no_answer\nNOT_HOME: not_home', enum_type=Outcome, max_length=16)),
                ('reported_by', fields.CharField(null=True, max_length=64)),
                ('reported_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('alerted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'delivery_signups', 'app': 'delivery', 'unique_together': (('recipient', 'slot'),), 'pk_attr': 'id', 'table_description': 'One recipient, one meal, one day: booked or cancelled, then how the delivery went.'},
            bases=['Model'],
        ),
    ]
