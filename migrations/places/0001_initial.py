from tortoise import migrations
from tortoise.migrations import operations as ops
from models.places import PlaceSource
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Place',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('kind', fields.CharField(db_index=True, max_length=24)),
                ('address', fields.CharField(default='', max_length=200)),
                ('lat', fields.FloatField()),
                ('lng', fields.FloatField()),
                ('hours', fields.CharField(default='', max_length=200)),
                ('phone', fields.CharField(default='', max_length=32)),
                ('offerings', fields.CharField(default='', max_length=500)),
                ('verified', fields.BooleanField(default=False, db_index=True)),
                ('source', fields.CharEnumField(default=PlaceSource.CONSOLE, description='IMPORT: import\nCONSOLE: console\nDEMO: demo', enum_type=PlaceSource, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'places', 'app': 'places', 'unique_together': (('name', 'address'),), 'pk_attr': 'id', 'table_description': 'A service point residents can walk to. Only verified ones are shown to residents.'},
            bases=['Model'],
        ),
    ]
