"""Forms of the task pages: they turn input into the task services' arguments. Field
names follow the names the services give in their refusals (`agent`, `team`,
`department`, `title`), so a refusal lands on its field."""

from django import forms
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from helpdesk import limits
from helpdesk.formfields import field_of
from helpdesk.params import IdField, QueryForm, UtcDateTimeField

from . import selectors
from .forms import (
    AssignForm,
    BoundedMultipleChoiceField,
    MultipleFileField,
    TransferForm,
    VersionMixin,
    add_custom_fields,
)
from .keyset import sort_choices
from .params import QueueParams
from .task_queues import SORTS

TaskAssignForm = AssignForm  # agent and/or team, comment, version
TaskTransferForm = TransferForm  # department, comment, version


def due_field(help_text=""):
    """A due date as the ticket's due-date form takes it (in the agent's time zone)."""
    return UtcDateTimeField(
        label=_("Due date"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text=help_text,
    )


class TaskForm(forms.Form):
    """A new task: of a ticket (the department defaults to the ticket's), from one of its
    entries (`entry`: the description, when left empty, is the entry's text and files),
    or standalone (the department defaults to the settings' default task department)."""

    handover_fields = ("department",)  # a task may be handed to any department

    title = forms.CharField(label=_("Title"), max_length=255)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=selectors.active_departments(), required=False
    )
    agent = forms.ModelChoiceField(
        label=_("Assign to an agent"), queryset=selectors.assignable_agents(), required=False
    )
    team = forms.ModelChoiceField(
        label=_("Assign to a team"), queryset=selectors.active_teams(), required=False
    )
    due_at = due_field()
    attachments = MultipleFileField(label=_("Attachments"))
    entry = IdField(widget=forms.HiddenInput)

    def __init__(self, *args, custom_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_names = add_custom_fields(self, custom_fields)


class TaskEditForm(VersionMixin):
    title = forms.CharField(label=_("Title"), max_length=255)
    due_at = due_field(_("Empty: no due date."))

    def __init__(self, *args, custom_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_names = add_custom_fields(self, custom_fields)


class TaskCommentForm(VersionMixin):
    """Close or reopen: an optional comment (on the task's thread event)."""

    comment = forms.CharField(label=_("Comment"), required=False, max_length=1000)


class TaskUpdateForm(forms.Form):
    """An update on the task's thread (internal: tasks are agents' only)."""

    title = forms.CharField(label=_("Title"), max_length=255, required=False)
    body = forms.CharField(label=_("Update"), widget=forms.Textarea(attrs={"rows": 5}))
    attachments = MultipleFileField(label=_("Attachments"))


class TaskBulkForm(forms.Form):
    handover_fields = ("department",)
    ACTIONS = [
        ("assign", _("Assign")),
        ("transfer", _("Transfer")),
        ("close", _("Close")),
        ("delete", _("Delete")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    tasks = BoundedMultipleChoiceField(choices=[], required=True)
    agent = forms.ModelChoiceField(queryset=selectors.assignable_agents(), required=False)
    team = forms.ModelChoiceField(queryset=selectors.active_teams(), required=False)
    department = forms.ModelChoiceField(queryset=selectors.active_departments(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        picked = self.data.getlist("tasks") if hasattr(self.data, "getlist") else []
        # choices are what was picked (checked against visibility by the view)
        tasks = field_of(self, "tasks", forms.MultipleChoiceField)
        tasks.choices = [(n, n) for n in picked[: limits.MAX_BULK_IDS]]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("action") == "transfer" and not data.get("department"):
            self.add_error("department", _t("This field is required."))
        if data.get("action") == "assign" and not (data.get("agent") or data.get("team")):
            self.add_error("agent", _t("Choose an agent or a team."))
        return data


# --- query strings ---------------------------------------------------------------------------


class TaskQueueParams(QueueParams):
    """A task queue: `sort` (the task sorts) and `cursor`."""

    sorts = SORTS
    sort = forms.ChoiceField(label=_("Sort"), choices=sort_choices(SORTS), required=False)


class TaskSearchParams(QueryForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    blank_ok = frozenset({"q"})


class NewTaskParams(QueryForm):
    """The new-task page of a ticket: `entry`, one of the ticket's entries to start from."""

    entry = IdField(label=_("Entry"))

    def __init__(self, query, *, entry_of):
        super().__init__(query)
        self.entry_of = entry_of

    def clean_entry(self):
        pk = self.cleaned_data.get("entry")
        if pk is None:
            return None
        entry = self.entry_of(pk)
        if entry is None:
            raise forms.ValidationError(_t("No such entry on this ticket."), code="invalid_choice")
        return entry
