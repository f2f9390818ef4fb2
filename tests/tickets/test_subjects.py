"""A ticket's subject is cleaned by one rule (tickets.services._common.clean_subject),
whether the ticket is opened or edited."""

import pytest

from accounts.errors import ValidationFailed
from threads.models import ThreadEvent
from tickets import services
from tickets.models import Ticket
from tickets.services._common import clean_subject

from ..factories import open_ticket

pytestmark = pytest.mark.django_db

LONG = "word " * 80  # 400 characters


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("  VPN \t down\n now ", "VPN down now"),
        (LONG, ("word " * 51)[:255].rstrip()),
        ("x" * 300, "x" * 255),
    ],
)
def test_opening_and_editing_store_the_same_subject(cast, given, stored):
    opened = open_ticket(cast.alice, department=cast.dept_a, subject=given)
    other = open_ticket(cast.alice, department=cast.dept_a, subject="Before")

    edited = services.ticket_edit(actor=cast.agent_a, ticket=other, subject=given)

    assert Ticket.objects.get(pk=opened.pk).subject == stored == clean_subject(given)
    assert Ticket.objects.get(pk=edited.pk).subject == stored
    assert len(stored) <= 255 and not stored.endswith(" ")


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", None])
def test_a_blank_subject_is_refused_the_same_way_on_both_paths(cast, blank, nothing_written):
    ticket = open_ticket(cast.alice, department=cast.dept_a, subject="Printer on fire")
    version, tickets = ticket.version, Ticket.objects.count()

    with nothing_written(), pytest.raises(ValidationFailed) as opening:
        open_ticket(cast.alice, department=cast.dept_a, subject=blank)
    with nothing_written(), pytest.raises(ValidationFailed) as editing:
        services.ticket_edit(actor=cast.agent_a, ticket=ticket, subject=blank)

    for refused in (opening.value, editing.value):
        assert refused.code == "subject_required"
        assert refused.fields == {"subject": ["This field is required."]}
    assert Ticket.objects.count() == tickets
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.subject, fresh.version) == ("Printer on fire", version)
    assert not ticket.thread.events.filter(kind=ThreadEvent.Kind.EDITED).exists()
