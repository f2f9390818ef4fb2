"""accounts.audit.record: who, what, from where, masked, and never changed."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.actors import SYSTEM
from accounts.models import AuditEntry
from routing.models import Department
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_an_entry_names_actor_target_address_and_masks_secrets():
    agent = AgentFactory()
    dept = Department.objects.create(name="Billing")
    with audit.from_address("203.0.113.9"):
        entry = audit.record(
            "department.updated",
            actor=agent,
            target=dept,
            changes={"name": ["Bills", "Billing"], "smtp_password": ["old", "new"]},
        )
    entry.refresh_from_db()
    assert entry.actor_kind == "agent" and entry.actor_user == agent
    assert entry.ip == "203.0.113.9"
    assert entry.target_repr == "Billing" and entry.target_id == str(dept.pk)
    assert entry.changes == {"name": ["Bills", "Billing"], "smtp_password": ["***", "***"]}
    assert list(audit.for_object(dept)) == [entry]


def test_a_command_is_named_and_diff_keeps_only_changes():
    dept = Department.objects.create(name="Sales")
    before = audit.snapshot(dept)
    dept.name = "Sales EU"
    after = audit.snapshot(dept)
    with audit.acting_as_command("import_osticket"):
        entry = audit.record("department.updated", actor=SYSTEM, changes=audit.diff(before, after))
    assert entry.actor_kind == "command" and entry.actor_label == "command import_osticket"
    assert entry.changes == {"name": ["Sales", "Sales EU"]}


def test_entries_cannot_be_changed_or_deleted_only_purged():
    entry = audit.record("settings.updated", actor=SYSTEM, target_label="Helpdesk settings")
    entry.detail = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(detail="x")
    with pytest.raises(PermissionError), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).detail == ""
    assert audit.purge_before(timezone.now() + dt.timedelta(seconds=1)) == 1
    assert not AuditEntry.objects.exists()


def test_the_middleware_gives_the_callers_address(client):
    from django.test import RequestFactory

    seen = []

    def view(request):
        seen.append(audit.record("signin.failed", actor=AnonymousUser(), target_label="bob").ip)
        from django.http import HttpResponse

        return HttpResponse("ok")

    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
    audit.AuditContextMiddleware(view)(request)
    assert seen == ["198.51.100.7"]
    assert AuditEntry.objects.get().actor_kind == "anonymous"
