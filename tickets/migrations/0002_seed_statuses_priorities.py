"""osTicket's seeded statuses and priorities, and the settings row pointing at them."""

from django.db import migrations

STATUSES = [
    # name, state, sort, description
    ("Open", "open", 1, "Open tickets."),
    ("Resolved", "closed", 2, "Resolved tickets."),
    ("Closed", "closed", 3, "Closed tickets. Tickets will still be accessible on client and staff panels."),
    ("Archived", "archived", 4, "Tickets only accessible to agents."),
    ("Deleted", "deleted", 5, "Tickets in the trash, until an admin purges them."),
]
PRIORITIES = [("Low", 4, "#ddffdd"), ("Normal", 3, "#ffffe0"), ("High", 2, "#fee7e7"), ("Emergency", 1, "#fee7e7")]


def seed(apps, schema_editor):
    TicketStatus = apps.get_model("tickets", "TicketStatus")
    Priority = apps.get_model("tickets", "Priority")
    Settings = apps.get_model("tickets", "HelpdeskSettings")
    statuses = {}
    for name, state, sort, description in STATUSES:
        statuses[name], _ = TicketStatus.objects.get_or_create(
            name=name, defaults={"state": state, "sort": sort, "description": description}
        )
    priorities = {}
    for name, urgency, colour in PRIORITIES:
        priorities[name], _ = Priority.objects.get_or_create(name=name, defaults={"urgency": urgency, "colour": colour})
    Settings.objects.get_or_create(
        pk=1,
        defaults={
            "default_status": statuses["Open"],
            "closed_status": statuses["Closed"],
            "default_priority": priorities["Normal"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
