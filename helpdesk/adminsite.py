"""The Django admin as a product: sections grouped by task, one settings page.

`HelpdeskAdminSite` is the project's admin site (`HelpdeskAdminConfig` in
INSTALLED_APPS makes it `admin.site`, so every `@admin.register` lands here):
- the index and the side bar list the models by task (GROUPS), not by Python app;
  a model not named there is listed under "System", so nothing is ever hidden;
- the one-row settings models (SETTINGS) are one "Helpdesk settings" page
  (`settings_view`), each model's form a section of it, saved together in one
  transaction through each model's own ModelAdmin (its `save_model` and log);
- every page links to the staff panel ("Staff panel" in the user links);
- every ModelAdmin registered gets the audit log's one hook (`AuditedAdmin`, by
  `register`), and every change page a link to the object's history in the panel's
  audit log (templates/admin/change_form.html).
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.apps import AdminConfig
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

# (group, model labels in the order shown)
GROUPS: list[tuple[Any, list[str]]] = [
    (
        _("Tickets and routing"),
        [
            "routing.Department",
            "routing.HelpTopic",
            "routing.SLA",
            "routing.Schedule",
            "routing.Team",
            "routing.TicketFilter",
            "routing.BannedEmail",
            "tickets.TicketStatus",
            "tickets.Priority",
            "tickets.CustomForm",
            "tickets.CustomField",
            "tickets.Ticket",
            "tickets.Task",
        ],
    ),
    (
        _("People"),
        [
            "accounts.Agent",
            "accounts.Client",
            "accounts.Organization",
            "accounts.Role",
            "helpdesk_portal.Invitation",
            "helpdesk_panel.AgentPreferences",
            "helpdesk_panel.TotpDevice",
            "accounts.User",
            "auth.Group",
        ],
    ),
    (
        _("Email"),
        [
            "helpdesk_mail.Mailbox",
            "helpdesk_mail.EmailTemplate",
            "helpdesk_mail.EmailTemplateSet",
            "helpdesk_mail.DepartmentMailSettings",
            "helpdesk_mail.InboundMessage",
            "helpdesk_mail.OutboundMessage",
            "helpdesk_mail.UndeliverableAddress",
        ],
    ),
    (
        _("Knowledge base"),
        ["helpdesk_kb.FaqCategory", "helpdesk_kb.Faq", "helpdesk_kb.CannedResponse"],
    ),
    (
        _("Integrations"),
        [
            "helpdesk_webhooks.Subscription",
            "helpdesk_webhooks.Delivery",
            "accounts.ApiKey",
            "accounts.AgentToken",
            "helpdesk_importers.ImportedObject",
        ],
    ),
    (
        _("System"),
        [
            "helpdesk_panel.SavedQueue",
            "helpdesk_portal.AccessLink",
            "helpdesk_outbox.OutboxTask",
            "threads.ThreadEntry",
            "threads.ThreadEvent",
            "threads.Collaborator",
            "threads.Referral",
            "threads.Draft",
            "threads.Lock",
            "threads.StoredFile",
            "helpdesk_ops.JobRun",
            "accounts.AuditEntry",
        ],
    ),
]
OTHERS = _("System")  # the group of any model not named above

# the one-row settings models, in the order of the settings page
SETTINGS = [
    "tickets.HelpdeskSettings",
    "helpdesk_mail.MailSettings",
    "helpdesk_panel.PanelSettings",
    "helpdesk_portal.PortalSettings",
    "helpdesk_ops.RetentionSettings",
]


class HelpdeskAdminSite(admin.AdminSite):
    site_header = _("Helpdesk administration")
    site_title = _("Helpdesk admin")
    index_title = _("Configuration")

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Django's register, every ModelAdmin with the audit hook mixed in first, and
        the translations editor (helpdesk.translations_admin) in the admin of every model
        with translatable content (helpdesk.translations.TRANSLATABLE): the domain apps'
        admins get it without importing the ring."""
        from accounts.admin_services import AuditedAdmin  # (models load after this module)
        from helpdesk.translations import TRANSLATABLE
        from helpdesk.translations_admin import TranslationsAdminMixin

        admin_class = admin_class or admin.ModelAdmin
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        translatable = any(m._meta.label_lower in TRANSLATABLE for m in models)
        if translatable and not issubclass(admin_class, TranslationsAdminMixin):
            admin_class = type(
                admin_class.__name__,
                (TranslationsAdminMixin, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        if not issubclass(admin_class, AuditedAdmin):
            admin_class = type(
                admin_class.__name__,
                (AuditedAdmin, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        if app_label is not None:  # an app's own page (/admin/<app>/) stays as Django's
            return super().get_app_list(request, app_label)
        found = {
            m["model"]._meta.label: m
            for app in super().get_app_list(request)
            for m in app["models"]
            if m["model"]._meta.label not in SETTINGS
        }
        groups = []
        for name, labels in GROUPS:
            rows = [found.pop(label) for label in labels if label in found]
            groups.append((name, rows))
        if found:  # registered but not placed: never hidden
            system = next(rows for name, rows in groups if name == OTHERS)
            system += sorted(found.values(), key=lambda m: str(m["name"]))
        if self._settings_admins(request):
            system = next(rows for name, rows in groups if name == OTHERS)
            system.insert(0, self._settings_entry())
        return [self._group(name, rows) for name, rows in groups if rows]

    def _group(self, name: Any, rows: list[dict]) -> dict:
        slug = slugify(str(name))
        return {
            "name": name,
            "app_label": slug,
            "app_url": f"{reverse('admin:index', current_app=self.name)}#{slug}",
            "has_module_perms": True,
            "models": rows,
        }

    def _settings_entry(self) -> dict:
        return {
            "name": _("Helpdesk settings"),
            "object_name": "HelpdeskSettingsPage",
            "perms": {"add": False, "change": True, "delete": False, "view": True},
            "admin_url": reverse("admin:helpdesk_settings", current_app=self.name),
            "add_url": None,
            "view_only": False,
            "model": None,
        }

    def _settings_admins(self, request: HttpRequest) -> list[tuple[Any, admin.ModelAdmin]]:
        """(model, its ModelAdmin) of each settings model the user may change."""
        out = []
        by_label = {m._meta.label: (m, a) for m, a in self._registry.items()}
        for label in SETTINGS:
            if label in by_label:
                model, model_admin = by_label[label]
                if model_admin.has_change_permission(request):
                    out.append((model, model_admin))
        return out

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [
            path("settings/", self.admin_view(self.settings_view), name="helpdesk_settings"),
            *super().get_urls(),
        ]

    def settings_view(self, request: HttpRequest) -> HttpResponse:
        """Every one-row settings model on one page, each in its section (its ModelAdmin's
        form and fieldsets); saved together, or nothing is when one section is wrong."""
        sections = []
        for model, model_admin in self._settings_admins(request):
            obj = model.load()
            prefix = model._meta.model_name
            form_class = model_admin.get_form(request, obj, change=True)
            data = request.POST if request.method == "POST" else None
            form = form_class(data, instance=obj, prefix=prefix)
            fieldsets = model_admin.get_fieldsets(request, obj)
            adminform = helpers.AdminForm(
                form,
                list(fieldsets),
                {},
                model_admin.get_readonly_fields(request, obj),
                model_admin=model_admin,
            )
            sections.append((model, model_admin, obj, form, adminform))
        if not sections:
            return redirect("admin:index")
        if request.method == "POST" and all(s[3].is_valid() for s in sections):
            with transaction.atomic():
                for _model, model_admin, _obj, form, _adminform in sections:
                    if form.has_changed():
                        saved = form.save(commit=False)
                        model_admin.save_model(request, saved, form, change=True)
                        message = model_admin.construct_change_message(request, form, None)
                        model_admin.log_change(request, saved, message)
            messages.success(request, _("The helpdesk settings were saved."))
            return redirect("admin:helpdesk_settings")
        context = {
            **self.each_context(request),
            "title": _("Helpdesk settings"),
            "sections": [
                {
                    "anchor": model._meta.model_name,
                    "title": model._meta.verbose_name.capitalize(),
                    "adminform": adminform,
                    "errors": form.non_field_errors(),
                }
                for model, _a, _o, form, adminform in sections
            ],
            "has_errors": any(s[3].errors for s in sections),
        }
        return TemplateResponse(request, "admin/helpdesk_settings.html", context)


class HelpdeskAdminConfig(AdminConfig):
    default_site = "helpdesk.adminsite.HelpdeskAdminSite"
