from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('directory', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Craftsman',
            name='paused_until',
            field=fields.DateField(null=True),
        ),
    ]
