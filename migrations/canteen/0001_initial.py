from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.canteen import Meal
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Canteen',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('address', fields.CharField(max_length=128)),
                ('lat', fields.FloatField(null=True)),
                ('lng', fields.FloatField(null=True)),
                ('robot_keys', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'canteens', 'app': 'canteen', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CanteenMeal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('canteen', fields.ForeignKeyField('canteen.Canteen', source_field='canteen_id', db_constraint=True, to_field='id', related_name='meals', on_delete=OnDelete.CASCADE)),
                ('meal', fields.CharEnumField(description='BREAKFAST: breakfast\nLUNCH: lunch\nDINNER: dinner', enum_type=Meal, max_length=16)),
                ('serve_from', fields.CharField(max_length=5)),
                ('serve_until', fields.CharField(max_length=5)),
                ('price_cents', fields.IntField(default=1000)),
                ('signup_cutoff', fields.CharField(max_length=5)),
                ('delivery_capacity', fields.IntField(default=50)),
            ],
            options={'table': 'canteen_meals', 'app': 'canteen', 'unique_together': (('canteen', 'meal'),), 'pk_attr': 'id', 'table_description': 'One meal a canteen serves: hours, price, sign-up cutoff and delivery capacity.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Menu',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('canteen', fields.ForeignKeyField('canteen.Canteen', source_field='canteen_id', db_constraint=True, to_field='id', related_name='menus', on_delete=OnDelete.CASCADE)),
                ('date', fields.DateField()),
                ('meal', fields.CharEnumField(description='BREAKFAST: breakfast\nLUNCH: lunch\nDINNER: dinner', enum_type=Meal, max_length=16)),
                ('dishes', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('price_cents', fields.IntField(null=True)),
                ('version', fields.IntField(default=1)),
                ('published_by', fields.CharField(max_length=64)),
                ('published_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'menus', 'app': 'canteen', 'unique_together': (('canteen', 'date', 'meal'),), 'pk_attr': 'id', 'table_description': 'The published menu of one canteen for one day and meal. A correction replaces it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MenuSubscription',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('openid', fields.CharField(unique=True, max_length=64)),
                ('channel', fields.CharField(default='wechat', max_length=16)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'menu_subscriptions', 'app': 'canteen', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
