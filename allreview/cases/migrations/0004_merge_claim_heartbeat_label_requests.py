"""Joins the two 0003 migrations made side by side (claim heartbeat, label request ids)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_case_claim_heartbeat"),
        ("cases", "0003_label_requests"),
    ]
    operations = []
