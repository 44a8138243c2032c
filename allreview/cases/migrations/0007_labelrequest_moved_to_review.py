# LabelRequest (a label write's idempotency record) belongs to the labelling domain: the model
# moves to review.LabelRequest; its table, rows and constraint stay as they are (state only).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_thumbnail_pack_and_model_input"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="LabelRequest")],
            database_operations=[],
        ),
    ]
