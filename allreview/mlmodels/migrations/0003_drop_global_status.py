"""Production is a per-project fact now (Deployment): the installation-wide status goes.
A migration of its own, so no ALTER TABLE meets the rows 0002 updated in the same transaction."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("mlmodels", "0002_deployment")]

    operations = [
        migrations.AlterModelOptions(
            name="modelversion",
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.RemoveConstraint(
            model_name="modelversion",
            name="modelversion_single_production",
        ),
        migrations.RemoveField(model_name="modelversion", name="promoted_at"),
        migrations.RemoveField(model_name="modelversion", name="status"),
    ]
