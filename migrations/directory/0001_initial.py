from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.directory import Source, Status
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Craftsman',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('categories', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('description', fields.CharField(default='', max_length=500)),
                ('phone', fields.CharField(max_length=32)),
                ('address', fields.CharField(default='', max_length=200)),
                ('compound', fields.CharField(null=True, db_index=True, max_length=64)),
                ('lat', fields.FloatField()),
                ('lng', fields.FloatField()),
                ('home_visits', fields.BooleanField(default=False)),
                ('hours', fields.CharField(default='', max_length=200)),
                ('status', fields.CharEnumField(default=Status.PENDING, db_index=True, description='PENDING: pending\nAPPROVED: approved\nPAUSED: paused\nSUSPENDED: suspended', enum_type=Status, max_length=16)),
                ('rating_avg', fields.FloatField(default=0.0)),
                ('rating_count', fields.IntField(default=0)),
                ('openid', fields.CharField(null=True, unique=True, max_length=64)),
                ('source', fields.CharEnumField(default=Source.SELF, description='SELF: self\nIMPORT: import\nDEMO: demo', enum_type=Source, max_length=8)),
                ('notes', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'craftsmen', 'app': 'directory', 'pk_attr': 'id', 'table_description': 'A tradesperson residents can find. Coordinates are GCJ-02 (what WeChat sends).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Complaint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('craftsman', fields.ForeignKeyField('directory.Craftsman', source_field='craftsman_id', db_constraint=True, to_field='id', related_name='complaints', on_delete=OnDelete.CASCADE)),
                ('reason', fields.CharField(max_length=200)),
                ('complainant', fields.CharField(max_length=64)),
                ('upheld', fields.BooleanField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'craftsman_complaints', 'app': 'directory', 'pk_attr': 'id', 'table_description': 'A complaint from a resident. An admin decides if it is upheld (None = not yet decided).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Review',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('craftsman', fields.ForeignKeyField('directory.Craftsman', source_field='craftsman_id', db_constraint=True, to_field='id', related_name='reviews', on_delete=OnDelete.CASCADE)),
                ('stars', fields.SmallIntField()),
                ('text', fields.CharField(default='', max_length=200)),
                ('reviewer', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'craftsman_reviews', 'app': 'directory', 'unique_together': (('craftsman', 'reviewer'),), 'pk_attr': 'id', 'table_description': '1-5 stars and a short text, one per resident and craftsman (a new one replaces it).'},
            bases=['Model'],
        ),
    ]
