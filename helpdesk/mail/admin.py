from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin_services import SingletonAdmin
from accounts.languages import codes, name_of

from . import sandbox
from .models import (
    DepartmentMailSettings,
    EmailTemplate,
    EmailTemplateSet,
    InboundMessage,
    Mailbox,
    MailSettings,
    OutboundMessage,
    UndeliverableAddress,
)
from .templates import DEFAULTS, default_html, default_texts, preview


class MailboxForm(forms.ModelForm):
    """The password is write-only (accounts.crypto.EncryptedTextField): never rendered
    back, an empty input keeps the current one, and it is stored encrypted."""

    class Meta:
        model = Mailbox
        fields = (
            "name",
            "address",
            "department",
            "topic",
            "priority",
            "protocol",
            "host",
            "port",
            "security",
            "username",
            "password",
            "folder",
            "archive_folder",
            "after_import",
            "max_per_fetch",
            "fetch_interval_minutes",
            "no_autoresponse",
            "is_active",
        )


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = (
        "name",
        "address",
        "protocol",
        "host",
        "department",
        "is_active",
        "last_fetch_at",
        "error_count",
    )
    list_filter = ("is_active", "protocol")
    search_fields = ("name", "address", "host")
    readonly_fields = (
        "password_hint",
        "last_fetch_at",
        "last_error",
        "last_error_at",
        "error_count",
    )
    actions = ["fetch_now"]

    @admin.display(description="password")
    def password_hint(self, obj):
        return obj.password_hint

    @admin.action(description="Fetch now")
    def fetch_now(self, request, queryset):
        """Queued through the outbox: the mail server is not talked to in this request.
        The result shows on the mailbox (last fetch, last error) once it ran."""
        from accounts.errors import DomainError

        from .services import mailboxes_queue_fetch

        try:
            count = mailboxes_queue_fetch(
                actor=request.user, mailbox_ids=list(queryset.values_list("pk", flat=True))
            )
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"Fetch queued for {count} mailbox(es).")


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = (
        "received_at",
        "status",
        "source",
        "sender",
        "sender_verified",
        "subject",
        "ticket",
        "reason",
    )
    list_filter = ("status", "source", "mailbox", "is_auto", "sender_verified")
    search_fields = ("message_id", "sender", "subject", "sha256")
    exclude = ("raw",)
    readonly_fields = [f.name for f in InboundMessage._meta.fields if f.name != "raw"] + [
        "raw_link"
    ]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.raw_view)
        return [path("<int:pk>/raw/", view, name="helpdesk_mail_inbound_raw"), *super().get_urls()]

    def raw_view(self, request, pk):
        raw = InboundMessage.objects.values_list("raw", flat=True).get(pk=pk)
        response = HttpResponse(bytes(raw), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="inbound-{pk}.eml"'
        return response

    @admin.display(description="raw message")
    def raw_link(self, obj):
        url = reverse("admin:helpdesk_mail_inbound_raw", args=[obj.pk])
        return format_html('<a href="{}">download ({} bytes)</a>', url, obj.size)

    @admin.action(description="Process parked messages again")
    def reprocess(self, request, queryset):
        from .reprocess import reprocess

        done = [reprocess(m) for m in queryset.filter(status=InboundMessage.Status.PARKED)]
        self.message_user(request, f"Processed again: {', '.join(r.status for r in done) or '-'}")


@admin.register(UndeliverableAddress)
class UndeliverableAddressAdmin(admin.ModelAdmin):
    """Addresses that bounced for good: nothing is mailed to them until cleared."""

    list_display = ("address", "reason", "marked_at")
    search_fields = ("address",)
    readonly_fields = ("address", "reason", "marked_at")
    actions = ["clear"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # through the action, which goes through the service

    @admin.action(description="Mail these addresses again")
    def clear(self, request, queryset):
        from .services import address_clear_undeliverable

        done = [
            a
            for a in queryset
            if address_clear_undeliverable(actor=request.user, address=a.address)
        ]
        self.message_user(request, f"Mail goes to {len(done)} address(es) again.")


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "template",
        "recipient",
        "subject",
        "status",
        "attempts",
        "ticket",
        "task",
    )
    list_filter = ("status", "template")
    search_fields = ("recipient", "subject", "message_id")
    readonly_fields = [f.name for f in OutboundMessage._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Send failed mail again")
    def send_again(self, request, queryset):
        from .outbound import outbound_resend

        ids = list(queryset.values_list("pk", flat=True))
        count = outbound_resend(actor=request.user, ids=ids)
        self.message_user(request, f"{count} queued again.")


def language_choices() -> list[tuple[str, str]]:
    return [("", _("Any language")), *((c, f"{name_of(c)} ({c})") for c in codes())]


class EmailTemplateForm(forms.ModelForm):
    """The subject and the HTML part; the plain-text part is derived from the HTML.
    A template in a language is mailed to recipients in that language (any language:
    to the others)."""

    language = forms.TypedChoiceField(
        label=_("language"), choices=language_choices, required=False, empty_value=""
    )

    class Meta:
        model = EmailTemplate
        fields = ("template_set", "code", "language", "subject", "body_html")
        widgets = {
            "subject": forms.TextInput(attrs={"size": 80}),
            "body_html": forms.Textarea(attrs={"rows": 18, "cols": 90}),
        }


@dataclass(frozen=True)
class PreviewSource:
    code: str
    subject: str
    body_html: str
    edited: bool  # posted from the change form, not the saved row


def _field_label(name: str) -> str:
    """`subject` -> "Subject": the form's label, as the save's errors name it."""
    field = EmailTemplateForm.base_fields.get(name)
    return str(field.label) if field is not None and field.label else name


def _variables(code: str | None) -> list[str]:
    """The documented variables of template `code`, as they are written."""
    names = []
    for name, keys in sandbox.variables_for(code).items():
        names += [f"{name}.{k}" for k in sorted(keys)] if keys else [name]
    return names


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    form = EmailTemplateForm
    change_form_template = "admin/helpdesk_mail/emailtemplate/change_form.html"
    list_display = ("__str__", "code", "language", "template_set", "subject", "updated_at")
    list_filter = ("template_set", "language")
    list_select_related = ("template_set",)
    search_fields = ("code", "subject")
    readonly_fields = ("body_text",)
    actions = ["reset_to_default"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("template_set", EmailTemplateSet.objects.filter(is_default=True).first())
        code = request.GET.get("code", "")
        language = request.GET.get("language", "")
        language = language if language in codes() else ""
        if code in DEFAULTS:
            with translation.override(language or settings.LANGUAGE_CODE):
                subject, text = default_texts(code)
            initial.update(
                code=code, language=language, subject=subject, body_html=default_html(text)
            )
        return initial

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = self.get_object(request, object_id) if object_id else None
        code = obj.code if obj else request.GET.get("code") or None
        extra = {
            "template_variables": _variables(code),
            "task_variables": None if code else _variables("task.alert"),
            "preview_url": (
                reverse("admin:helpdesk_mail_emailtemplate_preview", args=[obj.pk]) if obj else ""
            ),
            # the form's current subject and body, posted as they are (saved or not)
            "preview_edits_url": (
                reverse("admin:helpdesk_mail_emailtemplate_preview", args=[obj.pk])
                if obj
                else reverse("admin:helpdesk_mail_emailtemplate_preview_new")
            ),
            **(extra_context or {}),
        }
        return super().changeform_view(request, object_id, form_url, extra)

    def get_urls(self):
        view = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", view, name="helpdesk_mail_emailtemplate_preview_new"),
            path("<int:pk>/preview/", view, name="helpdesk_mail_emailtemplate_preview"),
            *super().get_urls(),
        ]

    def _preview_source(self, request, pk) -> tuple[EmailTemplate | None, PreviewSource]:
        """The row (None: a template being added) and what to render: on GET the saved
        row, on POST the change form's current subject, body and code (not saved)."""
        row = None
        if pk is not None:
            row = self.get_object(request, str(pk))
            if row is None or not self.has_view_permission(request, row):
                raise Http404
        if request.method != "POST":
            if row is None:
                raise Http404
            return row, PreviewSource(row.code, row.subject, row.body_html, edited=False)
        allowed = (
            self.has_change_permission(request, row) if row else self.has_add_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        code = request.POST.get("code", "")
        if code not in DEFAULTS:
            code = row.code if row else ""
        subject = request.POST.get("subject", "")
        return row, PreviewSource(code, subject, request.POST.get("body_html", ""), edited=True)

    def preview_view(self, request, pk=None):
        """The template rendered as it would be mailed: with the ticket whose number is
        given (one the admin may see), else with the sample ticket. GET: the saved row;
        POST (from the change form): the edits in the form now, checked as on save,
        each problem with its line and the name at fault."""
        from accounts.errors import DomainError
        from tickets.selectors import ticket_get_for, tickets_visible_to

        from .preview import context_for
        from .templates import template_errors

        row, source = self._preview_source(request, pk)
        data = request.POST if request.method == "POST" else request.GET
        number = data.get("ticket", "").strip()[:32]
        ticket, problems, rendered = None, [], None
        if number:
            try:
                ticket = ticket_get_for(user=request.user, number=number)
            except DomainError:
                problems.append(_("No ticket %(number)s that you may see.") % {"number": number})
        refused = []  # what the save would refuse in the edits: nothing is rendered
        if not source.code:
            refused.append(str(_("Choose the template (its code) to preview.")))
        elif source.edited:
            errors = template_errors(source.subject, None, source.body_html, code=source.code)
            refused += [f"{_field_label(name)}: {text}" for name, text in errors.items()]
        problems += refused
        if not refused:
            try:
                context = context_for(source.code, ticket)
                rendered = preview(source.subject, source.body_html, context)
            except Exception as exc:  # shown to the admin, as the mail would fail
                problems.append(f"{type(exc).__name__}: {exc}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": row,
            "title": _("Preview of %(template)s") % {"template": row or source.code},
            "chosen_ticket": ticket,
            "number": number,
            "problem": " ".join(str(p) for p in problems),
            "problems": problems,
            "source": source,
            "rendered": rendered,
            "recent": tickets_visible_to(user=request.user)
            .order_by("-id")
            .values_list("number", "subject")[:10],
        }
        return TemplateResponse(request, "admin/helpdesk_mail/emailtemplate/preview.html", context)

    @admin.action(description=_("Reset to the default text (in the template's language)"))
    def reset_to_default(self, request, queryset):
        for row in queryset:
            with translation.override(row.language or settings.LANGUAGE_CODE):
                subject, text = default_texts(row.code)
            row.subject, row.body_html = subject, default_html(text)
            row.save()


class EmailTemplateInline(admin.TabularInline):
    model = EmailTemplate
    fields = ("code", "language", "subject", "updated_at")
    readonly_fields = ("code", "language", "subject", "updated_at")
    show_change_link = True
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # a template is added on its own form, checked there


@admin.register(EmailTemplateSet)
class EmailTemplateSetAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default", "template_count")
    inlines = [EmailTemplateInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(template_count=Count("templates"))

    def has_delete_permission(self, request, obj=None):
        """The default set is the fallback of every other: never deleted."""
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        queryset.exclude(is_default=True).delete()  # the bulk action: the same rule

    @admin.display(description=_("templates"), ordering="template_count")
    def template_count(self, obj):
        return obj.template_count


@admin.register(DepartmentMailSettings)
class DepartmentMailSettingsAdmin(admin.ModelAdmin):
    list_display = ("department", "autoresp_new_ticket", "new_ticket_alert", "overdue_alert")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "department",
                    "template_set",
                    "autoresp_new_ticket",
                    "autoresp_new_message",
                )
            },
        ),
        (
            "New ticket alert",
            {
                "fields": (
                    "new_ticket_alert",
                    "new_ticket_admins",
                    "new_ticket_manager",
                    "new_ticket_members",
                )
            },
        ),
        (
            "New message alert",
            {
                "fields": (
                    "new_message_alert",
                    "new_message_last_respondent",
                    "new_message_assigned",
                    "new_message_manager",
                )
            },
        ),
        (
            "Internal note alert",
            {"fields": ("note_alert", "note_last_respondent", "note_assigned", "note_manager")},
        ),
        (
            "Assignment alert",
            {
                "fields": (
                    "assigned_alert",
                    "assigned_agent",
                    "assigned_team_lead",
                    "assigned_team_members",
                )
            },
        ),
        (
            "Transfer alert",
            {
                "fields": (
                    "transfer_alert",
                    "transfer_assigned",
                    "transfer_manager",
                    "transfer_members",
                )
            },
        ),
        (
            "Overdue alert",
            {"fields": ("overdue_alert", "overdue_assigned", "overdue_manager", "overdue_members")},
        ),
        # tasks: agents only (osTicket's parallel set)
        (
            "New task alert",
            {
                "fields": (
                    "task_alert",
                    "task_alert_admins",
                    "task_alert_manager",
                    "task_alert_members",
                )
            },
        ),
        (
            "New task activity alert",
            {
                "fields": (
                    "task_activity_alert",
                    "task_activity_last_respondent",
                    "task_activity_assigned",
                    "task_activity_manager",
                )
            },
        ),
        (
            "Task assignment alert",
            {
                "fields": (
                    "task_assignment_alert",
                    "task_assignment_agent",
                    "task_assignment_team_lead",
                    "task_assignment_team_members",
                )
            },
        ),
        (
            "Task transfer alert",
            {
                "fields": (
                    "task_transfer_alert",
                    "task_transfer_assigned",
                    "task_transfer_manager",
                    "task_transfer_members",
                )
            },
        ),
        (
            "Overdue task alert",
            {
                "fields": (
                    "task_overdue_alert",
                    "task_overdue_assigned",
                    "task_overdue_manager",
                    "task_overdue_members",
                )
            },
        ),
    )


@admin.register(MailSettings)
class MailSettingsAdmin(SingletonAdmin):
    """One row, a section of the admin's "Helpdesk settings" page."""
