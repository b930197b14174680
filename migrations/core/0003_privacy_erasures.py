from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.users import ErasureStatus


class Migration(migrations.Migration):
    dependencies = [('core', '0002_role_duty')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ErasureRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('who', fields.CharField(db_index=True, max_length=16)),
                ('asked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=ErasureStatus.DONE, enum_type=ErasureStatus, description='DONE: done\nREFUSED: refused', max_length=16)),
                ('removed', fields.JSONField(default=dict)),
            ],
            options={'table': 'privacy_erasures', 'app': 'core', 'pk_attr': 'id', 'table_description': 'One 删除我的信息 request.'},
            bases=['Model'],
        ),
    ]
