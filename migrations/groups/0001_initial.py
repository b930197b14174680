from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from models.canteen import Meal

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='GroupBinding',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_id', fields.CharField(unique=True, max_length=64)),
                ('canteen_id', fields.IntField()),
                ('area', fields.CharField(default='', max_length=64)),
                ('bound_by', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'group_bindings', 'app': 'groups', 'pk_attr': 'id', 'table_description': 'A WeCom group bound by an admin to the canteen and an area.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChainLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('canteen_id', fields.IntField()),
                ('date', fields.DateField()),
                ('meal', fields.CharEnumField(enum_type=Meal, description='BREAKFAST: breakfast\nLUNCH: lunch\nDINNER: dinner', max_length=16)),
                ('key', fields.CharField(max_length=40)),
                ('name', fields.CharField(max_length=16)),
                ('address', fields.CharField(max_length=64)),
                ('building', fields.CharField(max_length=16)),
                ('count', fields.IntField()),
                ('note', fields.CharField(default='', max_length=100)),
                ('recipient_id', fields.IntField()),
                ('signup_id', fields.IntField(null=True)),
                ('chat_id', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'group_chain_lines', 'app': 'groups', 'pk_attr': 'id', 'unique_together': (('canteen_id', 'date', 'meal', 'key'),), 'table_description': 'One 接龙 line booked for a canteen meal on a day.'},
            bases=['Model'],
        ),
    ]
