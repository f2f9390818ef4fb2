"""Rows of an osTicket database, inserted the way osTicket stores them (tests/osticket/
schema.sql): `OsTicket.seed()` lays the install's basics (statuses, priorities, the
ticket details form, a role, a department, an SLA, settings), and one method per kind
adds what a test needs, returning the new row's id."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

CHUNK = 256 * 1024  # osTicket's database backend stores files in chunks
T0 = dt.datetime(2023, 3, 1, 9, 0, 0)


class OsTicket:
    def __init__(self, conn: Any, database: str, url: str, prefix: str = "ost_") -> None:
        self.conn = conn
        self.database = database
        self.url = url
        self.prefix = prefix
        self._numbers = itertools.count(100001)
        self.ids: dict[str, int] = {}

    # --- plumbing -----------------------------------------------------------------------

    def insert(self, table: str, **values: Any) -> int:
        columns = ", ".join(f"`{c}`" for c in values)
        marks = ", ".join(["%s"] * len(values))
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO `{self.prefix}{table}` ({columns}) VALUES ({marks})",
                list(values.values()),
            )
            return int(cursor.lastrowid)

    def execute(self, sql: str, params: Any = None) -> int:
        with self.conn.cursor() as cursor:
            return int(cursor.execute(sql.replace("ost_", self.prefix), params))

    def many(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        names = ", ".join(f"`{c}`" for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        with self.conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO `{self.prefix}{table}` ({names}) VALUES ({marks})",
                [[r[c] for c in columns] for r in rows],
            )

    # --- the install's basics -------------------------------------------------------------

    def seed(self) -> OsTicket:
        ids = self.ids
        for namespace, key, value in (
            ("core", "ticket_number_format", "######"),
            ("core", "ticket_sequence_id", "0"),
            ("core", "task_number_format", "#"),
            ("core", "task_sequence_id", "2"),
            ("core", "default_template_id", "1"),
            ("core", "db_timezone", "UTC"),
            ("core", "default_timezone", "Europe/Paris"),
        ):
            self.config(key, value, namespace)
        self.insert(
            "sequence", name="Tasks Sequence", flags=1, next=1, increment=1, padding="0", updated=T0
        )
        self.insert(
            "sequence", name="Tasks Sequence", flags=1, next=5, increment=1, padding="0", updated=T0
        )
        for name, state, sort in (
            ("Open", "open", 1),
            ("Resolved", "closed", 2),
            ("Closed", "closed", 3),
            ("Archived", "archived", 4),
            ("Deleted", "deleted", 5),
        ):
            props = {"description": f"{name} tickets", "allowreopen": True}
            ids[f"status:{name}"] = self.insert(
                "ticket_status",
                name=name,
                state=state,
                mode=3,
                sort=sort,
                properties=json.dumps(props),
                created=T0,
                updated=T0,
            )
        for name, urgency, colour in (
            ("low", 4, "#DDFFDD"),
            ("normal", 3, "#FFFFF0"),
            ("high", 2, "#FEE7E7"),
            ("emergency", 1, "#FEE7E7"),
        ):
            ids[f"priority:{name}"] = self.insert(
                "ticket_priority",
                priority=name,
                priority_desc=name.title(),
                priority_color=colour,
                priority_urgency=urgency,
                ispublic=1,
            )
        self.config("default_priority_id", str(ids["priority:normal"]))
        self.config("default_ticket_status_id", str(ids["status:Open"]))
        ids["form:ticket"] = self.insert(
            "form", type="T", title="Ticket Details", name="", flags=0, created=T0, updated=T0
        )
        for name, kind, label in (
            ("subject", "text", "Issue Summary"),
            ("message", "thread", "Issue Details"),
            ("priority", "priority", "Priority Level"),
            ("serial", "text", "Serial number"),
        ):
            ids[f"field:{name}"] = self.insert(
                "form_field",
                form_id=ids["form:ticket"],
                flags=0x3301,
                type=kind,
                label=label,
                name=name,
                sort=1,
                created=T0,
                updated=T0,
            )
        ids["form:task"] = self.insert(
            "form", type="A", title="Task Details", name="", flags=0, created=T0, updated=T0
        )
        ids["field:title"] = self.insert(
            "form_field",
            form_id=ids["form:task"],
            flags=0x3301,
            type="text",
            label="Title",
            name="title",
            sort=1,
            created=T0,
            updated=T0,
        )
        ids["role"] = self.role(
            "Agent Role",
            {"ticket.create": 1, "ticket.reply": 1, "ticket.close": 1, "ticket.teleport": 1},
        )
        ids["sla"] = self.insert(
            "sla", flags=3, grace_period=18, name="Default SLA", created=T0, updated=T0
        )
        ids["dept"] = self.department("Support", sla_id=ids["sla"])
        self.config("default_dept_id", str(ids["dept"]))
        self.config("default_sla_id", str(ids["sla"]))
        self.insert(
            "email_template_group",
            tpl_id=1,
            isactive=1,
            name="osTicket Default Template",
            created=T0,
        )
        return self

    def config(self, key: str, value: str, namespace: str = "core") -> None:
        self.execute(
            "REPLACE INTO ost_config (namespace, `key`, value) VALUES (%s, %s, %s)",
            [namespace, key, value],
        )

    # --- configuration -------------------------------------------------------------------

    def role(self, name: str, permissions: dict[str, int]) -> int:
        return self.insert(
            "role", name=name, permissions=json.dumps(permissions), flags=1, created=T0, updated=T0
        )

    def department(self, name: str, **kw: Any) -> int:
        values = {
            "name": name,
            "signature": "",
            "flags": 0x4,
            "ispublic": 1,
            "created": T0,
            "updated": T0,
            **kw,
        }
        return self.insert("department", **values)

    def staff(self, username: str, email: str | None, **kw: Any) -> int:
        values = {
            "username": username,
            "email": email,
            "firstname": username.title(),
            "lastname": "Agent",
            "dept_id": self.ids["dept"],
            "role_id": self.ids["role"],
            "signature": "",
            "isactive": 1,
            "created": T0,
            "updated": T0,
            "permissions": json.dumps({"user.create": 1, "faq.manage": 1}),
            **kw,
        }
        return self.insert("staff", **values)

    def team(self, name: str, lead_id: int = 0, members: tuple[int, ...] = ()) -> int:
        team = self.insert("team", name=name, lead_id=lead_id, flags=1, created=T0, updated=T0)
        for staff in members:
            self.insert("team_member", team_id=team, staff_id=staff)
        return team

    def topic(self, name: str, **kw: Any) -> int:
        values = {
            "topic": name,
            "flags": 0x2,
            "dept_id": self.ids["dept"],
            "ispublic": 1,
            "created": T0,
            "updated": T0,
            **kw,
        }
        return self.insert("help_topic", **values)

    # --- people --------------------------------------------------------------------------

    def organization(self, name: str, domain: str = "", status: int = 0) -> int:
        return self.insert(
            "organization", name=name, domain=domain, status=status, created=T0, updated=T0
        )

    def user(
        self,
        name: str,
        *emails: str,
        org_id: int = 0,
        passwd: str | None = None,
        status: int = 1,
        timezone: str | None = None,
        **kw: Any,
    ) -> int:
        user = self.insert(
            "user",
            name=name,
            org_id=org_id,
            default_email_id=0,
            created=T0,
            updated=kw.pop("updated", T0),
            **kw,
        )
        first = 0
        for address in emails:
            email_id = self.insert("user_email", user_id=user, address=address)
            first = first or email_id
        self.execute("UPDATE ost_user SET default_email_id = %s WHERE id = %s", [first, user])
        if passwd is not None or timezone is not None:
            self.insert(
                "user_account", user_id=user, status=status, passwd=passwd, timezone=timezone
            )
        return user

    # --- tickets and threads -------------------------------------------------------------

    def ticket(
        self,
        user_id: int,
        subject: str = "Printer on fire",
        *,
        number: str | None = None,
        status: str = "Open",
        priority: str = "normal",
        serial: str | None = None,
        **kw: Any,
    ) -> tuple[int, int]:
        """(ticket id, thread id)."""
        created = kw.pop("created", T0)
        values = {
            "number": number or str(next(self._numbers)),
            "user_id": user_id,
            "status_id": self.ids[f"status:{status}"],
            "dept_id": self.ids["dept"],
            "source": "Email",
            "ip_address": "192.0.2.7",
            "created": created,
            "updated": kw.pop("updated", created),
            "lastupdate": created,
            **kw,
        }
        if status in ("Resolved", "Closed"):
            values.setdefault("closed", created + dt.timedelta(hours=2))
        ticket = self.insert("ticket", **values)
        thread = self.insert(
            "thread", object_id=ticket, object_type="T", created=created, lastmessage=created
        )
        entry = self.insert(
            "form_entry",
            form_id=self.ids["form:ticket"],
            object_id=ticket,
            object_type="T",
            created=created,
            updated=created,
        )
        answers = [
            (self.ids["field:subject"], subject, None),
            (self.ids["field:priority"], priority.title(), self.ids[f"priority:{priority}"]),
        ]
        if serial is not None:
            answers.append((self.ids["field:serial"], serial, None))
        for field, value, value_id in answers:
            self.insert(
                "form_entry_values", entry_id=entry, field_id=field, value=value, value_id=value_id
            )
        return ticket, thread

    def entry(
        self,
        thread_id: int,
        body: str = "<p>It is still on fire.</p>",
        *,
        type: str = "M",
        mid: str | None = None,
        headers: str | None = None,
        **kw: Any,
    ) -> int:
        created = kw.pop("created", T0)
        values = {
            "thread_id": thread_id,
            "type": type,
            "body": body,
            "format": "html",
            "poster": "Someone",
            "source": "Email",
            "created": created,
            "updated": kw.pop("updated", created),
            **kw,
        }
        entry = self.insert("thread_entry", **values)
        if mid is not None:
            self.insert("thread_entry_email", thread_entry_id=entry, mid=mid, headers=headers)
        return entry

    def entries(self, thread_id: int, count: int, types: str = "MRN", **kw: Any) -> None:
        created = kw.pop("created", T0)
        self.many(
            "thread_entry",
            [
                {
                    "thread_id": thread_id,
                    "type": types[i % len(types)],
                    "body": f"<p>Entry {i}</p>",
                    "format": "html",
                    "poster": "Someone",
                    "source": "Email",
                    "created": created + dt.timedelta(minutes=i),
                    "updated": created,
                    **kw,
                }
                for i in range(count)
            ],
        )

    def file(
        self,
        name: str,
        content: bytes,
        *,
        mime: str = "application/octet-stream",
        backend: str = "D",
        key: str | None = None,
        stored: bool = True,
    ) -> int:
        key = key or f"k{abs(hash((name, len(content))))}"[:32]
        file_id = self.insert(
            "file",
            ft="T",
            bk=backend,
            type=mime,
            size=len(content),
            key=key,
            signature="",
            name=name,
            created=T0,
        )
        if backend == "D" and stored:
            self.many(
                "file_chunk",
                [
                    {"file_id": file_id, "chunk_id": i, "filedata": content[start : start + CHUNK]}
                    for i, start in enumerate(range(0, len(content), CHUNK))
                ],
            )
        return file_id

    def attach(
        self,
        object_id: int,
        file_id: int,
        *,
        type: str = "H",
        inline: int = 0,
        name: str | None = None,
    ) -> int:
        return self.insert(
            "attachment", object_id=object_id, type=type, file_id=file_id, name=name, inline=inline
        )

    def event(
        self,
        thread_id: int,
        name: str,
        *,
        staff_id: int = 0,
        username: str = "SYSTEM",
        data: dict[str, Any] | None = None,
        timestamp: dt.datetime = T0,
    ) -> int:
        rows = self.execute("SELECT id FROM ost_event WHERE name = %s", [name])
        with self.conn.cursor() as cursor:
            cursor.execute(f"SELECT id FROM `{self.prefix}event` WHERE name = %s", [name])
            found = cursor.fetchone()
        event_id = found[0] if rows and found else self.insert("event", name=name)
        return self.insert(
            "thread_event",
            thread_id=thread_id,
            thread_type="T",
            event_id=event_id,
            staff_id=staff_id,
            uid=staff_id or None,
            uid_type="S",
            username=username,
            data=json.dumps(data) if data else None,
            timestamp=timestamp,
        )
