import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count

from accounts.models import Organization, Role, User
from helpdesk.kb.models import CannedResponse, Faq
from routing.models import SLA, Department, HelpTopic, Team, TicketFilter
from threads.models import Attachment, ThreadEntry
from tickets.models import Ticket


def _counts():
    return {
        "departments": Department.objects.count(),
        "teams": Team.objects.count(),
        "topics": HelpTopic.objects.count(),
        "slas": SLA.objects.count(),
        "roles": Role.objects.count(),
        "agents": User.objects.filter(is_agent=True).count(),
        "organizations": Organization.objects.count(),
        "clients": User.objects.filter(is_agent=False).count(),
        "tickets": Ticket.objects.count(),
        "entries": ThreadEntry.objects.count(),
        "attachments": Attachment.objects.count(),
        "filters": TicketFilter.objects.count(),
        "faqs": Faq.objects.count(),
        "canned": CannedResponse.objects.count(),
    }


def test_seed_demo_creates_the_promised_data_once(db, capsys):
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    assert first["departments"] == 3 and first["teams"] == 2 and first["slas"] == 2
    assert first["agents"] == 5 and first["organizations"] == 2 and first["clients"] == 10
    assert first["tickets"] == 60 and first["attachments"] == 1 and first["roles"] == 4
    assert first["entries"] > 60
    assert (first["filters"], first["faqs"], first["canned"]) == (1, 4, 1)
    assert SLA.objects.filter(escalate_priority__isnull=False, escalate_team__isnull=False).exists()
    assert HelpTopic.objects.filter(parent__isnull=False).exists()  # nested topics
    assert all(sla.schedule.hours.exists() for sla in SLA.objects.all())  # business hours
    per_status = dict(Ticket.objects.values_list("status__name").annotate(n=Count("id")))
    assert set(per_status) == {"Open", "Resolved", "Closed", "Archived", "Deleted"}
    assert "admin" in capsys.readouterr().out


def test_the_demo_logins_work(db):
    call_command("seed_demo")
    admin = authenticate(username="admin", password="admin")
    assert admin.is_superuser and admin.is_helpdesk_admin
    agent = authenticate(username="agent", password="agent")
    assert agent.is_agent and agent.department.name == "Support"
    manager = authenticate(username="manager", password="manager")
    assert Department.objects.get(name="Support").manager == manager
    alice = authenticate(username="alice@example.com", password="alice")
    bob = authenticate(username="bob@example.com", password="bob")
    assert not alice.is_agent and alice.organization != bob.organization
    assert Ticket.objects.filter(requester=alice).exists()


def test_an_interrupted_seed_is_completed_on_the_next_run(db, monkeypatch):
    from helpdesk.management.commands import seed_demo

    real_open = seed_demo.services.ticket_open
    opened = {"n": 0}

    def failing_open(**kwargs):
        opened["n"] += 1
        if opened["n"] > 20:
            raise KeyboardInterrupt  # the operator pressed Ctrl-C
        return real_open(**kwargs)

    monkeypatch.setattr(seed_demo.services, "ticket_open", failing_open)
    with pytest.raises(KeyboardInterrupt):
        call_command("seed_demo")
    assert Ticket.objects.count() == 20
    monkeypatch.setattr(seed_demo.services, "ticket_open", real_open)
    call_command("seed_demo")
    assert Ticket.objects.count() == 60
    assert len(set(Ticket.objects.values_list("number", flat=True))) == 60
