"""Forms: turn raw input into typed arguments for the services. They validate; the
services decide. Every label is translatable."""

import datetime as dt
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from accounts.errors import ValidationFailed
from accounts.models import TIMEZONE_CHOICES
from helpdesk import limits
from helpdesk.attachments import AttachmentsField, to_attachments
from helpdesk.display import shown
from helpdesk.editor import HTML, TEXT, editor_body
from helpdesk.formfields import field_of
from helpdesk.params import DayField, QueryForm, UtcDateTimeField
from helpdesk.translations import (
    StatusChoiceField,
    TopicChoiceField,
    translated,
    translated_options,
)
from threads.models import Collaborator
from tickets.customfields import clean_values
from tickets.models import MergeMode, Priority, State, Ticket, TicketStatus
from tickets.services import Participants

from . import selectors
from .models import PAGE_SIZES
from .queues import COLUMNS, CRITERIA, SORTS

# the attachments input, shared with the portal (limits and type policy)
MultipleFileField = AttachmentsField
new_attachments = to_attachments


class VersionMixin(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


class LoginForm(forms.Form):
    login = forms.CharField(
        label=_("Username or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Six-digit code from your authenticator app"),
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class SignInCodeForm(forms.Form):
    """The second step of sign-in: an authenticator code, or one recovery code."""

    code = forms.CharField(
        label=_("Six-digit code from your authenticator app, or a recovery code"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


LANGUAGES = [("", _("Site default"))] + [(code, name) for code, name in settings.LANGUAGES]


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=128, required=False)
    signature = forms.CharField(
        label=_("Signature"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    sign_replies = forms.BooleanField(
        label=_("Append my signature to replies by default"), required=False
    )
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES, required=False)
    page_size = forms.TypedChoiceField(
        label=_("Tickets per page"), choices=[(n, n) for n in PAGE_SIZES], coerce=int
    )
    notify_new_ticket = forms.BooleanField(label=_("New ticket in my departments"), required=False)
    notify_new_message = forms.BooleanField(label=_("New message on my tickets"), required=False)
    notify_assigned = forms.BooleanField(label=_("Ticket assigned to me"), required=False)
    notify_transferred = forms.BooleanField(
        label=_("Ticket transferred to my department"), required=False
    )
    notify_overdue = forms.BooleanField(label=_("Ticket overdue"), required=False)
    notify_note = forms.BooleanField(label=_("Internal note on my tickets"), required=False)
    notify_task_new = forms.BooleanField(label=_("New task in my departments"), required=False)
    notify_task_activity = forms.BooleanField(
        label=_("New update on my tasks (or tasks I follow)"), required=False
    )
    notify_task_assigned = forms.BooleanField(label=_("Task assigned to me"), required=False)
    notify_task_transferred = forms.BooleanField(
        label=_("Task transferred to my department"), required=False
    )
    notify_task_overdue = forms.BooleanField(label=_("Task overdue"), required=False)


class EditorMixin(forms.Form):
    """A body written in the rich-text editor (format "html") or a plain textarea
    (without JavaScript, "text"). Cleaned: `body`, `fmt`, and `attachments` with the
    images pasted into the editor added as inline files (helpdesk.editor)."""

    format = forms.ChoiceField(
        choices=[(TEXT, TEXT), (HTML, HTML)], required=False, widget=forms.HiddenInput
    )
    inline_images = MultipleFileField(label=_("Pasted images"))
    body_required = False

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if "body" not in data or "inline_images" not in data:
            return data
        uploads = data["inline_images"]
        written = editor_body(data["body"], data.get("format") or TEXT, uploads)
        for error in written.errors:
            self.add_error("body", error)
        if self.body_required and not written.body.strip():
            self.add_error("body", forms.ValidationError(_("This field is required."), "required"))
        files = list(written.images)
        if "attachments" in data:
            hard = limits.max_attachments_hard()
            if len(data["attachments"]) + len(files) > hard:
                self.add_error(
                    "attachments",
                    _("Attach at most %(n)d files (pasted images count).") % {"n": hard},
                )
        data["body"], data["fmt"], data["images"] = written.body, written.fmt, files
        return data


def all_attachments(form) -> list:
    """The uploaded files and the editor's inline images, as the services take them."""
    d = form.cleaned_data
    return to_attachments(d.get("attachments")) + list(d.get("images", []))


class ReplyForm(EditorMixin, VersionMixin):
    body = forms.CharField(
        label=_("Response"), required=False, widget=forms.Textarea(attrs={"rows": 8})
    )
    cc = forms.MultipleChoiceField(
        label=_("Also send to"), required=False, widget=forms.CheckboxSelectMultiple
    )
    status = StatusChoiceField(
        label=_("Status after replying"),
        queryset=TicketStatus.objects.none(),
        required=False,
        empty_label=_("Keep the current status"),
    )
    signature = forms.ChoiceField(
        label=_("Signature"), required=False, widget=forms.RadioSelect, choices=()
    )
    attachments = MultipleFileField(label=_("Attachments"))
    canned = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, statuses=(), collaborators=(), signatures=(), **kwargs):
        """`signatures`: the choices tickets.services.signature_choices offers the agent
        in the ticket's department (no signature, theirs, the department's)."""
        super().__init__(*args, **kwargs)
        field_of(self, "signature", forms.ChoiceField).choices = list(signatures) or [
            ("none", _("No signature"))
        ]
        status = field_of(self, "status", forms.ModelChoiceField)
        status.queryset = TicketStatus.objects.filter(pk__in=[s.pk for s in statuses])
        shown(status, choices_list=statuses)
        # its options from `statuses` (no query to show them; a choice is still checked
        # against the queryset)
        status.choices = [
            ("", status.empty_label),
            *((s.pk, status.label_from_instance(s)) for s in statuses),
        ]
        field_of(self, "cc", forms.MultipleChoiceField).choices = [
            (str(c.user_id), f"{c.user.display_name} <{c.user.email}>")
            for c in collaborators
            if c.is_active
        ]

    def clean_signature(self):
        return self.cleaned_data["signature"] or "none"

    def clean_cc(self):
        chosen = self.cleaned_data["cc"]
        if len(chosen) > limits.MAX_RECIPIENTS:
            raise forms.ValidationError(
                _("Send to at most %(n)d collaborators.") % {"n": limits.MAX_RECIPIENTS}
            )
        return chosen


class DraftForm(forms.Form):
    """A draft as the editor autosaves it: its body (cut at 100,000 characters, as
    before) and the images pasted into it (`inline_images`, named as the body names
    them; threads.services.draft_save keeps them with the draft)."""

    body = forms.CharField(required=False, strip=False)
    inline_images = MultipleFileField(label=_("Pasted images"))

    def clean_body(self):
        return self.cleaned_data["body"][:100_000]


class NoteForm(EditorMixin):
    title = forms.CharField(label=_("Title"), max_length=255, required=False)
    body = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 5}))
    attachments = MultipleFileField(label=_("Attachments"))
    body_required = True


class AssignForm(VersionMixin):
    agent = forms.ModelChoiceField(
        label=_("Agent"), queryset=selectors.assignable_agents(), required=False
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=selectors.active_teams(), required=False
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=1000)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if not data.get("agent") and not data.get("team"):
            raise forms.ValidationError(_("Choose an agent or a team."))
        return data


class AssigneeForm(AssignForm):
    """The sidebar's "Agent" property: assign to an agent, keeping the team."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["team"]
        self.fields["agent"].required = True


class TeamForm(AssignForm):
    """The sidebar's "Team" property: assign to a team, keeping the agent."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["agent"]
        self.fields["team"].required = True


class TransferForm(VersionMixin):
    handover_fields = ("department",)  # hands work over: every department (narrow_pickers)
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=selectors.active_departments()
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=1000)


class ReferForm(forms.Form):
    handover_fields = ("department",)
    agent = forms.ModelChoiceField(
        label=_("Agent"), queryset=selectors.assignable_agents(), required=False
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=selectors.active_teams(), required=False
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=selectors.active_departments(), required=False
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=1000)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if sum(1 for k in ("agent", "team", "department") if data.get(k)) != 1:
            raise forms.ValidationError(_("Choose exactly one agent, team or department."))
        return data


class StatusForm(VersionMixin):
    status = StatusChoiceField(label=_("Status"), queryset=TicketStatus.objects.all())
    close_tasks_too = forms.BooleanField(
        label=_("Close its open tasks too"),
        required=False,
        help_text=_("When closing: a ticket with open tasks cannot close."),
    )


class PriorityForm(VersionMixin):
    priority = forms.ModelChoiceField(label=_("Priority"), queryset=Priority.objects.all())


class DueDateForm(VersionMixin):
    due_at = UtcDateTimeField(
        label=_("Due date"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text=_("Empty: clear it (the SLA's due date applies)."),
    )


class AnsweredForm(VersionMixin):
    answered = forms.TypedChoiceField(
        choices=[("1", _("Answered")), ("0", _("Unanswered"))], coerce=lambda v: v == "1"
    )


class EditForm(VersionMixin):
    subject = forms.CharField(label=_("Subject"), max_length=255)
    topic = TopicChoiceField(
        label=_("Help topic"), queryset=selectors.active_topics(), required=False
    )
    sla = forms.ModelChoiceField(label=_("SLA"), queryset=selectors.active_slas(), required=False)
    requester = forms.EmailField(label=_("Requester's email"))

    def __init__(self, *args, custom_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_names = add_custom_fields(self, custom_fields)


class TopicForm(VersionMixin):
    topic = TopicChoiceField(
        label=_("Help topic"), queryset=selectors.active_topics(), required=False
    )


class SlaForm(VersionMixin):
    sla = forms.ModelChoiceField(label=_("SLA"), queryset=selectors.active_slas(), required=False)


class FieldsForm(VersionMixin):
    """The custom fields of the ticket's topic, edited together in the sidebar."""

    def __init__(self, *args, custom_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_names = add_custom_fields(self, custom_fields)


def add_custom_fields(form, custom_fields) -> list[str]:
    """Add one form field per custom field (prefixed cf_); returns the custom names."""
    names = []
    for cf in custom_fields:
        kind = cf.kind
        # admins write help texts; Django's form templates print help_text unescaped
        attrs: dict[str, Any] = {  # in the agent's language (helpdesk.translations)
            "label": translated(cf, "label"),
            "required": False,
            "help_text": escape(translated(cf, "help_text")),
        }
        field: forms.Field
        if kind == "textarea":
            field = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **attrs)
        elif kind == "choice":
            field = forms.ChoiceField(choices=[("", "—"), *translated_options(cf)], **attrs)
        elif kind == "checkbox":
            field = forms.BooleanField(**attrs)
        elif kind == "date":
            field = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **attrs)
        elif kind == "email":
            field = forms.EmailField(**attrs)
        else:
            field = forms.CharField(**attrs)
        shown(field, custom_required=cf.required)
        form.fields[f"cf_{cf.name}"] = field
        names.append(cf.name)
    return names


def check_custom_fields(form, custom_fields) -> None:
    """Check the custom fields' values with the services' rules (tickets.customfields),
    each bad value an error of its own field; those the form already refused are left."""
    unchecked = [f for f in custom_fields if f"cf_{f.name}" not in form.errors]
    try:
        clean_values(unchecked, custom_values(form))
    except ValidationFailed as exc:
        for name, errors in exc.fields.items():
            for error in errors:
                form.add_error(f"cf_{name}", error)


def custom_values(form) -> dict:
    """{name: value} as the services take them (tickets.customfields checks them)."""
    out = {}
    for name in form.custom_names:
        value = form.cleaned_data.get(f"cf_{name}")
        if isinstance(value, bool):
            value = "yes" if value else ""
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[name] = "" if value is None else value
    return out


class NumbersForm(VersionMixin):
    numbers = forms.CharField(
        label=_("Ticket numbers"),
        max_length=34 * limits.MAX_BULK_IDS,
        help_text=_("Separate several numbers with commas or spaces."),
    )

    def clean_numbers(self):
        raw = self.cleaned_data["numbers"].replace(",", " ").split()
        numbers = list(dict.fromkeys(n.lstrip("#") for n in raw if n.lstrip("#")))
        if not numbers or len(numbers) > limits.MAX_BULK_IDS:
            raise forms.ValidationError(
                _("Give between one and %(n)d ticket numbers.") % {"n": limits.MAX_BULK_IDS}
            )
        return numbers


class MergeForm(NumbersForm):
    """osTicket's merge dialog: the mode, who joins as collaborator, the statuses."""

    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=MergeMode.choices,
        initial=MergeMode.COMBINE,
        required=False,
        widget=forms.RadioSelect,
        help_text=_("Combine when none is chosen (osTicket's default)."),
    )
    participants = forms.ChoiceField(
        label=_("Collaborators of this ticket from the others"),
        choices=Participants.choices,
        initial=Participants.ALL,
        required=False,
        help_text=_("Not for a link."),
    )
    child_status = StatusChoiceField(
        label=_("Status of the merged tickets"),
        queryset=TicketStatus.objects.filter(state=State.CLOSED),
        required=False,
        empty_label=_("The configured closed status"),
        help_text=_("Not for a link."),
    )
    parent_status = StatusChoiceField(
        label=_("Status of this ticket"),
        queryset=TicketStatus.objects.filter(state__in=[State.OPEN, State.CLOSED]),
        required=False,
        empty_label=_("Unchanged"),
        help_text=_("Not for a link."),
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        data["mode"] = data.get("mode") or MergeMode.COMBINE
        if data["mode"] == MergeMode.LINK:
            data["participants"] = None  # the menu always sends one; a link copies nobody
        else:
            data["participants"] = data.get("participants") or Participants.ALL
        return data


class UnmergeForm(VersionMixin):
    status = StatusChoiceField(
        label=_("Status"),
        queryset=TicketStatus.objects.filter(state__in=[State.OPEN, State.CLOSED]),
        required=False,
        empty_label=_("The one it had before the merge"),
    )


class SplitForm(forms.Form):
    """A new ticket from one entry (osTicket's "create ticket from this entry")."""

    subject = forms.CharField(label=_("Subject"), max_length=255)
    email = forms.EmailField(
        label=_("Requester's email"),
        help_text=_("The entry's author when a client wrote it, else this ticket's requester."),
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=selectors.active_departments(), required=False
    )
    topic = TopicChoiceField(
        label=_("Help topic"), queryset=selectors.active_topics(), required=False
    )
    priority = forms.ModelChoiceField(
        label=_("Priority"), queryset=Priority.objects.all(), required=False
    )
    autorespond = forms.BooleanField(
        label=_("Send the requester the new-ticket notice"), required=False, initial=True
    )


class CollaboratorForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    name = forms.CharField(label=_("Name"), required=False, max_length=128)
    role = forms.ChoiceField(label=_("As"), choices=Collaborator.Role.choices)


class NewTicketForm(forms.Form):
    email = forms.EmailField(label=_("Client's email"))
    name = forms.CharField(
        label=_("Client's name"), required=False, max_length=128, help_text=_("For a new client.")
    )
    subject = forms.CharField(label=_("Subject"), max_length=255)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}))
    topic = TopicChoiceField(
        label=_("Help topic"), queryset=selectors.active_topics(), required=False
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=selectors.active_departments(), required=False
    )
    priority = forms.ModelChoiceField(
        label=_("Priority"), queryset=Priority.objects.all(), required=False
    )
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=selectors.assignable_agents(), required=False
    )
    due_at = DueDateForm.base_fields["due_at"]
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args, custom_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_names = add_custom_fields(self, custom_fields)


YES_NO = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]


class AdvancedSearchForm(QueryForm):
    """The advanced search, as a query string (and the criteria a saved queue keeps).
    Browsers send every field, so an empty one means "any"; a value that is not one of
    the choices, a malformed or out-of-range date, or a field given twice is an error."""

    blank_ok = frozenset(CRITERIA)

    q = forms.CharField(label=_("Words"), required=False, max_length=200)
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Any")), *State.choices],  # Ticket.state's
    )
    status = StatusChoiceField(
        label=_("Status"), queryset=TicketStatus.objects.all(), required=False
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=selectors.active_departments(), required=False
    )
    priority = forms.ModelChoiceField(
        label=_("Priority"), queryset=Priority.objects.all(), required=False
    )
    topic = TopicChoiceField(
        label=_("Help topic"), queryset=selectors.active_topics(), required=False
    )
    assignee = forms.ChoiceField(label=_("Assigned to"), required=False)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=selectors.active_teams(), required=False
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("Any")), *Ticket.Source.choices]
    )
    overdue = forms.ChoiceField(label=_("Overdue"), required=False, choices=YES_NO)
    answered = forms.ChoiceField(label=_("Answered"), required=False, choices=YES_NO)
    created_after = DayField(label=_("Created from"))
    created_before = DayField(label=_("Created until"))
    requester = forms.EmailField(label=_("Requester's email"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field_of(self, "assignee", forms.ChoiceField).choices = [
            ("", _("Anyone")),
            ("me", _("Me")),
            ("none", _("Nobody")),
        ] + [(str(a.pk), a.display_name) for a in selectors.assignable_agents()]

    def searched(self) -> bool:
        """Was a search asked for (any criterion in the query string, even empty)?"""
        return any(key in self.data for key in CRITERIA)

    def require_some(self) -> None:
        """A search with every criterion empty would list every ticket: refused."""
        if self.is_valid() and not self.criteria():
            self.add_error(None, _("Choose at least one criterion."))

    def criteria(self) -> dict:
        out = {}
        for key in CRITERIA:
            value = self.cleaned_data.get(key)
            if value in (None, ""):
                continue
            if hasattr(value, "pk"):
                value = value.pk
            elif isinstance(value, dt.date):
                value = value.isoformat()
            out[key] = value
        return out


class SaveQueueForm(forms.Form):
    name = forms.CharField(label=_("Queue name"), max_length=64)
    shared = forms.BooleanField(label=_("Share with every agent"), required=False)
    columns = forms.MultipleChoiceField(
        label=_("Columns"),
        choices=list(COLUMNS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        choices=[(f"-{k}", f"{s.label} ↓") for k, s in SORTS.items()]
        + [(k, f"{s.label} ↑") for k, s in SORTS.items()],
    )


class BoundedMultipleChoiceField(forms.MultipleChoiceField):
    """Counted before anything else (helpdesk.limits.MAX_BULK_IDS)."""

    def clean(self, value):
        if value and len(value) > limits.MAX_BULK_IDS:
            raise forms.ValidationError(
                _("Choose at most %(n)d tickets at once.") % {"n": limits.MAX_BULK_IDS}
            )
        return super().clean(value)


class BulkForm(forms.Form):
    ACTIONS = [
        ("assign", _("Assign")),
        ("transfer", _("Transfer")),
        ("status", _("Change status")),
        ("merge", _("Merge")),
        ("delete", _("Delete")),
    ]
    handover_fields = ("department",)
    action = forms.ChoiceField(choices=ACTIONS)
    tickets = BoundedMultipleChoiceField(choices=[], required=True)
    agent = forms.ModelChoiceField(queryset=selectors.assignable_agents(), required=False)
    team = forms.ModelChoiceField(queryset=selectors.active_teams(), required=False)
    department = forms.ModelChoiceField(queryset=selectors.active_departments(), required=False)
    status = StatusChoiceField(queryset=TicketStatus.objects.all(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        picked = self.data.getlist("tickets") if hasattr(self.data, "getlist") else []
        # choices are what was picked (checked against visibility by the view)
        tickets = field_of(self, "tickets", forms.MultipleChoiceField)
        tickets.choices = [(n, n) for n in picked[: limits.MAX_BULK_IDS]]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        need = {"transfer": "department", "status": "status"}.get(data.get("action", ""))
        if need and not data.get(need):
            self.add_error(need, _("This field is required."))
        if data.get("action") == "assign" and not (data.get("agent") or data.get("team")):
            self.add_error("agent", _("Choose an agent or a team."))
        if data.get("action") == "merge" and len(data.get("tickets") or ()) < 2:
            self.add_error("tickets", _("Choose at least two tickets to merge."))
        return data


F = TypeVar("F", bound=forms.Form)


def narrow_pickers(form: F, user) -> F:
    """Department and agent pickers show what the agent may see (osTicket's
    visibility.departments and visibility.agents, decided by
    routing.selectors.departments_visible_to and accounts.selectors.agents_visible_to):
    a choice outside it is not offered and is refused when posted. Department fields
    that hand work over to another department (a form's `handover_fields`: transfer,
    refer, a task's department) keep every department. Returns the form."""
    from accounts.models import User
    from accounts.selectors import agents_visible_to
    from routing.models import Department
    from routing.selectors import departments_visible_to

    handover = getattr(form, "handover_fields", ())
    for name, field in form.fields.items():
        if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
            model = field.queryset.model
            if model is Department and name not in handover:
                visible = departments_visible_to(user=user).values("pk")
                field.queryset = field.queryset.filter(pk__in=visible)
            elif model is User:
                field.queryset = field.queryset.filter(
                    pk__in=agents_visible_to(user=user).values("pk")
                )
    if isinstance(form, AdvancedSearchForm):
        visible_ids = set(agents_visible_to(user=user).values_list("pk", flat=True))
        assignee = field_of(form, "assignee", forms.ChoiceField)
        offered: list[tuple[str, str]] = list(assignee.choices)  # type: ignore[arg-type]
        assignee.choices = [
            (key, label)
            for key, label in offered
            if not str(key).isdigit() or int(key) in visible_ids
        ]
    return form
