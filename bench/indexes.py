"""Which index each measured query uses (issue 19's index audit).

    .venv/bin/python bench/indexes.py        # after bench/size.py, on its database

Runs, on the database bench/size.py loaded (`hd_size`, SIZE_BENCH_DATABASE_URL to
change it), the reads the indexes of tickets_ticket and threads_threadentry are for:
the panel's queues (first page, a deep page, and the count of every queue), its
keyword search and a ticket view, a client's ticket list in the portal, the API's
ticket list, the overdue sweep's plan, mail threading (Message-ID and ticket number
lookups) and a merge's children. Each SELECT they send is EXPLAINed (not analysed:
nothing is changed); the report lists, for every index of the two tables, the queries
whose plan reads it, and the indexes no measured query reads.
"""

import os
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import baseline, setup_django

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/hd_size"
TABLES = ("tickets_ticket", "threads_threadentry")
SEQ = re.compile(r"Seq Scan on (\w+)")
USES = re.compile(
    r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)"
)


def capture(label: str, run, found: dict[str, set[str]], plans: dict[str, str]) -> None:
    from django.db import connection

    sent: list[tuple[str, object]] = []

    def keep(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        run()
    with connection.cursor() as cur:
        for sql, params in sent:
            touched = any(table in sql for table in TABLES)
            if not sql.lstrip().upper().startswith("SELECT") or not touched:
                continue
            cur.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cur.fetchall())
            for index in USES.findall(plan):
                found[index].add(label)
                plans.setdefault(f"{label}: {index}", plan)
            for table in SEQ.findall(plan):
                if table in TABLES:
                    found[f"seq scan {table}"].add(label)
                    plans.setdefault(f"{label}: seq scan {table}", plan)


def main() -> None:
    setup_django(os.environ.get("SIZE_BENCH_DATABASE_URL", DEFAULT_DB))
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from helpdesk.mail.matching import received_ids
    from tickets.models import Ticket
    from tickets.services.overdue import _sql

    agent = baseline()["agent"]
    staff = Client()
    staff.force_login(agent)
    ticket = Ticket.objects.filter(state="open").order_by("pk").first()
    client_user = ticket.requester
    portal = Client()
    portal.force_login(client_user)

    def get(client, url):
        def run():
            response = client.get(url, secure=True)
            assert response.status_code == 200, (url, response.status_code)

        return run

    def sweep_plan(found, plans):
        with transaction.atomic(), connection.cursor() as cur:
            sql, params = _sql(timezone.now(), 500)
            cur.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cur.fetchall())
        for index in USES.findall(plan):
            found[index].add("overdue sweep (tickets_mark_overdue)")
            plans.setdefault(f"overdue sweep: {index}", plan)

    deep = Ticket.objects.filter(state="open").order_by("-updated_at", "-pk")[5000:5001].get()
    from helpdesk.panel import keyset
    from helpdesk.panel.queues import SORTS

    cursor = keyset.encode("-updated", deep, SORTS["updated"].field, False)
    old = Ticket.objects.filter(state="closed").order_by("-updated_at", "-pk")[45000:45001].get()
    closed = keyset.encode("-updated", old, SORTS["updated"].field, False)
    reads = {
        "panel: open queue": get(staff, "/scp/queues/open/"),
        "panel: open queue, deep page": get(staff, f"/scp/queues/open/?cursor={cursor}"),
        "panel: my tickets queue": get(staff, "/scp/queues/mine/"),
        "panel: my teams queue": get(staff, "/scp/queues/teams/"),
        "panel: unassigned queue": get(staff, "/scp/queues/unassigned/"),
        "panel: overdue queue": get(staff, "/scp/queues/overdue/"),
        "panel: answered queue": get(staff, "/scp/queues/answered/"),
        "panel: closed queue": get(staff, "/scp/queues/closed/"),
        "panel: closed queue, deep page": get(staff, f"/scp/queues/closed/?cursor={closed}"),
        "panel: queue counts": get(staff, "/scp/queues/counts/"),
        "panel: search 'printer'": get(staff, "/scp/search/?q=printer"),
        "panel: search 'stopped working'": get(staff, "/scp/search/?q=stopped+working"),
        "panel: search 'jams' (a rare word)": get(staff, "/scp/search/?q=jams"),
        "panel: ticket view": get(staff, f"/scp/tickets/{ticket.number}/"),
        "portal: my tickets": get(portal, "/tickets/"),
        "portal: a ticket": get(portal, f"/tickets/{ticket.number}/"),
        "api: ticket list": get(staff, "/api/v1/tickets/"),
        "api: open tickets, by update": get(
            staff, "/api/v1/tickets/?state=open&ordering=-updated_at"
        ),
        "api: closed tickets": get(staff, "/api/v1/tickets/?state=closed"),
        "api: tickets of a status": get(staff, f"/api/v1/tickets/?status={ticket.status_id}"),
        "api: tickets of a priority": get(staff, f"/api/v1/tickets/?priority={ticket.priority_id}"),
        "mail: Message-ID lookup": lambda: received_ids(["<nobody@bench.test>"]),
        "mail: ticket number lookup": lambda: list(Ticket.objects.filter(number=ticket.number)),
        "merge: children of a ticket": lambda: list(Ticket.objects.filter(merged_into=ticket)),
    }
    found: dict[str, set[str]] = defaultdict(set)
    plans: dict[str, str] = {}
    for label, run in reads.items():
        try:
            capture(label, run, found, plans)
        except AssertionError as exc:
            print(f"skipped {label}: {exc}")
    sweep_plan(found, plans)

    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT t.relname, i.relname, pg_relation_size(i.oid), pg_get_indexdef(i.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname = ANY(%s) ORDER BY t.relname, pg_relation_size(i.oid) DESC
            """,
            [list(TABLES)],
        )
        rows = cur.fetchall()
    for table, index, size, definition in rows:
        users = sorted(found.get(index, ()))
        print(f"{table}.{index} ({size / 1024 / 1024:.1f} MB)")
        print(f"    {definition.split(' USING ', 1)[1] if ' USING ' in definition else definition}")
        print(f"    used by: {'; '.join(users) if users else '-- no measured query --'}")
    for table in TABLES:
        users = sorted(found.get(f"seq scan {table}", ()))
        print(f"sequential scans of {table}: {'; '.join(users) if users else 'none'}")
    if "-v" in sys.argv:
        for key, plan in plans.items():
            print(f"\n== {key}\n{plan}")


if __name__ == "__main__":
    main()
