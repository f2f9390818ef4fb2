"""An agent's in-panel alerts (the bell in the staff panel's header).

Written where the mail channel decides who is alerted about a ticket or task event
(helpdesk.mail.notifications, helpdesk.mail.task_notifications): one row per agent the
department's alert settings name, whether or not that agent wants the mail too (their
profile's "email me when ..." choices govern the mail only). Read only through
helpdesk.alerts.selectors, which shows an agent nothing about a ticket or task they may
not see (now: access is checked when the list is read, not when the alert was written).
An export's alert (its file is ready: helpdesk.exports) is seen by the agent who asked.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Alert(models.Model):
    class Kind(models.TextChoices):
        # the mail templates of the agent alerts, so one name runs through both
        NEW_TICKET = "ticket.alert", _("New ticket")
        NEW_MESSAGE = "message.alert", _("New message")
        ASSIGNED = "assigned.alert", _("Assigned")
        TRANSFERRED = "transfer.alert", _("Transferred")
        OVERDUE = "ticket.overdue", _("Overdue")
        NOTE = "note.alert", _("Internal note")
        TASK_NEW = "task.alert", _("New task")
        TASK_ACTIVITY = "task.activity.alert", _("Task activity")
        TASK_FOLLOWED = "task.activity.notice", _("Task activity")
        TASK_ASSIGNED = "task.assignment.alert", _("Task assigned")
        TASK_TRANSFERRED = "task.transfer.alert", _("Task transferred")
        TASK_OVERDUE = "task.overdue.alert", _("Task overdue")
        EXPORT_READY = "export.ready", _("Export ready")
        EXPORT_FAILED = "export.failed", _("Export failed")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="panel_alerts"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    task = models.ForeignKey(
        "tickets.Task", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    export = models.ForeignKey(
        "helpdesk_exports.ExportJob",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("An export written for the agent (helpdesk.exports)."),
    )
    actor_name = models.CharField(max_length=128, blank=True)
    event_key = models.CharField(
        max_length=128, help_text=_("The event alerted about (a retried alert adds nothing).")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "event_key"], name="alerts_once_per_event"
            ),
            models.CheckConstraint(
                condition=models.Q(ticket__isnull=False)
                | models.Q(task__isnull=False)
                | models.Q(export__isnull=False),
                name="alerts_about_something",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"], name="alerts_unread"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.recipient_id}"
