"""Threads: every message, response and internal note (poster, format, times, email
headers, the Message-ID received, attachments and inline images), then collaborators,
referrals and events as history.

Entries come in batches of thread_entry ids; an entry whose thread belongs to nothing
imported (a ticket skipped) is skipped with that reason. Bodies are sanitised as ours
are (`threads.html.bodies`). Earlier revisions of edited entries (osTicket keeps them
hidden) are not imported: the entry comes over as last edited.
"""

from __future__ import annotations

import json
from typing import Any

from threads.html import bodies, stored_body
from threads.models import Attachment, Collaborator, Referral, ThreadEntry, ThreadEvent

from . import files
from .base import Context, Skip, Written, upsert
from .source import Row
from .tickets import ip

KINDS = {"M": ThreadEntry.Kind.MESSAGE, "R": ThreadEntry.Kind.RESPONSE, "N": ThreadEntry.Kind.NOTE}
SOURCES = {"web": "web", "email": "email", "api": "api", "phone": "phone", "other": "other"}
HIDDEN, EDITED, SYSTEM = 0x4, 0x2, 0x80
COLUMNS = [
    "pid",
    "thread_id",
    "staff_id",
    "user_id",
    "type",
    "flags",
    "poster",
    "editor",
    "editor_type",
    "source",
    "title",
    "body",
    "format",
    "ip_address",
    "created",
    "updated",
]


def entries(ctx: Context) -> None:
    columns = [*COLUMNS, "recipients"] if ctx.source.has("thread_entry", "recipients") else COLUMNS
    ctx.each_batch(
        "thread entries",
        "thread_entry",
        columns,
        _entries,
        kind="threads",
        size=ctx.options.batch_size * 5,
    )
    for step in (collaborators, referrals, events):
        step(ctx)


def _entries(ctx: Context, rows: list[Row]) -> None:
    ids = [r["id"] for r in rows]
    thread_map = ctx.maps.get("thread", {r["thread_id"] for r in rows})
    emails = {
        e["thread_entry_id"]: e
        for e in ctx.source.rows_in(
            "thread_entry_email", ["mid", "headers"], "thread_entry_id", ids
        )
    }
    agents = ctx.maps.load("agent")
    users = ctx.maps.get("user", {r["user_id"] for r in rows})
    visible = [r for r in rows if not int(r["flags"] or 0) & HIDDEN]
    attached = files.attachments_of(ctx, "H", [r["id"] for r in visible])
    for row in rows:
        email = emails.get(row["id"], {})
        row["email"] = (email.get("mid"), email.get("headers"))
        row["files"] = repr(attached.get(row["id"], []))
    stored: dict[int, Any] = {}
    cleaned: dict[int, tuple[str, str]] = {}

    def prepare(todo: list[Row]) -> None:
        """Files stored and bodies sanitised for the entries new or changed only."""
        shown = [r for r in todo if not int(r["flags"] or 0) & HIDDEN]
        stored.update(files.store(ctx, [a for r in shown for a in attached.get(r["id"], [])]))
        cleaned.update(sanitised(ctx, shown))

    def build(row: Row) -> dict[str, Any]:
        flags = int(row["flags"] or 0)
        if flags & HIDDEN:
            raise Skip("an earlier revision of an edited entry")
        thread = thread_map.get(str(row["thread_id"]))
        if thread is None:
            raise Skip("its ticket or task was not imported")
        kind = KINDS.get(row["type"])
        if kind is None:
            raise Skip(f"unknown entry type {row['type']!r}")
        fmt = (
            ThreadEntry.Format.TEXT
            if (row["format"] or "").lower() == "text"
            else ThreadEntry.Format.HTML
        )
        body_html, body_text = cleaned[row["id"]]
        poster = None
        if row["staff_id"]:
            found = agents.get(str(row["staff_id"]))
            poster = found.object_id if found else None
        elif row["user_id"]:
            found = users.get(str(row["user_id"]))
            poster = found.object_id if found else None
        editor = agents.get(str(row["editor"] or 0)) if row["editor_type"] == "S" else None
        email = emails.get(row["id"], {})
        return {
            "thread_id": thread.object_id,
            "kind": kind,
            "poster_id": poster,
            "poster_name": (row["poster"] or "")[:128],
            "title": (row["title"] or "")[:255],
            "format": fmt,
            "body": stored_body(fmt, body_html, body_text),
            "source": SOURCES.get((row["source"] or "").lower(), "other"),
            "is_system": bool(flags & SYSTEM),
            "recipients": _recipients(row.get("recipients")),
            "message_id": (email.get("mid") or "").strip()[:255],
            "email_headers": email.get("headers") or "",
            "ip_address": ip(row["ip_address"]),
            "created_at": ctx.when(row["created"]) or ctx.now,
            "edited_at": ctx.when(row["updated"]) if flags & EDITED else None,
            "editor_id": editor.object_id if editor else None,
        }

    def after(written: Written) -> None:
        again = [e.pk for _, e in written.existing()]
        if again:
            Attachment.objects.filter(entry_id__in=again).delete()
        Attachment.objects.bulk_create(
            Attachment(
                entry_id=entry.pk,
                file=stored[a.file_id],
                filename=a.name,
                content_type=a.type,
                inline=a.inline,
                content_id=a.key if a.inline else "",
                created_at=entry.created_at,
            )
            for row, entry in written
            for a in attached.get(row["id"], [])
            if a.file_id in stored
        )

    upsert(ctx, "entry", ThreadEntry, rows, build, after=after, prepare=prepare, fast=True)


def _format(row: Row) -> str:
    text = (row["format"] or "").lower() == "text"
    return "text" if text else "html"  # plain str: the workers import no models


def sanitised(ctx: Context, rows: list[Row]) -> dict[int, tuple[str, str]]:
    """{entry id: (sanitised HTML, text)}, in the run's worker processes when it has
    some (the sanitiser is the importer's largest cost), else here."""
    items = [(r["body"] or "", _format(r)) for r in rows]
    pool = ctx.cache.get("pool")
    if pool is not None and len(items) > 200:
        # threads.html imports no models: the spawned workers need no Django set-up
        done = list(
            pool.map(bodies, *zip(*items, strict=True), chunksize=max(50, len(items) // 16))
        )
    else:
        done = [bodies(*item) for item in items]
    return {r["id"]: d for r, d in zip(rows, done, strict=True)}


def _recipients(value: Any) -> dict[str, Any]:
    try:
        data = json.loads(value) if value else {}
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {"to": data}


def collaborators(ctx: Context) -> None:
    if not ctx.source.has("thread_collaborator"):
        return
    flag = "flags" if ctx.source.has("thread_collaborator", "flags") else "isactive"
    for batch in ctx.source.batches(
        "thread_collaborator",
        ["thread_id", "user_id", flag, "created"],
        size=ctx.options.batch_size * 5,
    ):
        _collaborators(ctx, batch, flag)


def _collaborators(ctx: Context, batch: list[Row], flag: str) -> None:
    threads = ctx.maps.get("thread", {r["thread_id"] for r in batch})
    users = ctx.maps.get("user", {r["user_id"] for r in batch})
    seen: set[tuple[int, int]] = set()
    # collaborators already on the batch's threads (added here since), read once
    present = {
        (c.thread_id, c.user_id): c
        for c in Collaborator.objects.filter(thread_id__in={m.object_id for m in threads.values()})
    }

    def build(row: Row) -> dict[str, Any]:
        thread, user = threads.get(str(row["thread_id"])), users.get(str(row["user_id"]))
        if thread is None or user is None:
            raise Skip("its ticket or user was not imported")
        pair = (thread.object_id, user.object_id)
        if pair in seen:
            raise Skip("the same person twice on one thread")
        seen.add(pair)
        value = int(row[flag] or 0)
        active = bool(value & 0x1) if flag == "flags" else bool(value)
        cc = bool(value & 0x2) if flag == "flags" else True
        return {
            "thread_id": thread.object_id,
            "user_id": user.object_id,
            "is_active": active,
            "role": Collaborator.Role.CC if cc else Collaborator.Role.BCC,
            "created_at": ctx.when(row["created"]) or ctx.now,
        }

    upsert(
        ctx,
        "collaborator",
        Collaborator,
        batch,
        build,
        adopt=lambda v: present.get((v["thread_id"], v["user_id"])),
    )


def referrals(ctx: Context) -> None:
    if not ctx.source.has("thread_referral"):
        return
    targets = {
        "S": ("agent", "agent_id"),
        "E": ("team", "team_id"),
        "D": ("department", "department_id"),
    }
    for batch in ctx.source.batches(
        "thread_referral",
        ["thread_id", "object_id", "object_type", "created"],
        size=ctx.options.batch_size * 5,
    ):
        _referrals(ctx, batch, targets)


def _referrals(ctx: Context, batch: list[Row], targets: dict[str, tuple[str, str]]) -> None:
    threads = ctx.maps.get("thread", {r["thread_id"] for r in batch})

    def build(row: Row) -> dict[str, Any]:
        thread = threads.get(str(row["thread_id"]))
        target = targets.get(row["object_type"])
        if thread is None or target is None:
            raise Skip("its ticket was not imported, or an unknown referral")
        ours = ctx.maps.load(target[0]).get(str(row["object_id"]))
        if ours is None:
            raise Skip(f"the {target[0]} it refers to was not imported")
        return {
            "thread_id": thread.object_id,
            target[1]: ours.object_id,
            "created_at": ctx.when(row["created"]) or ctx.now,
        }

    def adopt(values: dict[str, Any]) -> Any:
        return Referral.objects.filter(
            **{k: v for k, v in values.items() if k != "created_at"}
        ).first()

    upsert(ctx, "referral", Referral, batch, build, adopt=adopt)


EVENTS = {
    "created": ThreadEvent.Kind.CREATED,
    "closed": ThreadEvent.Kind.STATUS_CHANGED,
    "reopened": ThreadEvent.Kind.STATUS_CHANGED,
    "status": ThreadEvent.Kind.STATUS_CHANGED,
    "assigned": ThreadEvent.Kind.ASSIGNED,
    "released": ThreadEvent.Kind.RELEASED,
    "transferred": ThreadEvent.Kind.TRANSFERRED,
    "referred": ThreadEvent.Kind.REFERRED,
    "overdue": ThreadEvent.Kind.OVERDUE,
    "edited": ThreadEvent.Kind.EDITED,
    "merged": ThreadEvent.Kind.MERGED,
    "linked": ThreadEvent.Kind.LINKED,
    "unlinked": ThreadEvent.Kind.UNLINKED,
    "collab": ThreadEvent.Kind.COLLABORATOR_ADDED,
}


def events(ctx: Context) -> None:
    """osTicket's events as history (`data.osticket` keeps what osTicket recorded). Those
    we keep no history of (viewed, error, login, ...) are reported as skipped."""
    if not ctx.source.has("thread_event"):
        return
    by_id = ctx.source.has("thread_event", "event_id")
    names: dict[int, str] = {}
    if by_id and ctx.source.has("event"):
        names = {
            r["id"]: r["name"]
            for r in ctx.source.query(f"SELECT id, name FROM {ctx.source.table('event')}")
        }
    what = "event_id" if by_id else "state"
    columns = [
        what,
        "thread_id",
        "staff_id",
        "team_id",
        "dept_id",
        "topic_id",
        "data",
        "username",
        "uid",
        "uid_type",
        "annulled",
        "timestamp",
    ]
    ctx.each_batch(
        "thread events",
        "thread_event",
        columns,
        _events,
        kind="events",
        size=ctx.options.batch_size * 5,
        since="timestamp",
        extra=(names if by_id else None, what),
    )


def _events(ctx: Context, batch: list[Row], names: dict[int, str] | None, what: str) -> None:
    threads = ctx.maps.get("thread", {r["thread_id"] for r in batch})
    users = ctx.maps.get("user", {r["uid"] for r in batch if r["uid_type"] == "U"})
    agents = ctx.maps.load("agent")

    def build(row: Row) -> dict[str, Any]:
        name = names.get(row[what], "") if names is not None else (row[what] or "")
        kind = EVENTS.get(name)
        if kind is None:
            raise Skip(f"no history of {name or 'unnamed'!r} events here")
        thread = threads.get(str(row["thread_id"]))
        if thread is None:
            raise Skip("its ticket or task was not imported")
        actor = (agents if row["uid_type"] == "S" else users).get(str(row["uid"] or 0))
        try:
            detail = json.loads(row["data"]) if row["data"] else {}
        except ValueError:
            detail = {"raw": row["data"]}
        data: dict[str, Any] = {
            "imported": True,
            "osticket": {
                "event": name,
                "data": detail,
                "staff": row["staff_id"],
                "team": row["team_id"],
                "department": row["dept_id"],
                "topic": row["topic_id"],
                "annulled": bool(row["annulled"]),
            },
        }
        if name in ("closed", "reopened"):
            data["state"] = "closed" if name == "closed" else "open"
        return {
            "thread_id": thread.object_id,
            "kind": kind,
            "actor_id": actor.object_id if actor else None,
            "actor_label": (row["username"] or "")[:128],
            "channel": "system",
            "data": data,
            "created_at": ctx.when(row["timestamp"]) or ctx.now,
        }

    upsert(ctx, "event", ThreadEvent, batch, build, fast=True)
