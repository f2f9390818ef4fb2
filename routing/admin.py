import json
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from accounts.admin_services import ThroughServices

from . import services
from .filters import Sample, explain
from .models import (
    SLA,
    BannedEmail,
    Department,
    FilterAction,
    FilterRule,
    HelpTopic,
    Holiday,
    Schedule,
    ScheduleHours,
    Team,
    TicketFilter,
)


def _open_weekdays(schedule: Schedule | None) -> set[int]:
    if schedule is None or schedule.pk is None:
        return set()
    return set(schedule.hours.values_list("weekday", flat=True))


class ScheduleHoursInline(admin.TabularInline[ScheduleHours, Schedule]):
    """The week as a grid, one row per weekday: the schedule's intervals, and an empty
    row for each weekday without one (left empty, that day stays closed; another row
    for a day gives it a second interval)."""

    model = ScheduleHours
    verbose_name = _("opening hours")
    verbose_name_plural = _("business hours: one row per weekday (leave a day empty: closed)")

    def get_extra(self, request: HttpRequest, obj: Schedule | None = None, **kwargs: Any) -> int:
        return 7 - len(_open_weekdays(obj))


def _weekday_of(row: helpers.InlineAdminForm) -> int:
    """The weekday a grid row is for: as posted, else as saved or offered."""
    value = row.form["weekday"].value()
    try:
        return int(value)
    except (TypeError, ValueError):
        return 7  # a row without a day goes last


class WeekGridFormSet(helpers.InlineAdminFormSet):
    """The rows in weekday order, Monday to Sunday, open and closed days together (the
    admin yields the saved rows first, then the empty ones); the template row for "add
    another" stays last. Only the display order: each row keeps its prefix."""

    def __iter__(self) -> Iterator[helpers.InlineAdminForm]:
        rows = list(super().__iter__())
        template = [r for r in rows if "__prefix__" in (r.form.prefix or "")]
        days = [r for r in rows if r not in template]
        yield from sorted(days, key=_weekday_of)  # stable: a day's intervals keep their order
        yield from template


class HolidayInline(admin.TabularInline[Holiday, Schedule]):
    model = Holiday
    extra = 0


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin[Schedule]):
    list_display = ["name", "timezone"]
    list_filter = ["timezone"]
    search_fields = ["name"]
    inlines = [ScheduleHoursInline, HolidayInline]

    def get_inline_formsets(
        self, request: HttpRequest, formsets: Any, inline_instances: Any, obj: Any = None
    ) -> list[helpers.InlineAdminFormSet]:
        found = super().get_inline_formsets(request, formsets, inline_instances, obj)
        for inline_formset in found:
            if isinstance(inline_formset.opts, ScheduleHoursInline):
                inline_formset.__class__ = WeekGridFormSet
        return found

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        """The empty rows of the week grid start on the weekdays still closed (the same
        on the POST, so a row left empty is unchanged and not saved)."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, ScheduleHoursInline):
            closed = sorted(set(ScheduleHours.Weekday.values) - _open_weekdays(obj))
            kwargs["initial"] = [{"weekday": day} for day in closed]
        return kwargs


@admin.register(SLA)
class SLAAdmin(ThroughServices[SLA], admin.ModelAdmin[SLA]):
    save_service = staticmethod(services.sla_save)
    delete_service = staticmethod(services.sla_delete)
    list_display = [
        "name",
        "grace_hours",
        "schedule",
        "is_transient",
        "alerts_enabled",
        "is_active",
    ]
    list_filter = ["is_active", "is_transient", "alerts_enabled", "schedule"]
    search_fields = ["name", "notes"]


@admin.register(Department)
class DepartmentAdmin(ThroughServices[Department], admin.ModelAdmin[Department]):
    save_service = staticmethod(services.department_save)
    delete_service = staticmethod(services.department_delete)
    list_display = ["name", "parent", "manager", "sla", "assign_policy", "is_public", "is_active"]
    list_filter = [
        "is_active",
        "is_public",
        "assign_policy",
        "assign_members_only",
        "claim_on_reply",
        "sla",
    ]
    search_fields = ["name", "email"]
    autocomplete_fields = ["parent", "manager"]


@admin.register(Team)
class TeamAdmin(ThroughServices[Team], admin.ModelAdmin[Team]):
    save_service = staticmethod(services.team_save)
    delete_service = staticmethod(services.team_delete)
    list_display = ["name", "lead", "is_active", "alerts_enabled", "assign_policy"]
    list_filter = ["is_active", "alerts_enabled", "assign_policy"]
    search_fields = ["name", "members__email", "members__name"]
    filter_horizontal = ["members"]
    autocomplete_fields = ["lead"]


@admin.register(HelpTopic)
class HelpTopicAdmin(ThroughServices[HelpTopic], admin.ModelAdmin[HelpTopic]):
    save_service = staticmethod(services.topic_save)
    delete_service = staticmethod(services.topic_delete)
    list_display = [
        "full_name",
        "department",
        "priority",
        "sla",
        "status",
        "is_public",
        "is_active",
        "sort",
    ]
    list_filter = ["is_active", "is_public", "department", "sla", "priority"]
    search_fields = ["name", "notes"]
    autocomplete_fields = ["parent", "department", "assign_agent", "assign_team"]
    list_select_related = ["parent", "department", "priority", "sla", "status"]


@admin.register(BannedEmail)
class BannedEmailAdmin(admin.ModelAdmin[BannedEmail]):
    list_display = ["address", "notes", "created_at"]
    search_fields = ["address", "notes"]


class FilterRuleInline(admin.TabularInline[FilterRule, TicketFilter]):
    model = FilterRule
    extra = 1


ACTION_TARGETS = sorted(set(FilterAction.REQUIRED.values()))
ACTION_VALUE_KINDS = (FilterAction.Kind.REJECT, FilterAction.Kind.COLLABORATORS)


def action_fields(kind: str) -> list[str]:
    """The fields a filter action of `kind` uses besides its kind and order."""
    if kind in FilterAction.REQUIRED:
        return [FilterAction.REQUIRED[kind]]
    return ["value"] if kind in ACTION_VALUE_KINDS else []


class FilterActionForm(forms.ModelForm[FilterAction]):
    """Shows only the fields of the chosen action (static/js/admin_filter_actions.js,
    from the map on the kind select) and clears the others, so a value left in a hidden
    field is never saved with an action that does not use it."""

    class Meta:
        model = FilterAction
        fields = ["kind", "sort", "value", *ACTION_TARGETS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        used = {kind: action_fields(kind) for kind in FilterAction.Kind.values}
        self.fields["kind"].widget.attrs.update(
            {
                "data-action-fields": json.dumps(used),
                "data-action-all": json.dumps(["value", *ACTION_TARGETS]),
            }
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        used = action_fields(cleaned.get("kind") or "")
        for name in ACTION_TARGETS:
            if name not in used:
                cleaned[name] = None
        if "value" not in used:
            cleaned["value"] = ""
        return cleaned


class FilterActionInline(admin.StackedInline[FilterAction, TicketFilter]):
    model = FilterAction
    form = FilterActionForm
    extra = 1
    fields = ["kind", "sort", "value", *ACTION_TARGETS]
    autocomplete_fields = ["agent", "organization", "canned", "topic", "department", "team"]

    class Media:
        js = ["js/admin_filter_actions.js"]


class FilterTestForm(forms.Form):
    source = forms.ChoiceField(
        choices=[("web", "Web"), ("email", "Email"), ("api", "API"), ("phone", "Phone")],
        initial="email",
    )
    email = forms.CharField(required=False)
    name = forms.CharField(required=False)
    subject = forms.CharField(required=False)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    reply_to = forms.CharField(required=False)
    topic = forms.CharField(required=False, help_text="The help topic's full name.")
    organization = forms.CharField(required=False)
    headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One 'Name: value' per line.",
    )
    # not `fields`: that name is the form's own dict of fields
    custom_fields = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Custom fields, one 'name: value' per line.",
    )

    @staticmethod
    def _pairs(text: str) -> dict[str, str]:
        pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
        return {k.strip(): v.strip() for k, v in pairs}

    def sample(self) -> Sample:
        d = self.cleaned_data
        return Sample(
            source=d["source"],
            email=d["email"],
            name=d["name"],
            subject=d["subject"],
            body=d["body"],
            reply_to=d["reply_to"],
            topic=d["topic"],
            organization=d["organization"],
            headers={k.lower(): v for k, v in self._pairs(d["headers"]).items()},
            fields=self._pairs(d["custom_fields"]),
        )


@admin.register(TicketFilter)
class TicketFilterAdmin(admin.ModelAdmin[TicketFilter]):
    """Save a new filter inactive, try it on the Test page, then activate it."""

    list_display = [
        "name",
        "sort",
        "channel",
        "match_all",
        "stop_on_match",
        "is_active",
        "test_link",
    ]
    list_filter = ["is_active", "channel", "match_all", "stop_on_match"]
    list_editable = ["sort"]
    search_fields = ["name", "notes", "rules__value"]
    inlines = [FilterRuleInline, FilterActionInline]

    @admin.display(description="test")
    def test_link(self, obj: TicketFilter) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:routing_ticketfilter_test", args=[obj.pk]), "Test"
        )

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<int:pk>/test/",
                self.admin_site.admin_view(self.test_view),
                name="routing_ticketfilter_test",
            )
        ]
        return custom + super().get_urls()

    def test_view(self, request: HttpRequest, pk: int) -> TemplateResponse:
        flt = get_object_or_404(TicketFilter, pk=pk)
        if not self.has_view_permission(request, flt):
            raise PermissionDenied
        form = FilterTestForm(request.POST or None)
        result = (
            explain(flt, form.sample()) if request.method == "POST" and form.is_valid() else None
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": flt,
            "title": f"Test filter: {flt.name}",
            "form": form,
            "result": result,
        }
        return TemplateResponse(request, "admin/routing/ticketfilter/test.html", context)
