"""When a row handed to the broker is handed again (the delay doubles, see
services.reoffer_delay). Rows handed before this are due for it at once, as they were."""

from django.db import migrations, models


def reoffer_now(apps, schema_editor):
    OutboxTask = apps.get_model("helpdesk_outbox", "OutboxTask")
    OutboxTask.objects.filter(offered_at__isnull=False).update(reoffer_at=models.F("offered_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk_outbox", "0003_outbox_sealed_arguments"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxtask",
            name="reoffer_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When to hand it to the broker again if it is still waiting then.",
                null=True,
            ),
        ),
        migrations.RunPython(reoffer_now, migrations.RunPython.noop),
    ]
