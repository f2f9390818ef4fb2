"""Where a ticket goes, who works it, and by when."""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class Schedule(models.Model):
    """Business hours: weekly opening hours in a time zone, minus holidays."""

    name = models.CharField(max_length=64, unique=True)
    timezone = models.CharField(max_length=64, choices=TIMEZONE_CHOICES, default="UTC")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ScheduleHours(models.Model):
    """One opening interval on a weekday. An end of 00:00 means midnight (end of day)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["weekday", "start_time"]
        verbose_name_plural = "schedule hours"

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    def clean(self):
        if self.end_time != dt.time(0, 0) and self.end_time <= self.start_time:
            raise ValidationError(_("The end must come after the start (00:00 means midnight)."))


class Holiday(models.Model):
    """Closed days (inclusive range, in the schedule's time zone)."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="holidays")
    name = models.CharField(max_length=64)
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        ordering = ["start_date"]

    def __str__(self):
        return f"{self.name} ({self.start_date})"

    def clean(self):
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError(_("A holiday cannot end before it starts."))


class SLA(models.Model):
    name = models.CharField(max_length=64, unique=True)
    grace_hours = models.PositiveIntegerField(
        help_text=_("Hours to answer, counted inside the schedule's business hours.")
    )
    schedule = models.ForeignKey(
        Schedule,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="slas",
        help_text=_("Empty: around the clock."),
    )
    is_transient = models.BooleanField(
        default=False,
        help_text=_("Replaced by the new department's SLA when the ticket is transferred."),
    )
    alerts_enabled = models.BooleanField(default=True, help_text=_("Send overdue alerts."))
    is_active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "SLA"
        verbose_name_plural = "SLAs"

    def __str__(self):
        return f"{self.name} ({self.grace_hours} h)"


class Nested:
    """Shared by the trees (departments, help topics): "Parent / Child" names, no cycles."""

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.parent.full_name} / {self.name}" if self.parent_id else self.name

    def clean(self):
        node, seen = self.parent, {self.pk}
        while node is not None:
            if node.pk in seen:
                raise ValidationError({"parent": _("This would make it its own ancestor.")})
            seen.add(node.pk)
            node = node.parent


class Department(Nested, models.Model):
    class AssignPolicy(models.TextChoices):
        NONE = "none", _("No automatic assignment")
        ROUND_ROBIN = "round_robin", _("Round-robin among available members")
        LEAST_BUSY = "least_busy", _("Member with the fewest open tickets")

    name = models.CharField(max_length=128, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_departments",
        limit_choices_to={"is_agent": True},
    )
    sla = models.ForeignKey(
        SLA, null=True, blank=True, on_delete=models.PROTECT, related_name="departments"
    )
    email = models.EmailField(blank=True, help_text=_("Outgoing address for this department."))
    assign_policy = models.CharField(max_length=16, choices=AssignPolicy, default=AssignPolicy.NONE)
    assign_members_only = models.BooleanField(
        default=False, help_text=_("Tickets may only be assigned to agents of this department.")
    )
    is_public = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    signature = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]


class Team(models.Model):
    name = models.CharField(max_length=128, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
        limit_choices_to={"is_agent": True},
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="teams",
        limit_choices_to={"is_agent": True},
    )
    is_active = models.BooleanField(default=True)
    alerts_enabled = models.BooleanField(default=True)
    assign_policy = models.CharField(
        max_length=16, choices=Department.AssignPolicy, default=Department.AssignPolicy.NONE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class HelpTopic(Nested, models.Model):
    name = models.CharField(max_length=128)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    is_public = models.BooleanField(default=True, help_text=_("Offered to clients in the portal."))
    is_active = models.BooleanField(default=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="topics"
    )
    priority = models.ForeignKey(
        "tickets.Priority", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sla = models.ForeignKey(
        SLA, null=True, blank=True, on_delete=models.PROTECT, related_name="topics"
    )
    status = models.ForeignKey(
        "tickets.TicketStatus",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Initial status of new tickets."),
    )
    assign_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"is_agent": True},
    )
    assign_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disable_autoresponse = models.BooleanField(default=False)
    sort = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["sort", "name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="routing_topic_unique_name"),
        ]


class BannedEmail(models.Model):
    """osTicket's ban list: mail and tickets from these senders are rejected."""

    address = models.CharField(
        max_length=254,
        unique=True,
        help_text=_("An address (jane@example.com) or a whole domain (@example.com)."),
    )
    notes = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]
        verbose_name = "banned address"
        verbose_name_plural = "ban list"

    def __str__(self):
        return self.address

    def clean(self):
        self.address = (self.address or "").strip().lower()
        if "@" not in self.address:
            raise ValidationError({"address": _("Enter an address or @domain.")})
