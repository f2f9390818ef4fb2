"""Query-string filters of the ticket and task lists (django-filter). A bad value is a 400 naming
the parameter: an unknown choice, a malformed id, date or boolean (`answered=maybe`),
an empty value (`updated_since=`) or a repeated single-valued parameter; never a filter
silently dropped, which would answer "all tickets"."""

import datetime as dt

import django_filters as df
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connection
from django.db.models import Q

from accounts.models import Organization, User
from helpdesk.limits import MAX_BULK_IDS, MAX_ID
from routing.models import Department, HelpTopic, Team
from tickets.models import Priority, State, Task, TaskState, Ticket, TicketStatus

TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})


def _is_id(value) -> bool:
    text = str(value).strip()
    return text.isdigit() and 0 < int(text) <= MAX_ID


class IdChoiceField(forms.ModelChoiceField):
    """An id that fits the column: anything else is invalid before any query."""

    def to_python(self, value):
        if value not in self.empty_values and not _is_id(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    def clean(self, value):
        for item in value or ():
            if not _is_id(item):
                raise ValidationError(
                    self.error_messages["invalid_choice"] % {"value": item}, code="invalid_choice"
                )
        return super().clean(value)


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no, on/off); anything else is an error, not "any"."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ValidationError("Give true or false.", code="invalid")


class StrictBooleanFilter(df.BooleanFilter):
    field_class = StrictBooleanField


class UtcDateTimeField(df.fields.IsoDateTimeField):
    """An ISO 8601 time that exists in UTC, where the database compares it: year 9999
    late in the day with a negative offset, or year 1 early with a positive one, would
    overflow there (a 500); they are a 400 here."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None:
            try:
                value.astimezone(dt.UTC)
            except OverflowError:
                raise ValidationError(
                    "Give a time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.",
                    code="out_of_range",
                ) from None
        return value


class UtcDateTimeFilter(df.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class StrictFilterSet(df.FilterSet):
    """A parameter given empty, or given twice when it takes one value, is an error."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, flt in self.filters.items():
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            multiple = isinstance(flt, df.MultipleChoiceFilter | df.ModelMultipleChoiceFilter)
            if any(not str(v).strip() for v in values):
                self.form.add_error(name, "Give a value, or leave the parameter out.")
            elif len(values) > (MAX_BULK_IDS if multiple else 1):
                limit = MAX_BULK_IDS if multiple else 1
                self.form.add_error(name, f"Give this parameter at most {limit} time(s).")
        return valid and not self.form.errors


class IdFilter(df.ModelChoiceFilter):
    field_class = IdChoiceField


class IdsFilter(df.ModelMultipleChoiceFilter):
    field_class = IdMultipleChoiceField


class WorkFilter(StrictFilterSet):
    """What tickets and tasks are both filtered by: where they are and who holds them."""

    department = IdFilter(queryset=Department.objects.all())
    assignee = df.CharFilter(
        method="filter_assignee",
        help_text="An agent id, `me`, or `none` for unassigned ones.",
        max_length=20,
        validators=[RegexValidator(r"^(me|none|[0-9]{1,18})$", "An agent id, me or none.")],
    )
    team = IdFilter(queryset=Team.objects.all())
    overdue = StrictBooleanFilter(field_name="is_overdue", help_text="true or false.")

    def filter_assignee(self, queryset, name, value):
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(assignee_id=getattr(user, "pk", None) or -1)
        return queryset.filter(assignee_id=int(value))

    def filter_q(self, queryset, name, value):
        words = value.split()
        return self.search(queryset, words, value) if words else queryset

    def search(self, queryset, words: list[str], value: str):
        """The rows `q` finds (`words`: its words, at least one)."""
        raise NotImplementedError


def search_filter(help_text: str) -> df.CharFilter:
    """`q`, searched by the filter set's `search`."""
    return df.CharFilter(method="filter_q", max_length=200, help_text=help_text)


class TicketFilter(WorkFilter):
    # distinct=False: a column of the ticket's own matches a row once, and DISTINCT made
    # PostgreSQL sort every matching ticket before the first page (bench/indexes.py)
    status = IdsFilter(
        queryset=TicketStatus.objects.all(),
        help_text="Status id (repeat for several).",
        distinct=False,
    )
    state = df.MultipleChoiceFilter(
        choices=State.choices, help_text="open, closed, ...", distinct=False
    )
    topic = IdFilter(queryset=HelpTopic.objects.all())
    priority = IdFilter(queryset=Priority.objects.all())
    requester = IdFilter(queryset=User.objects.all())
    organization = IdFilter(queryset=Organization.objects.all())
    answered = StrictBooleanFilter(field_name="is_answered", help_text="true or false.")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = UtcDateTimeFilter(field_name="updated_at", lookup_expr="lt")
    updated_since = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="For sync: tickets changed at or after this time (ISO 8601).",
    )
    q = search_filter("Search: a ticket number, or words of the subject and requester.")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def search(self, queryset, words, value):
        if len(words) == 1 and words[0].replace("-", "").isalnum():
            by_number = Q(number=words[0])
        else:
            by_number = Q(pk__in=[])
        if connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery, SearchVector

            vector = SearchVector("subject", config="simple")
            query = SearchQuery(" ".join(words), config="simple", search_type="plain")
            text = Q(pk__in=Ticket.objects.annotate(sv=vector).filter(sv=query).values("pk"))
        else:
            text = Q()
            for word in words:
                text &= Q(subject__icontains=word)
        person = Q(requester__email__iexact=value.strip()) if "@" in value else Q(pk__in=[])
        return queryset.filter(by_number | text | person)


class TaskFilter(WorkFilter):
    state = df.MultipleChoiceFilter(
        choices=TaskState.choices, help_text="open, closed (deleted: admins).", distinct=False
    )
    ticket = df.CharFilter(
        method="filter_ticket",
        max_length=32,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]{1,32}$", "A ticket number.")],
        help_text="The number of the ticket the tasks belong to.",
    )
    due_after = UtcDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = UtcDateTimeFilter(field_name="due_at", lookup_expr="lt")
    q = search_filter("Search: a task number, or words of the title.")

    class Meta:
        model = Task
        fields: list[str] = []

    def filter_ticket(self, queryset, name, value):
        return queryset.filter(ticket_id__in=Ticket.objects.filter(number=value).values("pk"))

    def search(self, queryset, words, value):
        title = Q()
        for word in words:
            title &= Q(title__icontains=word)
        return queryset.filter(Q(number=value.strip()) | title)


class UserFilter(StrictFilterSet):
    email = df.CharFilter(
        method="filter_email", max_length=254, help_text="The exact address (any case)."
    )

    class Meta:
        model = User
        fields: list[str] = []

    def filter_email(self, queryset, name, value):
        return queryset.filter(email__iexact=value.strip())
