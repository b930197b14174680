from tortoise import migrations
from tortoise.migrations import operations as ops
from models.grid import VolunteerStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('grid', '0003_report_photo_place')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CourierVolunteer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('openid', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=32)),
                ('phone', fields.CharField(max_length=20)),
                ('area', fields.CharField(max_length=64)),
                ('company', fields.CharField(max_length=32)),
                ('trade', fields.CharField(max_length=16)),
                ('status', fields.CharEnumField(default=VolunteerStatus.PENDING, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=VolunteerStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'grid_courier_volunteers', 'app': 'grid', 'pk_attr': 'id', 'table_description': 'A courier or rider (快递员, 外卖骑手) registered as a volunteer for 随手拍.'},
            bases=['Model'],
        ),
    ]
