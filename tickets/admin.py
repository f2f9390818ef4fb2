from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from accounts.admin_services import SingletonAdmin, ThroughServices
from accounts.errors import DomainError

from . import services
from .models import (
    CustomField,
    CustomForm,
    HelpdeskSettings,
    Priority,
    State,
    Task,
    TaskFieldValue,
    Ticket,
    TicketStatus,
)
from .services.statuses import status_state_fixed_by


class TicketStatusForm(forms.ModelForm):
    class Meta:
        model = TicketStatus
        fields = [
            "name",
            "client_name",
            "state",
            "description",
            "allow_reopen",
            "reopen_status",
            "pauses_sla",
            "sort",
        ]

    def clean(self):
        cleaned = super().clean()
        state = cleaned.get("state")
        if self.instance.pk and state and state != self.instance.state:
            stored = TicketStatus.objects.get(pk=self.instance.pk)
            reasons = status_state_fixed_by(stored, state)
            if reasons:  # the service refuses it too; said here as a field error
                self.add_error(
                    "state",
                    _("The state of %(name)s cannot change: %(why)s.")
                    % {"name": stored.name, "why": "; ".join(reasons)},
                )
        return cleaned


@admin.register(TicketStatus)
class TicketStatusAdmin(ThroughServices, admin.ModelAdmin):
    """Adds and changes go through tickets.services.ticket_status_save (the state of a
    status in use is fixed: Ticket.state mirrors it); the form says so first."""

    form = TicketStatusForm
    save_service = staticmethod(services.ticket_status_save)
    delete_service = staticmethod(services.ticket_status_delete)
    list_display = ["name", "state", "allow_reopen", "reopen_status", "pauses_sla", "sort"]
    list_filter = ["state", "allow_reopen", "pauses_sla"]
    search_fields = ["name", "description"]
    list_editable = ["sort"]


@admin.register(Priority)
class PriorityAdmin(ThroughServices, admin.ModelAdmin):
    save_service = staticmethod(services.priority_save)
    delete_service = staticmethod(services.priority_delete)
    list_display = ["name", "urgency", "colour", "is_public"]
    list_filter = ["is_public"]
    search_fields = ["name"]


@admin.register(HelpdeskSettings)
class HelpdeskSettingsAdmin(SingletonAdmin):
    """One row, a section of the admin's "Helpdesk settings" page."""

    fieldsets = [
        (_("Ticket numbers"), {"fields": ["number_format", "number_mode"]}),
        (
            _("Defaults for new tickets"),
            {
                "fields": [
                    "default_department",
                    "default_topic",
                    "default_sla",
                    "default_priority",
                    "default_status",
                ]
            },
        ),
        (_("Clients"), {"fields": ["max_open_tickets", "clients_can_close", "closed_status"]}),
        (_("Agents"), {"fields": ["lock_minutes"]}),
        (
            _("Closing and reopening"),
            {"fields": ["auto_refer_closed", "reopen_assign_last", "require_topic_to_close"]},
        ),
        (
            _("Tasks"),
            {"fields": ["task_number_format", "task_number_mode", "default_task_department"]},
        ),
    ]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Tickets change through the lifecycle services only (panel, API, ...): here they are
    read-only, searchable, and deleted ones can be purged for good."""

    list_display = [
        "number",
        "subject",
        "requester",
        "department",
        "status",
        "priority",
        "assignee",
        "updated_at",
    ]
    list_filter = [
        "state",
        "status",
        "department",
        "priority",
        "source",
        "is_overdue",
        "is_answered",
        "team",
    ]
    search_fields = ["number", "subject", "requester__email", "requester__name"]
    list_select_related = ["requester", "department", "status", "priority", "assignee"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["purge_deleted"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Purge selected deleted tickets for good"))
    def purge_deleted(self, request, queryset):
        if queryset.exclude(state=State.DELETED).exists():
            self.message_user(
                request, _("Only tickets in the trash (deleted) can be purged."), messages.ERROR
            )
            return
        try:
            count = services.tickets_purge(actor=request.user, tickets=list(queryset))
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, _("%d tickets purged.") % count, messages.SUCCESS)


class CustomFieldInline(admin.TabularInline):
    model = CustomField
    extra = 1
    prepopulated_fields = {"name": ["label"]}
    exclude = ["translations"]
    show_change_link = True  # its own page has the translations of its label and options


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    """One field of a form on a page of its own: its label, help text and options, and
    their translations (the form's page lists its fields in a table)."""

    list_display = ["label", "name", "form", "kind", "required", "client_visible"]
    list_filter = ["form", "kind"]
    search_fields = ["label", "name"]
    list_select_related = ["form"]


class TaskFieldValueInline(admin.TabularInline):
    model = TaskFieldValue
    extra = 0
    fields = readonly_fields = ["field", "value"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Tasks change through their services only (panel, API): read-only here."""

    inlines = [TaskFieldValueInline]
    list_display = ["number", "title", "ticket", "department", "assignee", "state", "due_at"]
    list_filter = ["state", "department", "is_overdue", "team"]
    search_fields = ["number", "title", "ticket__number"]
    list_select_related = ["ticket", "department", "assignee"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CustomFormForm(forms.ModelForm):
    class Meta:
        model = CustomForm
        fields = ["name", "scope", "topics", "is_active", "sort"]

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if scope and scope != CustomForm.Scope.TICKET and cleaned.get("topics"):
            self.add_error(
                "topics", _("Only ticket forms are asked by help topic; clear the topics.")
            )
        if self.instance.pk and scope and scope != self.instance.scope and self._has_values():
            self.add_error(
                "scope", _("Its fields already hold values; make a new form for the other kind.")
            )
        return cleaned

    def _has_values(self) -> bool:
        fields = CustomField.objects.filter(form=self.instance)
        return any(
            fields.filter(**{f"{relation}__isnull": False}).exists()
            for relation in ("values", "task_values", "user_values", "organization_values")
        )


@admin.register(CustomForm)
class CustomFormAdmin(admin.ModelAdmin):
    """Extra fields for one kind of record (the form's scope): tickets by help topic,
    asked in the portal, the panel and the API; every task (osTicket's Task Details);
    users (Contact Information: the people pages, the portal profile, the API, the CSV
    import) or organizations (Organization Information)."""

    form = CustomFormForm
    list_display = ["name", "scope", "is_active", "sort"]
    list_filter = ["scope", "is_active", "topics"]
    search_fields = ["name", "fields__label", "fields__name"]
    filter_horizontal = ["topics"]
    inlines = [CustomFieldInline]
