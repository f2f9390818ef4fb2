"""A status that stops the SLA clock while the client has the ball (beyond osTicket)."""

from django.db import migrations


def seed(apps, schema_editor):
    TicketStatus = apps.get_model("tickets", "TicketStatus")
    TicketStatus.objects.get_or_create(
        name="Awaiting customer",
        defaults={
            "state": "open",
            "sort": 1,
            "pauses_sla": True,
            "description": "Waiting for the client's answer; the SLA clock is stopped.",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_locks_sla_pause")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
