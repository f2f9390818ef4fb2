import pytest

from accounts.models import User
from tickets.models import Ticket

from .helpers import command

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db]


def test_a_ticket_comes_over_with_its_number(osticket):
    agent = osticket.staff("alex", "alex@example.com")
    user = osticket.user("Jane Doe", "jane@example.com", "jane@home.example")
    ticket, thread = osticket.ticket(user, "Printer on fire", number="482913", staff_id=agent)
    osticket.entry(thread, "<p>Help</p>", user_id=user, mid="<abc@mail.example>")

    out = command(osticket)

    print(out)
    imported = Ticket.objects.get(number="482913")
    assert imported.subject == "Printer on fire"
    assert imported.requester.email == "jane@example.com"
    assert imported.assignee == User.objects.get(email="alex@example.com")
