from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='NluExample',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('text', fields.CharField(max_length=200)),
                ('intent', fields.CharField(max_length=32)),
                ('category', fields.CharField(null=True, max_length=32)),
                ('place', fields.CharField(null=True, max_length=32)),
                ('labelled_by', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'nlu_examples', 'app': 'nlu', 'pk_attr': 'id', 'table_description': 'What staff taught the NLU.'},
            bases=['Model'],
        ),
    ]
