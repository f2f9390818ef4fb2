"""The Django admin writes through the services, as every other channel does.

A ModelAdmin with `ThroughServices` saves and deletes with the owning app's operations
(the ones the API calls: `routing.services.department_save`, ...), never with
`obj.save()`: the admin's form validates the input, the service decides and writes
(the same permission check, the model's rules, one transaction, and the audit entry).
Inline rows are still saved by their formsets unless the admin routes them too
(OrganizationAdmin's domains).

`AuditedAdmin` is the audit log's one hook in the admin, in every ModelAdmin (the admin
site mixes it in at registration): it writes the entry of what the admin saves or
deletes without a service, and of inline rows, and leaves a service's entry alone.

It lives in `accounts` because that is the innermost app, importable by every other one.
"""

from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from . import audit
from .actors import SYSTEM, Actor, is_agent
from .configuration import DeleteService, SaveService, record_deleted, record_saved
from .errors import DomainError

_REFUSED = "_helpdesk_admin_refused"

_M = TypeVar("_M", bound=models.Model)


def admin_actor(request: HttpRequest) -> Actor:
    """Django admin users are helpdesk admins: they act as themselves when they are
    agents, else (a bare superuser) as the system."""
    user = request.user
    return user if is_agent(user) else SYSTEM


def form_changes(
    form: forms.ModelForm[Any],
) -> tuple[dict[str, object], dict[str, Iterable[object]]]:
    """(fields, many-to-many) of an admin form: the model fields it changed, and every
    many-to-many field it carries (the service sets them as the form would)."""
    opts = form._meta.model._meta
    concrete = {f.name for f in opts.concrete_fields}
    data = {n: form.cleaned_data[n] for n in form.changed_data if n in concrete}
    m2m = {
        f.name: form.cleaned_data[f.name] for f in opts.many_to_many if f.name in form.cleaned_data
    }
    return data, m2m


def refused(request: HttpRequest, model_admin: admin.ModelAdmin[Any], exc: DomainError) -> None:
    """Show the service's refusal; the admin then neither logs nor saves related rows,
    and answers with the form's page again (ThroughServices.response_*)."""
    setattr(request, _REFUSED, True)
    model_admin.message_user(request, f"Not saved: {exc.message}", messages.ERROR)


def was_refused(request: HttpRequest) -> bool:
    return bool(getattr(request, _REFUSED, False))


class ThroughServices(admin.ModelAdmin[_M]):
    """ModelAdmin base, listed first (`class XAdmin(ThroughServices[X], admin.ModelAdmin[X])`
    or before another ModelAdmin such as auth's UserAdmin). `save_service(actor=,
    instance=, data=, m2m=)` and `delete_service(actor=, instance=)` are the owning app's
    operations (staticmethods); an admin may instead override `save_model` and call
    `refused()` on a DomainError. Without a `delete_service`, deleting is Django's own
    (no channel but the admin deletes those rows)."""

    save_service: SaveService[_M] | None = None
    delete_service: DeleteService[_M] | None = None

    def save_model(self, request: HttpRequest, obj: _M, form: Any, change: Any) -> None:
        if self.save_service is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__}: set save_service, or override save_model."
            )
        data, m2m = form_changes(form)
        try:
            self.save_service(actor=admin_actor(request), instance=obj, data=data, m2m=m2m)
        except DomainError as exc:
            refused(request, self, exc)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: Any) -> None:
        """The service set the many-to-many fields with the row: only inlines remain."""
        if was_refused(request):
            return
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: _M) -> None:
        if self.delete_service is None:  # no such operation: Django's own delete
            return super().delete_model(request, obj)
        pk = obj.pk
        try:
            self.delete_service(actor=admin_actor(request), instance=obj)
        except DomainError as exc:
            refused(request, self, exc)
            return
        obj.pk = pk  # Django's delete() clears it; the log names the row that was
        # Django only iterates what it logs: the deleted row cannot be queried any more
        super().log_deletions(request, [obj])  # type: ignore[arg-type]

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[_M]) -> list[LogEntry]:
        """Django logs a deletion before it deletes; through a service that may refuse,
        delete_model logs each row once the service has deleted it."""
        if self.delete_service is None:
            return super().log_deletions(request, queryset)
        return []

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        if self.delete_service is None:
            return super().delete_queryset(request, queryset)
        for obj in queryset:
            self.delete_model(request, obj)

    # Django ignores what log_addition and log_change return (the stubs say LogEntry)
    def log_addition(  # type: ignore[override]
        self, request: HttpRequest, obj: _M, message: Any
    ) -> LogEntry | None:
        return None if was_refused(request) else super().log_addition(request, obj, message)

    def log_change(  # type: ignore[override]
        self, request: HttpRequest, obj: _M, message: Any
    ) -> LogEntry | None:
        return None if was_refused(request) else super().log_change(request, obj, message)

    def response_add(
        self, request: HttpRequest, obj: _M, post_url_continue: str | None = None
    ) -> HttpResponse:
        if was_refused(request):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: _M) -> HttpResponse:
        if was_refused(request):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: int) -> HttpResponse:
        if was_refused(request):
            return HttpResponseRedirect(request.path)
        return super().response_delete(request, obj_display, obj_id)


class SingletonAdmin(admin.ModelAdmin[_M]):
    """ModelAdmin base of a one-row settings model (accounts.singleton): nothing to add
    or delete, and its list is the one "Helpdesk settings" page (helpdesk.adminsite),
    where every settings row is edited together."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        anchor = self.opts.model_name
        return HttpResponseRedirect(f"{reverse('admin:helpdesk_settings')}#{anchor}")


_PENDING = "_helpdesk_audit_pending"


class AuditedAdmin(admin.ModelAdmin[_M]):
    """The audit log's one hook in the Django admin, mixed into every ModelAdmin by
    `helpdesk.adminsite.HelpdeskAdminSite.register` (no admin names it).

    A save or delete whose service wrote the entry (config_save, the account and key
    services) is left alone; for one the admin writes itself (roles, filters, templates,
    mailboxes, webhooks, the settings rows, a model without a delete service) the entry
    is written here, in the admin's transaction: the row as stored before, the fields
    after (many-to-many fields once `save_related` set them). Inline rows' changes are
    an "updated" entry of the parent, the rows before and after."""

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: _M | None = None,
    ) -> HttpResponse:
        """Every change page links to the object's history in the panel's audit log."""
        if (
            obj is not None
            and obj.pk is not None
            and not add
            and self.opts.label_lower != "accounts.auditentry"
        ):
            label, pk = audit.target_key(obj)
            context["audit_history_url"] = (
                f"{reverse('panel:audit')}?{urlencode({'type': label, 'id': pk})}"
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request: HttpRequest, obj: _M, form: Any, change: Any) -> None:
        before = audit.stored_snapshot(obj) if change else {}
        with transaction.atomic(), audit.watching() as seen:
            super().save_model(request, obj, form, change)
            if was_refused(request) or obj.pk is None or audit.target_key(obj) in seen:
                return
            if obj._meta.many_to_many and hasattr(form, "save_m2m"):
                # after save_related, once the admin set them
                pending = getattr(request, _PENDING, None)
                if pending is None:
                    pending = {}
                    setattr(request, _PENDING, pending)
                pending[audit.target_key(obj)] = (before, not change)
                return
            record_saved(admin_actor(request), obj, before, created=not change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: Any) -> None:
        super().save_related(request, form, formsets, change)
        pending = getattr(request, _PENDING, {}).pop(audit.target_key(form.instance), None)
        if pending is not None and not was_refused(request):
            before, created = pending
            record_saved(admin_actor(request), form.instance, before, created=created)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: Any) -> None:
        fk = getattr(formset, "fk", None)
        parent = form.instance
        if fk is None or parent.pk is None:
            return super().save_formset(request, form, formset, change)
        before = _inline_rows(formset, parent)
        with transaction.atomic(), audit.watching() as seen:
            super().save_formset(request, form, formset, change)
            after = _inline_rows(formset, parent)
            if was_refused(request) or before == after or audit.target_key(parent) in seen:
                return
            name = fk.remote_field.get_accessor_name() or formset.prefix
            changes = {name: [before, after]}
            audit.record(
                audit.action_for(parent, "updated", changes),
                actor=admin_actor(request),
                target=parent,
                changes=changes,
            )

    def delete_model(self, request: HttpRequest, obj: _M) -> None:
        pk, before = obj.pk, audit.full_snapshot(obj)
        with transaction.atomic(), audit.watching() as seen:
            super().delete_model(request, obj)
            obj.pk = pk
            if not was_refused(request) and audit.target_key(obj) not in seen:
                record_deleted(admin_actor(request), obj, pk, before)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        rows = [(obj, audit.full_snapshot(obj)) for obj in queryset]
        with transaction.atomic(), audit.watching() as seen:
            super().delete_queryset(request, queryset)
            pks = [obj.pk for obj, _before in rows]
            kept = set(self.model._base_manager.filter(pk__in=pks).values_list("pk", flat=True))
            for obj, before in rows:
                if obj.pk not in kept and audit.target_key(obj) not in seen:
                    record_deleted(admin_actor(request), obj, obj.pk, before)


def _inline_rows(formset: Any, parent: models.Model) -> list[dict[str, Any]]:
    """The parent's inline rows as stored, each a snapshot without the parent's key."""
    rows = formset.model._default_manager.filter(**{formset.fk.name: parent}).order_by("pk")
    return [{k: v for k, v in audit.snapshot(row).items() if k != formset.fk.name} for row in rows]
