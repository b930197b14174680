from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.family import LinkStatus


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='FamilyLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('elder_openid', fields.CharField(db_index=True, max_length=64)),
                ('relative_openid', fields.CharField(db_index=True, max_length=64)),
                ('status', fields.CharEnumField(default=LinkStatus.PENDING, enum_type=LinkStatus, description='PENDING: pending\nCONFIRMED: confirmed\nDECLINED: declined', max_length=16)),
                ('note', fields.CharField(default='', max_length=40)),
                ('linked_by', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'family_links', 'app': 'family', 'pk_attr': 'id', 'unique_together': (('elder_openid', 'relative_openid'),), 'table_description': 'A relative linked to an elder.'},
            bases=['Model'],
        ),
    ]
