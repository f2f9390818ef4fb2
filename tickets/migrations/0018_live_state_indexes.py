"""Issue 19's storage, second pass (docs/performance.md, "Storage"; bench/indexes.py):
the state indexes hold the tickets that are not closed (the queues' and the API's
lists of open, archived or deleted tickets by state); closed tickets, most of them,
are listed through tickets_updated, where nearly every row is one. No index on sla,
priority or status: most tickets have one of each, and no measured query read them
(PROTECT's check before one is deleted reads the table; the API's filters by priority
and status walk the list's order and keep the matching rows)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_audit_log"),
        ("routing", "0008_team_watched"),
        ("threads", "0011_thread_no_time_message_id_partial"),
        ("tickets", "0017_lean_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ticket",
            name="tickets_state_updated",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="tickets_state_created",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="tickets_sla",
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("state", "closed"), _negated=True),
                fields=["state", "-updated_at", "-id"],
                name="tickets_state_updated",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("state", "closed"), _negated=True),
                fields=["state", "-created_at", "-id"],
                name="tickets_state_created",
            ),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="priority",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="tickets.priority",
            ),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="status",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="tickets.ticketstatus",
            ),
        ),
    ]
