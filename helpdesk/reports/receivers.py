"""Every ticket change marks the ticket for the report job (`reports_refresh` in
helpdesk/cron.py): one INSERT of its id, in the change's own transaction, so a rolled
back change marks nothing and a committed one is never missed. The slow work (reading
the ticket's history, summing the days) is the job's."""

from django.db import connection

from accounts import bus
from tickets import signals

from .models import DirtyTicket


def mark_tickets(ids) -> None:
    """One statement whatever the number of ids. On PostgreSQL the ids go as one array
    (the overdue sweep marks 5,000 a batch: building 5,000 model instances cost it more
    than the insert)."""
    ids = sorted({int(i) for i in ids if i is not None})
    if not ids:
        return
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(DirtyTicket._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (ticket_id) SELECT unnest(%s::bigint[]) "
                "ON CONFLICT DO NOTHING",
                [ids],
            )
        return
    DirtyTicket.objects.bulk_create([DirtyTicket(ticket_id=i) for i in ids], ignore_conflicts=True)


def ticket_changed(sender, ticket=None, **kwargs):
    ids = [getattr(ticket, "pk", None)]
    ids += [t.pk for t in kwargs.get("sources") or ()]  # a merge closes its sources
    for key in ("parent", "new_ticket"):
        other = kwargs.get(key)
        ids.append(getattr(other, "pk", None))
    mark_tickets(ids)


def tickets_overdue(sender, ticket_ids=(), **kwargs):
    mark_tickets(ticket_ids)


TICKET_SIGNALS = [
    name for name in dir(signals) if name.startswith("ticket_") and name not in ("ticket_pre_open",)
]
for _name in TICKET_SIGNALS:
    bus.connect_in_transaction(
        getattr(signals, _name), ticket_changed, dispatch_uid=f"reports.{_name}"
    )
bus.connect_in_transaction(signals.tickets_overdue, tickets_overdue, dispatch_uid="reports.overdue")
