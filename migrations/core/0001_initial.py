from tortoise import migrations
from tortoise.migrations import operations as ops
from models.users import Role
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('openid', fields.CharField(unique=True, max_length=64)),
                ('channel', fields.CharField(default='wechat', max_length=16)),
                ('followed', fields.BooleanField(default=True)),
                ('elderly', fields.BooleanField(default=False)),
                ('compound', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'users', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A WeChat user, keyed by the openid WeChat gives us for this account.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RoleGrant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='roles', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='RESIDENT: resident\nCRAFTSMAN: craftsman\nCANTEEN_STAFF: canteen_staff\nVOLUNTEER: volunteer\nADMIN: admin', enum_type=Role, max_length=16)),
                ('canteen_id', fields.IntField(null=True)),
                ('area', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'role_grants', 'app': 'core', 'unique_together': (('user', 'role', 'canteen_id', 'area'),), 'pk_attr': 'id', 'table_description': 'A role held by a user, optionally scoped to one canteen or one area (e.g. buildings 1-5).'},
            bases=['Model'],
        ),
    ]
