"""Issue 19's index audit (docs/performance.md, "Storage"; bench/indexes.py): no
department index (the visibility filter is an OR no single index drives), the assignee,
team and organisation indexes, and those of the mostly empty foreign keys (parent,
topic, SLA), only over the rows that have one, and the numbers unique by a constraint
(not unique=True, whose second, LIKE index nothing used)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_audit_log"),
        ("routing", "0007_topic_translations"),
        ("threads", "0010_lean_indexes"),
        ("tickets", "0016_ticket_language_translations"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ticket",
            name="tickets_dept_state",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="tickets_assignee_state",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="tickets_team_state",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="tickets_org",
        ),
        migrations.AlterField(
            model_name="task",
            name="number",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The parent this ticket was merged into or linked under.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="merged_children",
                to="tickets.ticket",
            ),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="number",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="sla",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="routing.sla",
                verbose_name="SLA",
            ),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="topic",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="routing.helptopic",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("assignee__isnull", False)),
                fields=["assignee", "state", "-updated_at"],
                name="tickets_assignee_state",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("team__isnull", False)),
                fields=["team", "state", "-updated_at"],
                name="tickets_team_state",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("organization__isnull", False)),
                fields=["organization", "-created_at"],
                name="tickets_org",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)),
                fields=["merged_into"],
                name="tickets_merged_into",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("topic__isnull", False)), fields=["topic"], name="tickets_topic"
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("sla__isnull", False)), fields=["sla"], name="tickets_sla"
            ),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.UniqueConstraint(
                fields=("number",), name="tickets_task_number_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="ticket",
            constraint=models.UniqueConstraint(
                fields=("number",), name="tickets_ticket_number_unique"
            ),
        ),
    ]
