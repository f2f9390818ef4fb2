"""Running the importer from the tests."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command
from django.db import transaction

from accounts.models import ApiKey, DepartmentAccess, Organization, Role, User, UserEmail
from helpdesk.importers.models import ImportedObject
from helpdesk.importers.osticket.base import KINDS, Options, Progress, Report
from helpdesk.importers.osticket.run import run
from helpdesk.importers.osticket.source import Source, parse_source
from helpdesk.kb.models import CannedResponse, Faq, FaqCategory
from helpdesk.mail.models import Mailbox
from routing.models import (
    SLA,
    BannedEmail,
    Department,
    FilterAction,
    FilterRule,
    HelpTopic,
    Schedule,
    Team,
    TicketFilter,
)
from threads.models import Attachment, Collaborator, StoredFile, ThreadEntry, ThreadEvent
from tickets.models import Task, Ticket, TicketFieldValue, TicketLink, TicketStatus

from .factories import OsTicket


def import_osticket(db: OsTicket, **options: Any) -> Report:
    """The import, in this process, returning its report."""
    options.setdefault("only", frozenset(KINDS))
    source = Source(parse_source(db.url), db.prefix)
    with source:
        return run(source, Options(**options), Progress(io.StringIO(), interactive=False))


def command(db: OsTicket, *args: str) -> str:
    """`manage.py import_osticket --source ... ARGS`, its output."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import_osticket", "--source", db.url, *args, stdout=out, stderr=err)
    return out.getvalue()


def counts() -> dict[str, int]:
    """Rows of everything an import writes."""
    models = (
        Department,
        Team,
        HelpTopic,
        SLA,
        Schedule,
        TicketStatus,
        Role,
        User,
        UserEmail,
        Organization,
        DepartmentAccess,
        Ticket,
        TicketFieldValue,
        ThreadEntry,
        ThreadEvent,
        Attachment,
        StoredFile,
        Collaborator,
        TicketFilter,
        FilterRule,
        FilterAction,
        BannedEmail,
        CannedResponse,
        Mailbox,
        ApiKey,
        FaqCategory,
        Faq,
        Task,
        TicketLink,
        ImportedObject,
    )
    return {m.__name__: m.objects.count() for m in models}


def more_tickets(db, n=9):
    for i in range(n):
        user = db.user(f"User {i}", f"user{i}@example.com")
        _, thread = db.ticket(user, f"Ticket {i}", number=f"7000{i}")
        db.entries(thread, 3, user_id=user)


def whole_import(db, **options: Any) -> dict[str, int]:
    """The counts of one uninterrupted import, rolled back."""
    with transaction.atomic():
        import_osticket(db, **options)
        whole = counts()
        transaction.set_rollback(True)
    assert not Ticket.objects.exists()
    return whole
