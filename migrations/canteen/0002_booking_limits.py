from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('canteen', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Canteen',
            name='portions_per_account',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Canteen',
            name='portions_per_recipient',
            field=fields.IntField(null=True),
        ),
    ]
