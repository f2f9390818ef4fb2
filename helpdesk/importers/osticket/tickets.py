"""Tickets: numbers unchanged, status and state, department, topic, priority, SLA, due
dates, flags, assignee and team, source, address, times; the ticket form's answers
(subject, priority, custom fields); then merges and links. Tasks with their numbers.

Batches of `--batch-size` tickets: one SELECT of tickets (keyset on the id), one of
their threads, one of their form answers; one transaction writes the threads, the
tickets, their custom values and the mappings (ticket and thread).
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from django.db import transaction

from accounts.models import User
from threads.models import Thread
from tickets.models import (
    HelpdeskSettings,
    MergeMode,
    Priority,
    State,
    Task,
    TaskState,
    Ticket,
    TicketFieldValue,
    TicketLink,
    TicketStatus,
)

from .base import Context, Skip, Written, insert_rows, update_changed, upsert
from .config import sequences_after_tickets
from .source import Row

SOURCES = {"web": "web", "email": "email", "phone": "phone", "api": "api", "other": "other"}
COLUMNS = [
    "number",
    "user_id",
    "status_id",
    "dept_id",
    "sla_id",
    "topic_id",
    "staff_id",
    "team_id",
    "flags",
    "ip_address",
    "source",
    "isoverdue",
    "isanswered",
    "duedate",
    "est_duedate",
    "reopened",
    "closed",
    "lastupdate",
    "created",
    "updated",
]


def new_threads(count: int) -> list[int]:
    """The ids of `count` new threads, in one INSERT a thousand (a thread has no column
    but its id; its time is its first entry's)."""
    made = Thread.objects.bulk_create([Thread() for _ in range(count)], batch_size=1000)
    return [thread.pk for thread in made]


@functools.lru_cache(maxsize=65536)
def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def ip(value: Any) -> str | None:
    """An address osTicket stored, normalised; None when it is not one (a few addresses
    recur on thousands of rows: parsed once each)."""
    return _ip(value) if value and isinstance(value, str) else None


def form_answers(ctx: Context, object_type: str, ids: list[int]) -> dict[int, dict[str, Row]]:
    """{object id: {field name or id: (value, value_id, field id)}} of osTicket's forms."""
    if not ids:
        return {}
    s = ctx.source
    marks = ", ".join(["%s"] * len(ids))
    rows = s.query(
        "SELECT fe.object_id, ff.id AS field_id, ff.name, v.value, v.value_id"
        f" FROM {s.table('form_entry')} fe"
        f" JOIN {s.table('form_entry_values')} v ON v.entry_id = fe.id"
        f" JOIN {s.table('form_field')} ff ON ff.id = v.field_id"
        f" WHERE fe.object_type = %s AND fe.object_id IN ({marks})",
        [object_type, *ids],
    )
    out: dict[int, dict[str, Row]] = {}
    for r in rows:
        out.setdefault(r["object_id"], {})[r["name"] or f"#{r['field_id']}"] = r
    return out


class Lookups:
    """The mappings and defaults one batch needs, read once per batch."""

    def __init__(self, ctx: Context, rows: list[Row], user_key: str = "user_id") -> None:
        self.ctx = ctx
        m = ctx.maps
        self.dept = m.load("department")
        self.status = m.load("status")
        self.priority = m.load("priority")
        self.sla, self.topic, self.team = m.load("sla"), m.load("topic"), m.load("team")
        self.agent = m.load("agent")
        self.user = m.get("user", [r.get(user_key) for r in rows])
        if "states" not in ctx.cache:
            ctx.cache["states"] = dict(TicketStatus.objects.values_list("pk", "state"))
            s = HelpdeskSettings.load()
            ctx.cache["defaults"] = (
                s.default_department_id,
                s.default_status_id,
                s.closed_status_id,
                s.default_priority_id,
            )
            ctx.cache["priority_any"] = (
                Priority.objects.order_by("urgency").values_list("pk", flat=True).last()
            )
        self.states: dict[int, str] = ctx.cache["states"]
        self.defaults: tuple[int | None, ...] = ctx.cache["defaults"]

    def ref(self, table: dict[str, Any], value: object) -> int | None:
        found = table.get(str(value or 0))
        return found.object_id if found is not None else None

    def department(self, row: Row) -> int:
        dept = self.ref(self.dept, row["dept_id"])
        if dept is None:
            dept = self.defaults[0] or next((m.object_id for m in self.dept.values()), None)
            if dept is None:
                raise Skip("no department to put it in")
            self.ctx.report.warn("department not imported: the default one given", row["dept_id"])
        return dept


def tickets(ctx: Context) -> None:
    ctx.each_batch("tickets", "ticket", COLUMNS, _tickets, kind="tickets", key="ticket_id")
    merges(ctx)


def _tickets(ctx: Context, rows: list[Row]) -> None:
    ids = [r["ticket_id"] for r in rows]
    threads = {
        t["object_id"]: t
        for t in ctx.source.rows_in(
            "thread",
            ["id", "lastresponse", "lastmessage"],
            "object_id",
            ids,
            where="object_type = 'T'",
        )
    }
    answers = form_answers(ctx, "T", ids)
    look = Lookups(ctx, rows)
    fields = ctx.maps.get("field", {a["field_id"] for t in answers.values() for a in t.values()})
    orgs = dict(
        User.objects.filter(pk__in=[m.object_id for m in look.user.values()]).values_list(
            "pk", "organization_id"
        )
    )
    mapped = ctx.maps.get("ticket", ids)
    taken = dict(
        Ticket.objects.filter(number__in=[r["number"] for r in rows if r["number"]]).values_list(
            "number", "pk"
        )
    )
    for row in rows:
        thread = threads.get(row["ticket_id"], {})
        row["thread"] = (thread.get("lastresponse"), thread.get("lastmessage"))
        row["answers"] = sorted(
            (k, v["value"], v["value_id"]) for k, v in answers.get(row["ticket_id"], {}).items()
        )

    def build(row: Row) -> dict[str, Any]:
        number = (row["number"] or "").strip() or str(row["ticket_id"])
        mine = mapped.get(str(row["ticket_id"]))
        holder = taken.get(number)
        if holder is not None and (mine is None or holder != mine.object_id):
            raise Skip("its number is already used here")
        requester = look.ref(look.user, row["user_id"])
        if requester is None:
            raise Skip("its user was not imported")
        given = answers.get(row["ticket_id"], {})
        status = look.ref(look.status, row["status_id"])
        if status is None:
            status = look.defaults[2] if ctx.when(row["closed"]) else look.defaults[1]
            ctx.report.warn("ticket status not imported: default status given", row["status_id"])
        state = look.states.get(status or 0, State.OPEN)
        priority = given.get("priority", {}).get("value_id")
        subject = (given.get("subject", {}).get("value") or "").strip()
        if not subject:
            ctx.report.warn("ticket without a subject", number)
        thread = threads.get(row["ticket_id"], {})
        reopened = ctx.when(row["reopened"])
        return {
            "number": number[:32],
            "subject": (subject or "(no subject)")[:255],
            "requester_id": requester,
            "organization_id": orgs.get(requester),
            "department_id": look.department(row),
            "topic_id": look.ref(look.topic, row["topic_id"]),
            "sla_id": look.ref(look.sla, row["sla_id"]),
            "priority_id": look.ref(look.priority, priority)
            or look.defaults[3]
            or ctx.cache["priority_any"],
            "status_id": status,
            "state": state,
            "source": SOURCES.get((row["source"] or "").lower(), "other"),
            "assignee_id": look.ref(look.agent, row["staff_id"]),
            "team_id": look.ref(look.team, row["team_id"]),
            "is_overdue": bool(row["isoverdue"]),
            "is_answered": bool(row["isanswered"]),
            "due_at": ctx.when(row["duedate"]),
            "sla_due_at": ctx.when(row["est_duedate"]),
            "reopened_at": reopened,
            "reopen_count": 1 if reopened else 0,
            "closed_at": ctx.when(row["closed"]) if state != State.OPEN else None,
            "created_at": ctx.when(row["created"]) or ctx.now,
            "updated_at": ctx.when(row["lastupdate"]) or ctx.when(row["updated"]) or ctx.now,
            "last_message_at": ctx.when(thread.get("lastmessage")),
            "last_response_at": ctx.when(thread.get("lastresponse")),
            "ip_address": ip(row["ip_address"]),
        }

    def before_create(new: list[tuple[Row, Any]]) -> None:
        made = new_threads(len(new))
        for (_, ticket), thread in zip(new, made, strict=True):
            ticket.thread_id = thread

    def after(written: Written) -> None:
        again = [t.pk for _, t in written.existing()]
        if again:
            TicketFieldValue.objects.filter(ticket_id__in=again).delete()
        values = []
        for row, ticket in written:
            for answer in answers.get(row["ticket_id"], {}).values():
                field = fields.get(str(answer["field_id"]))
                if field is not None and answer["value"] not in (None, ""):
                    values.append((ticket.pk, field.object_id, str(answer["value"])))
        insert_rows(TicketFieldValue, ["ticket_id", "field_id", "value"], values, returning=False)
        thread_rows = []
        for row, ticket in written:
            thread = threads.get(row["ticket_id"])
            if thread is not None and ticket.thread_id is not None:
                thread_rows.append((thread["id"], ticket.thread_id, ""))
        ctx.maps.record("thread", Thread, thread_rows)
        sequences_after_tickets(ctx, "ticket", [t.number for _, t in written])

    upsert(
        ctx,
        "ticket",
        Ticket,
        rows,
        build,
        key="ticket_id",
        after=after,
        before_create=before_create,
        fast=True,
    )


def merges(ctx: Context) -> None:
    """Merged and linked tickets (osTicket 1.14+: `ticket_pid` and the merge flags)."""
    if not ctx.source.has("ticket", "ticket_pid"):
        return
    for batch in ctx.source.batches(
        "ticket",
        ["ticket_pid", "flags"],
        key="ticket_id",
        where="ticket_pid IS NOT NULL AND ticket_pid <> 0",
        size=ctx.options.batch_size,
    ):
        ids = ctx.maps.ids(
            "ticket", [r["ticket_id"] for r in batch] + [r["ticket_pid"] for r in batch]
        )
        children, links = [], []
        for row in batch:
            child, parent = ids.get(row["ticket_id"]), ids.get(row["ticket_pid"])
            if child is None or parent is None or child == parent:
                continue
            flags = int(row["flags"] or 0)
            mode = (
                MergeMode.LINK
                if flags & 0x8
                else MergeMode.SEPARATE
                if flags & 0x2
                else MergeMode.COMBINE
            )
            children.append(Ticket(pk=child, merged_into_id=parent, merge_mode=mode))
            if mode == MergeMode.LINK:
                links.append(TicketLink(low_id=min(child, parent), high_id=max(child, parent)))
        with transaction.atomic():
            moved = update_changed(Ticket, children, ["merged_into", "merge_mode"])
            TicketLink.objects.bulk_create(links, ignore_conflicts=True)
        ctx.report.counts["merge or link"].updated += moved
        ctx.report.counts["merge or link"].unchanged += len(children) - moved


def tasks(ctx: Context) -> None:
    ctx.each_batch("tasks", "task", TASK_COLUMNS, _tasks, kind="tasks")


TASK_COLUMNS = [
    "object_id",
    "object_type",
    "number",
    "dept_id",
    "staff_id",
    "team_id",
    "flags",
    "duedate",
    "closed",
    "created",
    "updated",
]


def _tasks(ctx: Context, rows: list[Row]) -> None:
    ids = [r["id"] for r in rows]
    threads = {
        t["object_id"]: t
        for t in ctx.source.rows_in("thread", ["id"], "object_id", ids, where="object_type = 'A'")
    }
    answers = form_answers(ctx, "A", ids)
    look = Lookups(ctx, [])
    parents = ctx.maps.ids("ticket", [r["object_id"] for r in rows if r["object_type"] == "T"])
    mapped = ctx.maps.get("task", ids)
    taken = dict(
        Task.objects.filter(number__in=[r["number"] for r in rows if r["number"]]).values_list(
            "number", "pk"
        )
    )
    for row in rows:
        row["answers"] = sorted((k, v["value"]) for k, v in answers.get(row["id"], {}).items())

    def build(row: Row) -> dict[str, Any]:
        flags = int(row["flags"] or 0)
        title = (answers.get(row["id"], {}).get("title", {}).get("value") or "").strip()
        ticket = parents.get(row["object_id"]) if row["object_type"] == "T" else None
        if row["object_type"] == "T" and ticket is None:
            raise Skip("its ticket was not imported")
        number = (row["number"] or str(row["id"]))[:32]
        mine = mapped.get(str(row["id"]))
        holder = taken.get(number)
        if holder is not None and (mine is None or holder != mine.object_id):
            raise Skip("its number is already used here")
        return {
            "number": number,
            "title": (title or "(no title)")[:255],
            "ticket_id": ticket,
            "department_id": look.department(row),
            "assignee_id": look.ref(look.agent, row["staff_id"]),
            "team_id": look.ref(look.team, row["team_id"]),
            "state": TaskState.OPEN if flags & 0x1 else TaskState.CLOSED,
            "is_overdue": bool(flags & 0x2),
            "due_at": ctx.when(row["duedate"]),
            "closed_at": None if flags & 0x1 else ctx.when(row["closed"]),
            "created_at": ctx.when(row["created"]) or ctx.now,
            "updated_at": ctx.when(row["updated"]) or ctx.now,
        }

    def before_create(new: list[tuple[Row, Any]]) -> None:
        made = new_threads(len(new))
        for (_, task), thread in zip(new, made, strict=True):
            task.thread_id = thread

    def after(written: list[tuple[Row, Any]]) -> None:
        ctx.maps.record(
            "thread",
            Thread,
            [
                (threads[row["id"]]["id"], task.thread_id, "")
                for row, task in written
                if row["id"] in threads
            ],
        )
        sequences_after_tickets(ctx, "task", [t.number for _, t in written])

    upsert(
        ctx,
        "task",
        Task,
        rows,
        build,
        after=after,
        before_create=before_create,
        adopt=lambda v: None,
    )
