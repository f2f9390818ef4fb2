"""Query-string filters of the ticket list (django-filter). A bad value is a 400."""

import django_filters as df
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connection
from django.db.models import Q

from accounts.models import Organization, User
from routing.models import Department, HelpTopic, Team
from tickets.models import Priority, State, Ticket, TicketStatus

MAX_ID = 2**63 - 1


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


class IdFilter(df.ModelChoiceFilter):
    field_class = IdChoiceField


class IdsFilter(df.ModelMultipleChoiceFilter):
    field_class = IdMultipleChoiceField


class TicketFilter(df.FilterSet):
    status = IdsFilter(
        queryset=TicketStatus.objects.all(), help_text="Status id (repeat for several)."
    )
    state = df.MultipleChoiceFilter(choices=State.choices, help_text="open, closed, ...")
    department = IdFilter(queryset=Department.objects.all())
    assignee = df.CharFilter(
        method="filter_assignee",
        help_text="An agent id, `me`, or `none` for unassigned tickets.",
        max_length=20,
        validators=[RegexValidator(r"^(me|none|[0-9]{1,18})$", "An agent id, me or none.")],
    )
    team = IdFilter(queryset=Team.objects.all())
    topic = IdFilter(queryset=HelpTopic.objects.all())
    priority = IdFilter(queryset=Priority.objects.all())
    requester = IdFilter(queryset=User.objects.all())
    organization = IdFilter(queryset=Organization.objects.all())
    overdue = df.BooleanFilter(field_name="is_overdue")
    answered = df.BooleanFilter(field_name="is_answered")
    created_after = df.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = df.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = df.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = df.IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")
    updated_since = df.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="For sync: tickets changed at or after this time (ISO 8601).",
    )
    q = df.CharFilter(
        method="filter_q",
        max_length=200,
        help_text="Search: a ticket number, or words of the subject and requester.",
    )

    class Meta:
        model = Ticket
        fields = []

    def filter_assignee(self, queryset, name, value):
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(assignee_id=getattr(user, "pk", None) or -1)
        return queryset.filter(assignee_id=int(value))

    def filter_q(self, queryset, name, value):
        words = value.split()
        if not words:
            return queryset
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
