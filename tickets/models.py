"""Tickets, their statuses and priorities, numbering and system settings."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.rows import InsertWrittenOnce
from accounts.singleton import SingletonSettings
from accounts.watched import WatchedModel, cached_rows

from .config import new_version as new_config_version


class State(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    ARCHIVED = "archived", _("Archived")
    DELETED = "deleted", _("Deleted")


# The one transition table: which states may follow which. The services refuse other
# moves, templates offer only these, the API answers 409 for the rest.
TRANSITIONS: dict[str, frozenset[str]] = {
    State.OPEN: frozenset({State.OPEN, State.CLOSED, State.DELETED}),
    State.CLOSED: frozenset({State.OPEN, State.CLOSED, State.ARCHIVED, State.DELETED}),
    State.ARCHIVED: frozenset({State.CLOSED, State.DELETED}),
    State.DELETED: frozenset({State.OPEN, State.CLOSED}),  # restore from the trash
}


def transition_permissions(from_state: str, to_state: str) -> frozenset[str]:
    """Permissions of which any one allows an agent to make this move (osTicket's gates)."""
    if State.DELETED in (from_state, to_state):
        return frozenset({"ticket.delete"})
    if to_state == State.OPEN:  # another open status, or a reopen
        return frozenset({"ticket.close", "ticket.create"})
    return frozenset({"ticket.close"})  # close, another closed status, archive, unarchive


@cached_rows
class TicketStatus(WatchedModel):
    name = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=State, default=State.OPEN)
    description = models.CharField(max_length=255, blank=True)
    client_name = models.CharField(
        _("name shown to clients"),
        max_length=64,
        blank=True,
        help_text=_(
            "What clients see in the portal and in mail to them (an internal status such as "
            '"Waiting for vendor" can read "In progress"); empty: the name.'
        ),
    )
    allow_reopen = models.BooleanField(
        default=True, help_text=_("A client's message reopens a ticket in this (closed) status.")
    )
    reopen_status = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"state": State.OPEN},
        help_text=_("Status on reopen; empty: the default status."),
    )
    pauses_sla = models.BooleanField(
        verbose_name=_("pauses the SLA clock"),
        default=False,
        help_text=_("The SLA clock stops while a ticket is in this status."),
    )
    sort = models.PositiveIntegerField(default=0)
    translations = models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        help_text=_(
            "The names in other languages, edited in the admin; what is left out "
            "shows the original."
        ),
    )

    class Meta(WatchedModel.Meta):
        ordering = ["sort", "name"]
        verbose_name_plural = "ticket statuses"

    def __str__(self):
        return self.name

    @property
    def client_label(self) -> str:
        """The status as clients see it."""
        return self.client_name or self.name

    def clean(self):
        if self.reopen_status_id and self.reopen_status.state != State.OPEN:
            raise ValidationError({"reopen_status": _("The reopen status must be an open one.")})


class MergeMode(models.TextChoices):
    """How a child ticket joined its parent (osTicket's merge types)."""

    COMBINE = "combine", _("Combined: its entries moved into the parent's thread")
    SEPARATE = "separate", _("Separate: its thread kept, shown under the parent")
    LINK = "link", _("Linked: related only, nothing moved")


@cached_rows
class Priority(WatchedModel):
    name = models.CharField(max_length=32, unique=True)
    urgency = models.PositiveSmallIntegerField(help_text=_("1 is the most urgent."))
    colour = models.CharField(
        max_length=7,
        default="#888888",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour like #ff0000."))],
    )
    is_public = models.BooleanField(default=True, help_text=_("Clients may choose it."))

    class Meta(WatchedModel.Meta):
        ordering = ["urgency"]
        verbose_name_plural = "priorities"

    def __str__(self):
        return self.name


class WorkItem(InsertWrittenOnce, models.Model):
    """What a ticket and a task both are: a numbered piece of work in a department, with
    an assignee (agent and/or team), a thread, its times, and the version every change
    raises (tickets.services._common.lock_row checks it). Related names follow the class:
    `department.tickets` / `department.tasks`, `user.assigned_tickets` / `assigned_tasks`."""

    # Unique by a constraint in each Meta (not unique=True: that adds a second, LIKE
    # index on PostgreSQL, and numbers are only ever looked up whole). A clash on insert
    # raises accounts.rows.RowConflict, the transaction still usable (insert_numbered).
    number = models.CharField(max_length=32)
    insert_conflict_field = "number"
    # No single-column index on department, assignee, team: the composite indexes in
    # each Meta lead with them, and every index costs every insert and update.
    department = models.ForeignKey(
        "routing.Department", on_delete=models.PROTECT, related_name="%(class)ss", db_index=False
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_%(class)ss",
        db_index=False,
    )
    team = models.ForeignKey(
        "routing.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="%(class)ss",
        db_index=False,
    )
    thread = models.OneToOneField(
        "threads.Thread", on_delete=models.PROTECT, related_name="%(class)s"
    )
    is_overdue = models.BooleanField(default=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1, help_text=_("Raised by every change."))

    class Meta:
        abstract = True


class Ticket(WorkItem):
    class Source(models.TextChoices):
        WEB = "web", _("Web")
        EMAIL = "email", _("Email")
        API = "api", _("API")
        PHONE = "phone", _("Phone")
        OTHER = "other", _("Other")

    subject = models.CharField(max_length=255)
    # No single-column index on requester, organization (as for department, assignee, team).
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        db_index=False,
    )
    # topic, merged_into: partial indexes in Meta (only the rows that have one); sla: none
    topic = models.ForeignKey(
        "routing.HelpTopic",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    sla = models.ForeignKey(
        "routing.SLA",
        verbose_name=_("SLA"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    # No index on priority or status: no measured query reads one (docs/performance.md,
    # "Storage"); the API's filters by them walk the list's order and keep the matching
    # rows, and PROTECT's check before one is deleted reads the table.
    priority = models.ForeignKey(
        Priority, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    status = models.ForeignKey(
        TicketStatus, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    state = models.CharField(
        max_length=16,
        choices=State,
        default=State.OPEN,
        help_text=_("The status's state, kept in step."),
    )
    source = models.CharField(max_length=8, choices=Source, default=Source.WEB)
    sla_due_at = models.DateTimeField(
        verbose_name=_("SLA due at"), null=True, blank=True, help_text=_("From the SLA.")
    )
    sla_paused_at = models.DateTimeField(
        verbose_name=_("SLA paused at"),
        null=True,
        blank=True,
        help_text=_("Set while the status stops the SLA clock."),
    )
    due_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Set by an agent; wins over the SLA.")
    )
    is_answered = models.BooleanField(default=False)
    reopen_count = models.PositiveIntegerField(default=0)
    reopened_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_response_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_children",
        db_index=False,
        help_text=_("The parent this ticket was merged into or linked under."),
    )
    merge_mode = models.CharField(
        max_length=8,
        choices=MergeMode,
        blank=True,
        default="",
        help_text=_("How this ticket joined its parent; empty when it has none."),
    )
    ip_address = models.GenericIPAddressField(verbose_name=_("IP address"), null=True, blank=True)
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        default="",
        help_text=_(
            "The client's language when the ticket opened (their profile, the mail's "
            "Content-Language or the portal's language); empty: not known."
        ),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Each index is read by a measured query (docs/performance.md, "Storage":
            # bench/indexes.py). None on department: visibility is an OR of department,
            # assignee, team and referral, which no department index can drive.
            # The queues list live tickets by state; closed ones (most of a helpdesk's
            # tickets) are walked through tickets_updated, where nearly every row is one,
            # so only the others are indexed by state (a third of the size at 10% open).
            models.Index(
                fields=["state", "-updated_at", "-id"],
                name="tickets_state_updated",
                condition=~models.Q(state=State.CLOSED),
            ),
            models.Index(
                fields=["state", "-created_at", "-id"],
                name="tickets_state_created",
                condition=~models.Q(state=State.CLOSED),
            ),
            # partial: the unassigned (and team-less, organisation-less) rows are never
            # looked up through these
            models.Index(
                fields=["assignee", "state", "-updated_at"],
                name="tickets_assignee_state",
                condition=models.Q(assignee__isnull=False),
            ),
            models.Index(
                fields=["team", "state", "-updated_at"],
                name="tickets_team_state",
                condition=models.Q(team__isnull=False),
            ),
            models.Index(fields=["requester", "-created_at"], name="tickets_requester"),
            models.Index(
                fields=["organization", "-created_at"],
                name="tickets_org",
                condition=models.Q(organization__isnull=False),
            ),
            models.Index(fields=["-updated_at", "-id"], name="tickets_updated"),
            # the foreign keys that are mostly empty: a ticket's children, and what
            # PROTECT checks before a topic is deleted (and the API's topic filter).
            # None on sla: most tickets have one, and only PROTECT's check before an
            # SLA plan is deleted would read it (a rare admin action).
            *(
                models.Index(
                    fields=[name],
                    name=f"tickets_{name}",
                    condition=models.Q(**{f"{name}__isnull": False}),
                )
                for name in ("merged_into", "topic")
            ),
            # the overdue sweep: open, not yet overdue, clock running, by effective due date
            models.Index(
                Coalesce("due_at", "sla_due_at"),
                "id",
                name="tickets_overdue_sweep",
                condition=models.Q(state="open", is_overdue=False, sla_paused_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="tickets_ticket_number_unique"),
            # a merge mode exactly when there is a parent (tickets.services.relations)
            models.CheckConstraint(
                condition=(
                    models.Q(merged_into__isnull=True, merge_mode="")
                    | (models.Q(merged_into__isnull=False) & ~models.Q(merge_mode=""))
                ),
                name="tickets_merge_mode_with_parent",
            ),
        ]

    def __str__(self):
        return f"#{self.number} {self.subject}"

    @property
    def effective_due_at(self):
        return self.due_at or self.sla_due_at

    @property
    def is_open(self) -> bool:
        return self.state == State.OPEN

    @property
    def is_merged(self) -> bool:
        """Merged into another ticket (combined or separate): closed, and its mail goes
        to the parent. A linked child is not merged."""
        return self.merged_into_id is not None and self.merge_mode != MergeMode.LINK

    @property
    def draft_namespace(self) -> str:
        return f"ticket.{self.pk}."


class TicketLink(models.Model):
    """Two related tickets (osTicket's "visual merge"); stored once with low < high."""

    low = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    high = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["low", "high"], name="tickets_link_once"),
            models.CheckConstraint(
                condition=models.Q(low__lt=models.F("high")), name="tickets_link_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.low_id} <-> {self.high_id}"


class TaskState(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    DELETED = "deleted", _("Deleted")


class Task(WorkItem):
    """A work item inside a ticket (osTicket's tasks) or standalone: its own number,
    department, assignee and thread; never shown to clients. Every change goes through
    tickets.services.tasks."""

    title = models.CharField(max_length=255)
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
        help_text=_("The ticket it belongs to; empty for a standalone task."),
    )
    state = models.CharField(max_length=8, choices=TaskState, default=TaskState.OPEN)
    due_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-updated_at", "-id"], name="tasks_state_updated"),
            models.Index(fields=["department", "state", "-updated_at"], name="tasks_dept_state"),
            models.Index(fields=["assignee", "state", "-updated_at"], name="tasks_assignee_state"),
            models.Index(fields=["team", "state", "-updated_at"], name="tasks_team_state"),
            # the overdue sweep: open, not yet overdue, by due date
            models.Index(
                fields=["due_at", "id"],
                name="tasks_overdue_sweep",
                condition=models.Q(state="open", is_overdue=False, due_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="tickets_task_number_unique"),
        ]

    def __str__(self) -> str:
        return f"Task #{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state == TaskState.OPEN

    @property
    def draft_namespace(self) -> str:
        return f"task.{self.pk}."


class TaskFieldValue(models.Model):
    """A task's answer to a field of a task form (osTicket's "Task Details")."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="field_values")
    field = models.ForeignKey("CustomField", on_delete=models.PROTECT, related_name="task_values")
    value = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "field"], name="tickets_one_value_per_task_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.field.name}={self.value}"


class TicketSequence(models.Model):
    """A counter for sequential numbers, one row per numbered kind (tickets.numbers:
    TICKETS, TASKS), locked while taken."""

    next_value = models.PositiveBigIntegerField(default=1)

    def __str__(self):
        return f"next {self.next_value}"


class HelpdeskSettings(SingletonSettings):
    """System-wide settings (one row), edited by admins. `load()` (accounts.singleton)
    reads the row alone; related defaults load lazily, only when a service needs them,
    mostly from the configuration snapshot (tickets.config)."""

    class NumberMode(models.TextChoices):
        RANDOM = "random", _("Random digits (osTicket's default)")
        SEQUENCE = "sequence", _("Sequence")

    number_format = models.CharField(
        max_length=24,
        default="######",
        validators=[RegexValidator(r"#", _("The format needs at least one # for a digit."))],
        help_text=_("Each # is a digit; other characters are kept (e.g. TKT-######)."),
    )
    number_mode = models.CharField(max_length=16, choices=NumberMode, default=NumberMode.RANDOM)
    default_department = models.ForeignKey(
        "routing.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    default_sla = models.ForeignKey(
        "routing.SLA",
        verbose_name=_("default SLA"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    default_topic = models.ForeignKey(
        "routing.HelpTopic", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    default_priority = models.ForeignKey(
        Priority, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    default_status = models.ForeignKey(
        TicketStatus,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"state": State.OPEN},
    )
    closed_status = models.ForeignKey(
        TicketStatus,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"state": State.CLOSED},
        help_text=_("Status given to merged tickets and to tickets clients close."),
    )
    max_open_tickets = models.PositiveIntegerField(
        default=0, help_text=_("Open tickets a client may have at once; 0 for no limit.")
    )
    clients_can_close = models.BooleanField(
        default=True, help_text=_("Clients may close their own tickets.")
    )
    lock_minutes = models.PositiveIntegerField(
        default=3,
        help_text=_("Minutes an agent composing a reply holds the ticket; 0: no locks."),
    )
    auto_refer_closed = models.BooleanField(
        default=True,
        help_text=_(
            "Closing a ticket refers it to its assignee (agent and team; the closing agent "
            "when it had none), so they keep seeing it after a reassignment (osTicket's "
            "auto_refer_closed)."
        ),
    )
    reopen_assign_last = models.BooleanField(
        default=True,
        help_text=_(
            "A reopened ticket goes back to its assignee, or else its last respondent, while "
            "they are an active agent, not on vacation, with access to its department; "
            "otherwise, and when this is off, the agent assignment is dropped."
        ),
    )
    require_topic_to_close = models.BooleanField(
        default=False,
        help_text=_("A ticket without a help topic cannot be closed (osTicket's setting)."),
    )
    task_number_format = models.CharField(
        max_length=24,
        default="#",
        validators=[RegexValidator(r"#", _("The format needs at least one # for a digit."))],
        help_text=_("Task numbers: each # is a digit, a sequence widens as it grows."),
    )
    task_number_mode = models.CharField(
        max_length=16, choices=NumberMode, default=NumberMode.SEQUENCE
    )
    default_task_department = models.ForeignKey(
        "routing.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Department of a standalone task opened without one."),
    )
    # Replaced by a new random number whenever configuration changes (tickets.config).
    config_version = models.BigIntegerField(default=new_config_version, editable=False)

    class Meta:
        verbose_name = "helpdesk settings"
        verbose_name_plural = "helpdesk settings"

    def __str__(self):
        return "Helpdesk settings"

    def save(self, *args, **kwargs):
        # Never write back the version this instance was read with: a change made since
        # would come undone, and an old version must never return (tickets.config).
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "config_version" in update_fields:
            self.config_version = new_config_version()
        super().save(*args, **kwargs)

    def clean(self):
        if self.default_status_id and self.default_status.state != State.OPEN:
            raise ValidationError({"default_status": _("The default status must be an open one.")})
        if self.closed_status_id and self.closed_status.state != State.CLOSED:
            raise ValidationError({"closed_status": _("This status must be a closed one.")})


class CustomForm(models.Model):
    """Extra fields (osTicket's dynamic forms), for one kind of record, its `scope`:
    tickets (asked when a ticket is opened under the form's help topics; a topic's
    fields are those of its forms and its parents' forms), tasks (every task: osTicket's
    Task Details), users (osTicket's Contact Information) or organizations (osTicket's
    Organization Information). Only ticket forms have topics."""

    class Scope(models.TextChoices):
        TICKET = "ticket", _("Tickets (by help topic)")
        TASK = "task", _("Tasks")
        USER = "user", _("Users")
        ORGANIZATION = "organization", _("Organizations")

    name = models.CharField(max_length=128, unique=True)
    scope = models.CharField(
        max_length=16,
        choices=Scope,
        default=Scope.TICKET,
        help_text=_("What the form's fields describe."),
    )
    topics = models.ManyToManyField("routing.HelpTopic", blank=True, related_name="custom_forms")
    is_active = models.BooleanField(default=True)
    sort = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort", "name"]

    def __str__(self):
        return self.name


class CustomField(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Short text")
        TEXTAREA = "textarea", _("Long text")
        CHOICE = "choice", _("Choice")
        CHECKBOX = "checkbox", _("Checkbox")
        DATE = "date", _("Date")
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")

    form = models.ForeignKey(CustomForm, on_delete=models.CASCADE, related_name="fields")
    name = models.SlugField(
        max_length=64, help_text=_("Machine name, used by the API and filters.")
    )
    label = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.TEXT)
    required = models.BooleanField(default=False)
    choices = models.TextField(blank=True, help_text=_("For a choice: one option per line."))
    help_text = models.CharField(max_length=255, blank=True)
    client_visible = models.BooleanField(
        default=True, help_text=_("Clients see and fill this field.")
    )
    required_to_close = models.BooleanField(
        default=False, help_text=_("A ticket cannot be closed while this field is empty.")
    )
    sort = models.PositiveIntegerField(default=0)
    translations = models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        help_text=_(
            "The label, help text and options in other languages, edited in the admin; "
            "what is left out shows the original."
        ),
    )

    class Meta:
        ordering = ["form__sort", "sort", "id"]
        constraints = [
            models.UniqueConstraint(fields=["form", "name"], name="tickets_field_name_per_form")
        ]

    def __str__(self):
        return self.label

    @property
    def options(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self):
        if self.kind == self.Kind.CHOICE and not self.options:
            raise ValidationError({"choices": _("A choice field needs its options, one per line.")})
        form = self._state.fields_cache.get("form") if self.form_id is None else self.form
        scope = getattr(form, "scope", None)
        if scope in (CustomForm.Scope.USER, CustomForm.Scope.ORGANIZATION):
            # user and organization values are read and written by name (API, CSV)
            twin = CustomField.objects.filter(form__scope=scope, name=self.name)
            if twin.exclude(pk=self.pk).exists():
                raise ValidationError(
                    {"name": _("Another field of this kind of form has this name.")}
                )


class TicketFieldValue(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="field_values")
    field = models.ForeignKey(CustomField, on_delete=models.PROTECT, related_name="values")
    value = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "field"], name="tickets_one_value_per_field")
        ]

    def __str__(self):
        return f"{self.field.name}={self.value}"


class UserFieldValue(models.Model):
    """A user's answer to a field of a user form (osTicket's Contact Information)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="field_values"
    )
    field = models.ForeignKey(CustomField, on_delete=models.PROTECT, related_name="user_values")
    value = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "field"], name="tickets_one_value_per_user_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.field.name}={self.value}"


class OrganizationFieldValue(models.Model):
    """An organization's answer to a field of an organization form."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="field_values"
    )
    field = models.ForeignKey(
        CustomField, on_delete=models.PROTECT, related_name="organization_values"
    )
    value = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "field"], name="tickets_one_value_per_org_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.field.name}={self.value}"
