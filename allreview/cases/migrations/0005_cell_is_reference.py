from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_merge_claim_heartbeat_label_requests")]

    operations = [
        migrations.AddField(
            model_name="cell",
            name="is_reference",
            field=models.BooleanField(default=False),
        )
    ]
