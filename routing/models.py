"""Where a ticket goes, who works it, and by when."""

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.watched import WatchedModel, cached_rows

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class Schedule(models.Model):
    """Business hours: weekly opening hours in a time zone, minus holidays."""

    name = models.CharField(max_length=64, unique=True)
    timezone = models.CharField(max_length=64, choices=TIMEZONE_CHOICES, default="UTC")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")

    def __str__(self) -> str:
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
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    def clean(self) -> None:
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

    def __str__(self) -> str:
        return f"{self.name} ({self.start_date})"

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError(_("A holiday cannot end before it starts."))


@cached_rows
class SLA(WatchedModel):
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
    escalate_priority = models.ForeignKey(
        "tickets.Priority",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("When overdue, raise the priority to this one (never lowers it)."),
    )
    escalate_team = models.ForeignKey(
        "Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("When overdue, reassign the ticket to this team."),
    )
    escalate_notify_manager = models.BooleanField(
        default=True, help_text=_("The overdue alert also goes to the department manager.")
    )
    is_active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)

    class Meta(WatchedModel.Meta):
        ordering = ["name"]
        verbose_name = _("service level agreement")
        verbose_name_plural = _("service level agreements")

    def __str__(self) -> str:
        return f"{self.name} ({self.grace_hours} h)"


class Nested:
    """Shared by the trees (departments, help topics): "Parent / Child" names, no cycles."""

    if TYPE_CHECKING:  # the fields of the models that use it
        pk: Any
        name: str
        parent: Self | None
        parent_id: int | None

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        parent = self.parent if self.parent_id else None
        return f"{parent.full_name} / {self.name}" if parent is not None else self.name

    def clean(self) -> None:
        node, seen = self.parent, {self.pk}
        while node is not None:
            if node.pk in seen:
                raise ValidationError({"parent": _("This would make it its own ancestor.")})
            seen.add(node.pk)
            node = node.parent


@cached_rows
class Department(Nested, WatchedModel):
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
        SLA,
        verbose_name=_("SLA"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="departments",
    )
    email = models.EmailField(blank=True, help_text=_("Outgoing address for this department."))
    assign_policy = models.CharField(max_length=16, choices=AssignPolicy, default=AssignPolicy.NONE)
    assign_members_only = models.BooleanField(
        default=False, help_text=_("Tickets may only be assigned to agents of this department.")
    )
    claim_on_reply = models.BooleanField(
        default=True, help_text=_("An agent answering an unassigned ticket becomes its assignee.")
    )
    is_public = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    signature = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(WatchedModel.Meta):
        ordering = ["name"]


@cached_rows  # the panel's pickers (helpdesk.panel.pickers)
class Team(WatchedModel):
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

    class Meta(WatchedModel.Meta):
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@cached_rows
class HelpTopic(Nested, WatchedModel):
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
        SLA,
        verbose_name=_("SLA"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="topics",
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
    translations = models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        help_text=_(
            "The name in other languages, edited in the admin; what is left out shows the original."
        ),
    )

    class Meta(WatchedModel.Meta):
        ordering = ["sort", "name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="routing_topic_unique_name"),
        ]


@cached_rows
class BannedEmail(WatchedModel):
    """osTicket's ban list: mail and tickets from these senders are rejected."""

    address = models.CharField(
        max_length=254,
        unique=True,
        help_text=_("An address (jane@example.com) or a whole domain (@example.com)."),
    )
    notes = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(WatchedModel.Meta):
        ordering = ["address"]
        verbose_name = "banned address"
        verbose_name_plural = "ban list"

    def __str__(self) -> str:
        return self.address

    def clean(self) -> None:
        self.address = (self.address or "").strip().lower()
        if "@" not in self.address:
            raise ValidationError({"address": _("Enter an address or @domain.")})


class AssignmentCursor(models.Model):
    """Where round-robin assignment stopped, per department or team (row-locked when used)."""

    department = models.OneToOneField(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.OneToOneField(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    last_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department__isnull=True) ^ models.Q(team__isnull=True),
                name="routing_cursor_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"cursor of {self.department or self.team}"


@cached_rows
class TicketFilter(WatchedModel):
    """osTicket's ticket filters: ordered rules and actions run on every new ticket."""

    class Channel(models.TextChoices):
        ANY = "any", _("Any channel")
        WEB = "web", _("Web (portal and panel)")
        EMAIL = "email", _("Email")
        API = "api", _("API")

    name = models.CharField(max_length=64, unique=True)
    sort = models.PositiveIntegerField(default=99, help_text=_("Lower runs first."))
    is_active = models.BooleanField(default=True)
    channel = models.CharField(max_length=8, choices=Channel, default=Channel.ANY)
    match_all = models.BooleanField(
        default=True, help_text=_("Every rule must match; off: any one rule is enough.")
    )
    stop_on_match = models.BooleanField(
        default=False, help_text=_("Stop processing further filters.")
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(WatchedModel.Meta):
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.name


@cached_rows
class FilterRule(WatchedModel):
    class Field(models.TextChoices):
        EMAIL = "email", _("Sender email")
        NAME = "name", _("Sender name")
        SUBJECT = "subject", _("Subject")
        BODY = "body", _("Body")
        REPLY_TO = "reply_to", _("Reply-To address")
        REPLY_TO_NAME = "reply_to_name", _("Reply-To name")
        HEADER = "header", _("Email header (name below)")
        TOPIC = "topic", _("Help topic")
        ORGANIZATION = "organization", _("Organization")
        CUSTOM = "custom", _("Custom field (name below)")

    class Operator(models.TextChoices):
        EQUAL = "equal", _("equals")
        NOT_EQUAL = "not_equal", _("does not equal")
        CONTAINS = "contains", _("contains")
        NOT_CONTAINS = "not_contains", _("does not contain")
        STARTS = "starts", _("starts with")
        ENDS = "ends", _("ends with")
        MATCH = "match", _("matches regex")
        NOT_MATCH = "not_match", _("does not match regex")

    filter = models.ForeignKey(TicketFilter, on_delete=models.CASCADE, related_name="rules")
    field = models.CharField(max_length=16, choices=Field)
    name = models.CharField(max_length=128, blank=True, help_text=_("Header or custom field name."))
    operator = models.CharField(max_length=16, choices=Operator)
    value = models.CharField(max_length=255)

    class Meta(WatchedModel.Meta):
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_field_display()} {self.get_operator_display()} {self.value!r}"

    def clean(self) -> None:
        from .filters import regex_error

        if self.field in (self.Field.HEADER, self.Field.CUSTOM) and not self.name.strip():
            raise ValidationError({"name": _("Name the header or custom field.")})
        if self.operator in (self.Operator.MATCH, self.Operator.NOT_MATCH):
            error = regex_error(self.value)
            if error:
                raise ValidationError({"value": _("Invalid regular expression: %s") % error})


@cached_rows
class FilterAction(WatchedModel):
    class Kind(models.TextChoices):
        REJECT = "reject", _("Reject the ticket (reason in Value)")
        DEPARTMENT = "department", _("Set department")
        PRIORITY = "priority", _("Set priority")
        SLA = "sla", _("Set SLA")
        STATUS = "status", _("Set status")
        TOPIC = "topic", _("Set help topic")
        AGENT = "agent", _("Assign to an agent")
        TEAM = "team", _("Assign to a team")
        NO_AUTORESPONSE = "no_autoresponse", _("Disable the autoresponse")
        CANNED = "canned", _("Send a canned response")
        COLLABORATORS = "collaborators", _("Add collaborators (addresses in Value)")
        ORGANIZATION = "organization", _("Set organization")

    # the kinds that need a target, and the field holding it
    REQUIRED: ClassVar[dict[str, str]] = {
        Kind.DEPARTMENT: "department",
        Kind.PRIORITY: "priority",
        Kind.SLA: "sla",
        Kind.STATUS: "status",
        Kind.TOPIC: "topic",
        Kind.AGENT: "agent",
        Kind.TEAM: "team",
        Kind.CANNED: "canned",
        Kind.ORGANIZATION: "organization",
    }

    filter = models.ForeignKey(TicketFilter, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=16, choices=Kind)
    sort = models.PositiveIntegerField(default=0)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    priority = models.ForeignKey(
        "tickets.Priority", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sla = models.ForeignKey(
        SLA,
        verbose_name=_("SLA"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    status = models.ForeignKey(
        "tickets.TicketStatus", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    topic = models.ForeignKey(
        HelpTopic, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"is_agent": True},
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    canned = models.ForeignKey(
        "helpdesk_kb.CannedResponse",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    value = models.CharField(max_length=255, blank=True)

    class Meta(WatchedModel.Meta):
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        target = (
            getattr(self, self.REQUIRED[self.kind]) if self.kind in self.REQUIRED else self.value
        )
        return f"{self.get_kind_display()}: {target}" if target else self.get_kind_display()

    def clean(self) -> None:
        field = self.REQUIRED.get(self.kind)
        if field and getattr(self, f"{field}_id") is None:
            raise ValidationError({field: _("This action needs a %s.") % field})
        if self.kind == self.Kind.COLLABORATORS and "@" not in self.value:
            raise ValidationError(
                {"value": _("List the collaborators' addresses, separated by commas.")}
            )
