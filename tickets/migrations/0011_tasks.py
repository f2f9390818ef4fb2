"""Tasks (their model, numbers, settings and "Task Details" forms), the close guards'
settings, and ticket locks moved to their thread (threads.Lock, shared with tasks)."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def locks_to_threads(apps, schema_editor):
    TicketLock = apps.get_model("tickets", "TicketLock")
    Lock = apps.get_model("threads", "Lock")
    Lock.objects.bulk_create(
        Lock(thread_id=lk.ticket.thread_id, agent_id=lk.agent_id, expires_at=lk.expires_at)
        for lk in TicketLock.objects.select_related("ticket")
    )


def locks_to_tickets(apps, schema_editor):
    TicketLock = apps.get_model("tickets", "TicketLock")
    Lock = apps.get_model("threads", "Lock")
    Ticket = apps.get_model("tickets", "Ticket")
    by_thread = dict(
        Ticket.objects.filter(thread_id__in=Lock.objects.values("thread_id")).values_list(
            "thread_id", "pk"
        )
    )
    TicketLock.objects.bulk_create(
        TicketLock(
            ticket_id=by_thread[lk.thread_id], agent_id=lk.agent_id, expires_at=lk.expires_at
        )
        for lk in Lock.objects.filter(thread_id__in=by_thread)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0005_watched_base_managers"),
        ("threads", "0005_tasks"),
        ("tickets", "0010_merge_modes_close_reopen_settings"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="customfield",
            name="required_to_close",
            field=models.BooleanField(
                default=False, help_text="A ticket cannot be closed while this field is empty."
            ),
        ),
        migrations.AddField(
            model_name="customform",
            name="for_tasks",
            field=models.BooleanField(
                default=False,
                help_text="Asked on every task (osTicket's Task Details form) instead of by topic.",
            ),
        ),
        migrations.AddField(
            model_name="helpdesksettings",
            name="default_task_department",
            field=models.ForeignKey(
                blank=True,
                help_text="Department of a standalone task opened without one.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="routing.department",
            ),
        ),
        migrations.AddField(
            model_name="helpdesksettings",
            name="require_topic_to_close",
            field=models.BooleanField(
                default=False,
                help_text="A ticket without a help topic cannot be closed (osTicket's setting).",
            ),
        ),
        migrations.AddField(
            model_name="helpdesksettings",
            name="task_number_format",
            field=models.CharField(
                default="#",
                help_text="Task numbers: each # is a digit, a sequence widens as it grows.",
                max_length=24,
                validators=[
                    django.core.validators.RegexValidator(
                        "#", "The format needs at least one # for a digit."
                    )
                ],
            ),
        ),
        migrations.AddField(
            model_name="helpdesksettings",
            name="task_number_mode",
            field=models.CharField(
                choices=[
                    ("random", "Random digits (osTicket's default)"),
                    ("sequence", "Sequence"),
                ],
                default="sequence",
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="Task",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.CharField(max_length=32, unique=True)),
                ("title", models.CharField(max_length=255)),
                (
                    "state",
                    models.CharField(
                        choices=[("open", "Open"), ("closed", "Closed"), ("deleted", "Deleted")],
                        default="open",
                        max_length=8,
                    ),
                ),
                ("due_at", models.DateTimeField(blank=True, null=True)),
                ("is_overdue", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "version",
                    models.PositiveIntegerField(default=1, help_text="Raised by every change."),
                ),
                (
                    "assignee",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_tasks",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "department",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tasks",
                        to="routing.department",
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="tasks",
                        to="routing.team",
                    ),
                ),
                (
                    "thread",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="task",
                        to="threads.thread",
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        blank=True,
                        help_text="The ticket it belongs to; empty for a standalone task.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tasks",
                        to="tickets.ticket",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="TaskFieldValue",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value", models.TextField(blank=True)),
                (
                    "field",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="task_values",
                        to="tickets.customfield",
                    ),
                ),
                (
                    "task",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="field_values",
                        to="tickets.task",
                    ),
                ),
            ],
        ),
        migrations.RunPython(locks_to_threads, locks_to_tickets),
        migrations.DeleteModel(
            name="TicketLock",
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["state", "-updated_at", "-id"], name="tasks_state_updated"),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=["department", "state", "-updated_at"], name="tasks_dept_state"
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=["assignee", "state", "-updated_at"], name="tasks_assignee_state"
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["team", "state", "-updated_at"], name="tasks_team_state"),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(
                    ("due_at__isnull", False), ("is_overdue", False), ("state", "open")
                ),
                fields=["due_at", "id"],
                name="tasks_overdue_sweep",
            ),
        ),
        migrations.AddConstraint(
            model_name="taskfieldvalue",
            constraint=models.UniqueConstraint(
                fields=("task", "field"), name="tickets_one_value_per_task_field"
            ),
        ),
    ]
