"""Configuration: statuses, priorities, roles, schedules, SLAs, departments, help topics,
custom forms, canned responses, filters and the ban list, numbering and defaults, email
templates, mailboxes and API keys.

Configuration tables are small: each is read whole, in batches, and written with the
batch writer (`base.upsert`). A row not mapped yet whose name matches one of ours (the
seeded statuses, priorities and roles) takes that row over instead of clashing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import zoneinfo
from typing import Any

from django.db import transaction

from accounts import permissions as perms
from accounts.models import ApiKey, Role
from helpdesk.kb.models import CannedAttachment, CannedResponse
from helpdesk.mail.models import EmailTemplate, EmailTemplateSet, Mailbox
from routing.models import (
    SLA,
    BannedEmail,
    Department,
    FilterAction,
    FilterRule,
    HelpTopic,
    Holiday,
    Schedule,
    ScheduleHours,
    TicketFilter,
)
from threads.html import sanitize_html
from tickets.models import (
    CustomField,
    CustomForm,
    HelpdeskSettings,
    Priority,
    State,
    TicketSequence,
    TicketStatus,
)
from tickets.numbers import TASKS, TICKETS

from . import files, keys
from .base import Context, Skip, update_changed, upsert
from .source import Row

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
ZONES = zoneinfo.available_timezones()


def config_values(ctx: Context, namespace: str = "core") -> dict[str, str]:
    """osTicket's settings of one namespace ({key: value}), read once per run."""
    cached = ctx.cache.setdefault("config", {})
    if namespace not in cached:
        ctx.source.require("config", ["namespace", "key", "value"])
        rows = ctx.source.query(
            f"SELECT `key`, value FROM {ctx.source.table('config')} WHERE namespace = %s",
            [namespace],
        )
        cached[namespace] = {r["key"]: r["value"] for r in rows}
    result: dict[str, str] = cached[namespace]
    return result


def _json(value: Any) -> Any:
    try:
        return json.loads(value) if value else {}
    except (TypeError, ValueError):
        return {}


def by_name(model: Any, field: str = "name", **among: Any) -> Any:
    """An `adopt` for upsert(): the existing row (of those matching `among`) whose `field`
    equals the value's, ignoring case. The rows are read once, at the first call, not
    once per imported row (a ban list or a knowledge base has thousands)."""
    found: dict[str, Any] | None = None

    def adopt(values: dict[str, Any]) -> Any:
        nonlocal found
        if found is None:
            found = {}
            for obj in model._default_manager.filter(**among).order_by("-pk"):
                found[str(getattr(obj, field) or "").lower()] = obj  # the oldest wins
        return found.get(str(values.get(field) or "").lower())

    return adopt


def _all(ctx: Context, table: str, columns: list[str], key: str = "id") -> list[Row]:
    out: list[Row] = []
    for batch in ctx.source.batches(table, columns, key=key, size=ctx.options.batch_size):
        out.extend(batch)
    return out


# --- statuses and priorities -------------------------------------------------------------


def statuses(ctx: Context) -> None:
    rows = _all(ctx, "ticket_status", ["name", "state", "mode", "sort", "properties"])
    valid = {s.value for s in State}

    def build(row: Row) -> dict[str, Any]:
        state = (row["state"] or "").lower()
        if state not in valid:
            raise Skip(f"unknown state {row['state']!r}")
        props = _json(row["properties"])
        return {
            "name": row["name"][:64],
            "state": state,
            "description": str(props.get("description") or "")[:255],
            "allow_reopen": bool(props.get("allowreopen", True)),
            "sort": row["sort"] or 0,
        }

    upsert(ctx, "status", TicketStatus, rows, build, adopt=by_name(TicketStatus))
    # reopen statuses refer to other statuses: a second pass once all are mapped
    status_map = ctx.maps.load("status")
    updates = []
    for row in rows:
        target = _json(row["properties"]).get("reopenstatus")
        ours = status_map.get(str(row["id"]))
        theirs = status_map.get(str(target)) if target else None
        if ours and theirs:
            updates.append(TicketStatus(pk=ours.object_id, reopen_status_id=theirs.object_id))
    open_ids = set(
        TicketStatus.objects.filter(
            pk__in=[u.reopen_status_id for u in updates], state="open"
        ).values_list("pk", flat=True)
    )
    update_changed(
        TicketStatus, [u for u in updates if u.reopen_status_id in open_ids], ["reopen_status"]
    )


def priorities(ctx: Context) -> None:
    rows = _all(
        ctx,
        "ticket_priority",
        ["priority", "priority_desc", "priority_color", "priority_urgency", "ispublic"],
        key="priority_id",
    )

    def build(row: Row) -> dict[str, Any]:
        colour = row["priority_color"] or ""
        return {
            "name": (row["priority_desc"] or row["priority"])[:32],
            "urgency": max(int(row["priority_urgency"] or 1), 1),
            "colour": colour if COLOUR.match(colour) else "#888888",
            "is_public": bool(row["ispublic"]),
        }

    upsert(ctx, "priority", Priority, rows, build, key="priority_id", adopt=by_name(Priority))


# --- roles -------------------------------------------------------------------------------


def role_permissions(ctx: Context, raw: Any, *, agent_wide: bool) -> list[str]:
    """osTicket's permission JSON ({"ticket.create": 1, ...}) as our keys; keys we do not
    have are reported."""
    data = _json(raw)
    keys_on = [k for k, v in data.items() if v] if isinstance(data, dict) else []
    allowed = perms.AGENT_PERMISSIONS if agent_wide else perms.ROLE_PERMISSIONS
    other = perms.ROLE_PERMISSIONS if agent_wide else perms.AGENT_PERMISSIONS
    for key in keys_on:
        if key not in allowed and key not in other:
            ctx.report.warn(f"permission {key!r} has no equivalent here: dropped", key)
    return sorted(k for k in keys_on if k in allowed)


def roles(ctx: Context) -> None:
    rows = _all(ctx, "role", ["name", "permissions", "notes"])

    def build(row: Row) -> dict[str, Any]:
        if not row["name"]:
            raise Skip("a role without a name")
        return {
            "name": row["name"][:64],
            "permissions": role_permissions(ctx, row["permissions"], agent_wide=False),
            "notes": row["notes"] or "",
        }

    upsert(ctx, "role", Role, rows, build, adopt=by_name(Role))


# --- schedules and SLAs ----------------------------------------------------------------

WEEKDAYS = {"daily": range(7), "weekdays": range(5), "weekends": (5, 6)}


def _clock(value: dt.timedelta) -> dt.time:
    seconds = int(value.total_seconds()) % 86400
    return dt.time(seconds // 3600, seconds // 60 % 60)


def _hours(entry: Row) -> list[tuple[int, dt.time, dt.time]]:
    start, end = entry["starts_at"], entry["ends_at"]
    if not isinstance(start, dt.timedelta) or not isinstance(end, dt.timedelta):
        return []
    t0 = _clock(start)
    t1 = _clock(end) if end < dt.timedelta(days=1) else dt.time(0, 0)
    repeats = entry["repeats"]
    days: Any = WEEKDAYS.get(repeats)
    if repeats == "weekly" and entry["day"]:
        days = [(int(entry["day"]) - 1) % 7]  # osTicket: 1 = Monday (ISO-8601)
    return [(d, t0, t1) for d in days or ()]


def schedules(ctx: Context) -> None:
    """Business-hours schedules with their weekly hours; holiday schedules become the
    holidays of the business-hours schedules that name them (osTicket 1.17+)."""
    if not ctx.source.has("schedule"):
        return
    rows = _all(ctx, "schedule", ["flags", "name", "timezone", "description"])
    entries: dict[int, list[Row]] = {}
    for batch in ctx.source.batches(
        "schedule_entry",
        ["schedule_id", "name", "repeats", "starts_on", "starts_at", "ends_on", "ends_at", "day"],
        size=ctx.options.batch_size,
    ):
        for entry in batch:
            entries.setdefault(entry["schedule_id"], []).append(entry)
    business = [r for r in rows if int(r["flags"] or 0) & 0x1]
    for row in business:
        row["entries"] = repr(entries.get(row["id"], []))
        # osTicket keeps them as JSON in its settings: schedule.<id> / configuration
        stored = _json(config_values(ctx, f"schedule.{row['id']}").get("configuration"))
        held = stored.get("holidays") if isinstance(stored, dict) else None
        row["holidays"] = ",".join(str(h) for h in held or () if str(h).isdigit())

    def build(row: Row) -> dict[str, Any]:
        tz = row["timezone"] or config_values(ctx).get("default_timezone") or "UTC"
        return {
            "name": row["name"][:64],
            "timezone": tz if tz in ZONES else "UTC",
            "notes": row["description"] or "",
        }

    def after(written: list[tuple[Row, Any]]) -> None:
        ids = [o.pk for _, o in written]
        ScheduleHours.objects.filter(schedule_id__in=ids).delete()
        Holiday.objects.filter(schedule_id__in=ids).delete()
        hours, days_off = [], []
        for row, schedule in written:
            for entry in entries.get(row["id"], []):
                for weekday, t0, t1 in _hours(entry):
                    hours.append(
                        ScheduleHours(
                            schedule=schedule, weekday=weekday, start_time=t0, end_time=t1
                        )
                    )
            for hid in filter(None, str(row["holidays"]).split(",")):
                for entry in entries.get(int(hid) if hid.strip().isdigit() else 0, []):
                    days_off.extend(_holidays(schedule, entry, ctx))
        ScheduleHours.objects.bulk_create(hours)
        Holiday.objects.bulk_create(days_off)

    upsert(ctx, "schedule", Schedule, business, build, adopt=by_name(Schedule), after=after)


def _holidays(schedule: Schedule, entry: Row, ctx: Context) -> list[Holiday]:
    start, end = entry["starts_on"], entry["ends_on"] or entry["starts_on"]
    if not isinstance(start, dt.date):
        return []
    if not isinstance(end, dt.date) or end < start:
        end = start
    years = [0]
    if entry["repeats"] == "yearly":  # ours are dated: this year and the next five
        years = [y - start.year for y in range(max(start.year, ctx.now.year), ctx.now.year + 6)]
    out = []
    for shift in years:
        try:
            s, e = start.replace(year=start.year + shift), end.replace(year=end.year + shift)
        except ValueError:  # 29 February
            continue
        out.append(Holiday(schedule=schedule, name=entry["name"][:64], start_date=s, end_date=e))
    if entry["repeats"] not in ("never", "yearly"):
        ctx.report.warn(f"holiday repeating {entry['repeats']!r}: imported once", entry["id"])
    return out


def slas(ctx: Context) -> None:
    columns = ["flags", "grace_period", "name", "notes"]
    with_schedule = ctx.source.has("sla", "schedule_id")
    rows = _all(ctx, "sla", [*columns, "schedule_id"] if with_schedule else columns)
    schedule_map = ctx.maps.load("schedule")

    def build(row: Row) -> dict[str, Any]:
        flags = int(row["flags"] or 0)
        schedule = schedule_map.get(str(row.get("schedule_id") or 0))
        return {
            "name": row["name"][:64],
            "grace_hours": int(row["grace_period"] or 0),
            "schedule_id": schedule.object_id if schedule else None,
            "is_active": bool(flags & 0x1),
            "alerts_enabled": not flags & 0x4,
            "is_transient": bool(flags & 0x8),
            "notes": row["notes"] or "",
        }

    upsert(ctx, "sla", SLA, rows, build, adopt=by_name(SLA))


# --- departments -----------------------------------------------------------------------


def departments(ctx: Context) -> None:
    """Departments, then their parents (a second pass: a parent may come later). The
    manager is set once agents are imported (`department_managers`)."""
    rows = _all(
        ctx,
        "department",
        ["pid", "sla_id", "email_id", "manager_id", "flags", "name", "signature", "ispublic"],
    )
    legacy = not ctx.source.has("thread_event", "event_id")  # 1.10: no active flag yet
    sla_map = ctx.maps.load("sla")
    emails = _email_addresses(ctx)

    def build(row: Row) -> dict[str, Any]:
        flags = int(row["flags"] or 0)
        sla = sla_map.get(str(row["sla_id"]))
        return {
            "name": row["name"][:128],
            "sla_id": sla.object_id if sla else None,
            "email": emails.get(row["email_id"], ""),
            "assign_members_only": bool(flags & 0x1),
            "claim_on_reply": not flags & 0x2,
            "is_active": legacy or bool(flags & 0x4),
            "is_public": bool(row["ispublic"]),
            "signature": row["signature"] or "",
        }

    upsert(ctx, "department", Department, rows, build, adopt=by_name(Department))
    dept_map = ctx.maps.load("department")
    parents = []
    for row in rows:
        ours, parent = dept_map.get(str(row["id"])), dept_map.get(str(row["pid"] or 0))
        if ours is not None:
            parents.append(
                Department(pk=ours.object_id, parent_id=parent.object_id if parent else None)
            )
    update_changed(Department, parents, ["parent"])


def _email_addresses(ctx: Context) -> dict[int, str]:
    if "emails" not in ctx.cache:
        rows = (
            ctx.source.query(f"SELECT email_id, email FROM {ctx.source.table('email')}")
            if ctx.source.has("email")
            else []
        )
        ctx.cache["emails"] = {r["email_id"]: (r["email"] or "").strip().lower() for r in rows}
    emails: dict[int, str] = ctx.cache["emails"]
    return emails


def department_managers(ctx: Context) -> None:
    rows = _all(ctx, "department", ["manager_id"])
    dept_map, agent_map = ctx.maps.load("department"), ctx.maps.load("agent")
    updates = []
    for row in rows:
        ours = dept_map.get(str(row["id"]))
        manager = agent_map.get(str(row["manager_id"] or 0))
        if ours is not None:
            updates.append(
                Department(pk=ours.object_id, manager_id=manager.object_id if manager else None)
            )
    with transaction.atomic():
        update_changed(Department, updates, ["manager"])


# --- custom forms ------------------------------------------------------------------------

FIELD_KINDS = {
    "text": CustomField.Kind.TEXT,
    "memo": CustomField.Kind.TEXTAREA,
    "thread": CustomField.Kind.TEXTAREA,
    "choices": CustomField.Kind.CHOICE,
    "bool": CustomField.Kind.CHECKBOX,
    "datetime": CustomField.Kind.DATE,
    "phone": CustomField.Kind.PHONE,
}
BUILT_IN = {"subject", "message", "priority", "name", "email"}  # ticket and user forms
SKIPPED_TYPES = {"break", "info", "files"}


def forms(ctx: Context) -> None:
    """The ticket details form's own fields and the generic forms topics ask for become
    custom forms and fields; osTicket's built-in fields (subject, message, priority) are
    columns of ours instead."""
    rows = [r for r in _all(ctx, "form", ["type", "title", "name", "flags"]) if r["type"] in "TGA"]
    fields_by_form: dict[int, list[Row]] = {}
    for batch in ctx.source.batches(
        "form_field",
        ["form_id", "flags", "type", "label", "name", "configuration", "sort", "hint"],
        size=ctx.options.batch_size,
    ):
        for f in batch:
            fields_by_form.setdefault(f["form_id"], []).append(f)
    for row in rows:
        row["fields"] = repr(fields_by_form.get(row["id"], []))

    def build(row: Row) -> dict[str, Any]:
        return {
            "name": (row["title"] or row["name"] or f"Form {row['id']}")[:128],
            "scope": CustomForm.Scope.TASK if row["type"] == "A" else CustomForm.Scope.TICKET,
        }

    def after(written: list[tuple[Row, Any]]) -> None:
        new_fields, mapped = [], []
        for row, form in written:
            existing = {f.name: f for f in CustomField.objects.filter(form=form)}
            for f in fields_by_form.get(row["id"], []):
                spec = _field(ctx, f)
                if spec is None:
                    continue
                obj = existing.get(spec["name"]) or CustomField(form=form, **spec)
                for name, value in spec.items():
                    setattr(obj, name, value)
                if obj.pk is None:
                    new_fields.append(obj)
                else:
                    obj.save()
                mapped.append((f, obj))
        CustomField.objects.bulk_create(new_fields)
        ctx.maps.record("field", CustomField, [(f["id"], o.pk, "") for f, o in mapped])

    upsert(ctx, "form", CustomForm, rows, build, adopt=by_name(CustomForm), after=after)


def _field(ctx: Context, f: Row) -> dict[str, Any] | None:
    if (f["name"] or "") in BUILT_IN or f["type"] in SKIPPED_TYPES:
        return None
    kind = FIELD_KINDS.get(f["type"])
    config = _json(f["configuration"])
    choices = ""
    if f["type"] == "choices":
        raw = config.get("choices") or ""
        options = [line.split(":", 1)[-1].strip() for line in str(raw).splitlines()]
        choices = "\n".join(o for o in options if o)
        if not choices:
            kind = CustomField.Kind.TEXT
    if kind is None:
        ctx.report.warn(f"custom field type {f['type']!r} imported as short text", f["id"])
        kind = CustomField.Kind.TEXT
    flags = int(f["flags"] or 0)
    return {
        "name": re.sub(r"[^a-z0-9_-]+", "_", (f["name"] or f"field_{f['id']}").lower())[:64]
        or f"field_{f['id']}",
        "label": (f["label"] or f["name"] or "")[:128],
        "kind": kind,
        "choices": choices,
        "help_text": (f["hint"] or "")[:255],
        "required": bool(flags & 0x1000),  # osTicket FLAG_CLIENT_REQUIRED
        "client_visible": bool(flags & 0x100) or not flags,  # FLAG_CLIENT_VIEW
        "sort": int(f["sort"] or 0),
    }


# --- help topics -------------------------------------------------------------------------


def topics(ctx: Context) -> None:
    columns = [
        "topic_pid",
        "ispublic",
        "noautoresp",
        "status_id",
        "priority_id",
        "dept_id",
        "staff_id",
        "team_id",
        "sla_id",
        "sort",
        "topic",
        "notes",
    ]
    flag_column = "flags" if ctx.source.has("help_topic", "flags") else "isactive"
    rows = _all(ctx, "help_topic", [*columns, flag_column], key="topic_id")
    maps = {
        k: ctx.maps.load(k) for k in ("department", "priority", "sla", "status", "agent", "team")
    }

    def ref(kind: str, value: object) -> int | None:
        found = maps[kind].get(str(value or 0))
        return found.object_id if found else None

    def build(row: Row) -> dict[str, Any]:
        value = int(row[flag_column] or 0)
        active = bool(value & 0x2) if flag_column == "flags" else bool(value)
        return {
            "name": row["topic"][:128],
            "is_public": bool(row["ispublic"]),
            "is_active": active,
            "department_id": ref("department", row["dept_id"]),
            "priority_id": ref("priority", row["priority_id"]),
            "sla_id": ref("sla", row["sla_id"]),
            "status_id": ref("status", row["status_id"]),
            "assign_agent_id": ref("agent", row["staff_id"]),
            "assign_team_id": ref("team", row["team_id"]),
            "disable_autoresponse": bool(row["noautoresp"]),
            "sort": int(row["sort"] or 0),
            "notes": row["notes"] or "",
        }

    def adopt(values: dict[str, Any]) -> Any:
        return HelpTopic.objects.filter(parent=None, name__iexact=values["name"]).first()

    upsert(ctx, "topic", HelpTopic, rows, build, key="topic_id", adopt=adopt)
    topic_map = ctx.maps.load("topic")
    parents = []
    for row in rows:
        ours, parent = (
            topic_map.get(str(row["topic_id"])),
            topic_map.get(str(row["topic_pid"] or 0)),
        )
        if ours is not None:
            parents.append(
                HelpTopic(pk=ours.object_id, parent_id=parent.object_id if parent else None)
            )
    update_changed(HelpTopic, parents, ["parent"])
    _topic_forms(ctx)


def _topic_forms(ctx: Context) -> None:
    if not ctx.source.has("help_topic_form"):
        return
    rows = _all(ctx, "help_topic_form", ["topic_id", "form_id"])
    topic_map, form_map = ctx.maps.load("topic"), ctx.maps.load("form")
    through = CustomForm.topics.through
    pairs = {
        (form_map[str(r["form_id"])].object_id, topic_map[str(r["topic_id"])].object_id)
        for r in rows
        if str(r["form_id"]) in form_map and str(r["topic_id"]) in topic_map
    }
    existing = set(through.objects.values_list("customform_id", "helptopic_id"))
    through.objects.bulk_create(
        [through(customform_id=f, helptopic_id=t) for f, t in pairs - existing]
    )


# --- canned responses -------------------------------------------------------------------


def canned(ctx: Context) -> None:
    rows = _all(
        ctx,
        "canned_response",
        ["dept_id", "isenabled", "title", "response", "notes"],
        key="canned_id",
    )
    dept_map = ctx.maps.load("department")
    attached = files.attachments_of(ctx, "C", [r["canned_id"] for r in rows])
    for row in rows:
        row["files"] = repr(attached.get(row["canned_id"], []))

    def build(row: Row) -> dict[str, Any]:
        dept = dept_map.get(str(row["dept_id"] or 0))
        return {
            "title": row["title"][:255],
            "body_html": sanitize_html(row["response"] or ""),
            "department_id": dept.object_id if dept else None,
            "is_active": bool(row["isenabled"]),
            "notes": row["notes"] or "",
        }

    stored = files.store(ctx, [a for r in rows for a in attached.get(r["canned_id"], [])])

    def after(written: list[tuple[Row, Any]]) -> None:
        CannedAttachment.objects.filter(canned__in=[o for _, o in written]).delete()
        CannedAttachment.objects.bulk_create(
            CannedAttachment(canned=o, file=stored[a.file_id], filename=a.name, content_type=a.type)
            for r, o in written
            for a in attached.get(r["canned_id"], [])
            if a.file_id in stored
        )

    upsert(ctx, "canned", CannedResponse, rows, build, key="canned_id", after=after)


# --- filters and the ban list -----------------------------------------------------------

RULE_FIELDS = {
    "email": FilterRule.Field.EMAIL,
    "name": FilterRule.Field.NAME,
    "subject": FilterRule.Field.SUBJECT,
    "body": FilterRule.Field.BODY,
    "reply-to": FilterRule.Field.REPLY_TO,
    "reply-to-name": FilterRule.Field.REPLY_TO_NAME,
    "topicId": FilterRule.Field.TOPIC,
}
OPERATORS = {"dn_contain": FilterRule.Operator.NOT_CONTAINS}
ACTIONS = {
    "reject": (FilterAction.Kind.REJECT, None, None),
    "noresp": (FilterAction.Kind.NO_AUTORESPONSE, None, None),
    "canned": (FilterAction.Kind.CANNED, "canned_id", "canned"),
    "dept": (FilterAction.Kind.DEPARTMENT, "dept_id", "department"),
    "pri": (FilterAction.Kind.PRIORITY, "priority", "priority"),
    "sla": (FilterAction.Kind.SLA, "sla_id", "sla"),
    "team": (FilterAction.Kind.TEAM, "team_id", "team"),
    "agent": (FilterAction.Kind.AGENT, "staff_id", "agent"),
    "topic": (FilterAction.Kind.TOPIC, "topic_id", "topic"),
    "status": (FilterAction.Kind.STATUS, "status_id", "status"),
}
CHANNELS = {"Any": "any", "Web": "web", "Email": "email", "API": "api"}
BAN_LIST = "system ban list"


def filters(ctx: Context) -> None:
    rows = _all(
        ctx,
        "filter",
        [
            "execorder",
            "isactive",
            "match_all_rules",
            "stop_onmatch",
            "target",
            "email_id",
            "name",
            "notes",
        ],
    )
    rules: dict[int, list[Row]] = {}
    for batch in ctx.source.batches(
        "filter_rule", ["filter_id", "what", "how", "val", "isactive"], size=ctx.options.batch_size
    ):
        for rule in batch:
            rules.setdefault(rule["filter_id"], []).append(rule)
    actions: dict[int, list[Row]] = {}
    for batch in ctx.source.batches(
        "filter_action", ["filter_id", "sort", "type", "configuration"], size=ctx.options.batch_size
    ):
        for action in batch:
            actions.setdefault(action["filter_id"], []).append(action)
    banned = [r for r in rows if (r["name"] or "").strip().lower() == BAN_LIST]
    ordinary = [r for r in rows if r not in banned]
    for row in ordinary:
        row["rules"], row["actions"] = (
            repr(rules.get(row["id"], [])),
            repr(actions.get(row["id"], [])),
        )
    _ban_list(ctx, [rule for r in banned for rule in rules.get(r["id"], [])])

    def build(row: Row) -> dict[str, Any]:
        if row["email_id"]:
            ctx.report.warn("filter bound to one mailbox: it now runs for all email", row["id"])
        return {
            "name": (row["name"] or f"Filter {row['id']}")[:64],
            "sort": int(row["execorder"] or 99),
            "is_active": bool(row["isactive"]),
            "channel": CHANNELS.get(row["target"], "any"),
            "match_all": bool(row["match_all_rules"]),
            "stop_on_match": bool(row["stop_onmatch"]),
            "notes": row["notes"] or "",
        }

    def after(written: list[tuple[Row, Any]]) -> None:
        FilterRule.objects.filter(filter__in=[o for _, o in written]).delete()
        FilterAction.objects.filter(filter__in=[o for _, o in written]).delete()
        new_rules, new_actions = [], []
        for row, obj in written:
            for rule in rules.get(row["id"], []):
                built = _rule(ctx, obj, rule)
                if built is not None:
                    new_rules.append(built)
            for action in actions.get(row["id"], []):
                built_action = _action(ctx, obj, action)
                if built_action is not None:
                    new_actions.append(built_action)
        FilterRule.objects.bulk_create(new_rules)
        FilterAction.objects.bulk_create(new_actions)

    upsert(ctx, "filter", TicketFilter, ordinary, build, adopt=by_name(TicketFilter), after=after)


def _rule(ctx: Context, obj: TicketFilter, rule: Row) -> FilterRule | None:
    what, value = rule["what"] or "", rule["val"] or ""
    name = ""
    field = RULE_FIELDS.get(what)
    if what == "topicId":
        topic = ctx.maps.one("topic", value)
        value = HelpTopic.objects.filter(pk=topic).values_list("name", flat=True).first() or value
    elif what == "addressee":
        field, name = FilterRule.Field.HEADER, "to"
    elif what.startswith("field."):
        custom = ctx.maps.one("field", what.split(".")[1])
        if custom is not None:
            field = FilterRule.Field.CUSTOM
            name = (
                CustomField.objects.filter(pk=custom).values_list("name", flat=True).first() or ""
            )
    if field is None:
        ctx.report.warn(f"filter rule on {what!r} has no equivalent: dropped", rule["id"])
        return None
    if not rule["isactive"]:
        ctx.report.warn("inactive filter rule dropped (ours have no such switch)", rule["id"])
        return None
    operator = OPERATORS.get(rule["how"], rule["how"])
    return FilterRule(filter=obj, field=field, name=name, operator=operator, value=value[:255])


def _action(ctx: Context, obj: TicketFilter, action: Row) -> FilterAction | None:
    spec = ACTIONS.get(action["type"])
    if spec is None:
        ctx.report.warn(
            f"filter action {action['type']!r} has no equivalent: dropped", action["id"]
        )
        return None
    kind, key, target_kind = spec
    built = FilterAction(filter=obj, kind=kind, sort=int(action["sort"] or 0))
    if key is not None and target_kind is not None:
        target = ctx.maps.one(target_kind, _json(action["configuration"]).get(key))
        if target is None:
            ctx.report.warn(
                f"filter action {action['type']!r} names an unknown target", action["id"]
            )
            return None
        setattr(built, f"{FilterAction.REQUIRED[kind]}_id", target)
    return built


def _ban_list(ctx: Context, rules: list[Row]) -> None:
    def build(row: Row) -> dict[str, Any]:
        address = (row["val"] or "").strip().lower()
        if "@" not in address:
            raise Skip("a ban list entry without @")
        if row["how"] != "equal":
            ctx.report.warn("ban list entry that is not an exact address: kept as given", row["id"])
        return {"address": address[:254]}

    upsert(ctx, "banned", BannedEmail, rules, build, adopt=by_name(BannedEmail, "address"))


# --- settings: numbers and defaults -------------------------------------------------------


def settings(ctx: Context) -> None:
    """Ticket and task numbering (mask, random or sequence, the next value past every
    imported number) and the system defaults."""
    core = config_values(ctx)
    settings_row = HelpdeskSettings.load()
    before = {
        f.attname: getattr(settings_row, f.attname) for f in settings_row._meta.concrete_fields
    }
    changed = []
    for mask_key, mode_key, seq_key, row_pk, prefix in (
        ("ticket_number_format", "number_mode", "ticket_sequence_id", TICKETS, ""),
        ("task_number_format", "task_number_mode", "task_sequence_id", TASKS, "task_"),
    ):
        mask = core.get(mask_key) or ("######" if not prefix else "#")
        if "#" in mask:
            setattr(settings_row, f"{prefix}number_format", mask[:24])
            changed.append(f"{prefix}number_format")
        sequence_id = int(core.get(seq_key) or 0)
        mode = (
            HelpdeskSettings.NumberMode.SEQUENCE
            if sequence_id
            else HelpdeskSettings.NumberMode.RANDOM
        )
        setattr(settings_row, mode_key, mode)
        changed.append(mode_key)
        if sequence_id:
            rows = ctx.source.query(
                f"SELECT next FROM {ctx.source.table('sequence')} WHERE id = %s",
                [sequence_id],
            )
            if rows:
                # only ever forward: numbers handed out here since a first run stay taken
                wanted = int(rows[0]["next"])
                TicketSequence.objects.get_or_create(pk=row_pk, defaults={"next_value": wanted})
                TicketSequence.objects.filter(pk=row_pk, next_value__lt=wanted).update(
                    next_value=wanted
                )
    defaults = {
        "default_department": ("department", core.get("default_dept_id")),
        "default_sla": ("sla", core.get("default_sla_id")),
        "default_topic": ("topic", core.get("default_help_topic")),
        "default_priority": ("priority", core.get("default_priority_id")),
        "default_status": ("status", core.get("default_ticket_status_id")),
    }
    for field_name, (kind, value) in defaults.items():
        ours = ctx.maps.one(kind, value) if value else None
        if ours is not None:
            setattr(settings_row, f"{field_name}_id", ours)
            changed.append(field_name)
    if core.get("max_open_tickets", "").isdigit():
        settings_row.max_open_tickets = int(core["max_open_tickets"])
        changed.append("max_open_tickets")
    if core.get("autolock_minutes", "").isdigit():
        settings_row.lock_minutes = int(core["autolock_minutes"])
        changed.append("lock_minutes")
    if "auto_refer_closed" in core:
        settings_row.auto_refer_closed = core["auto_refer_closed"] not in ("", "0")
        changed.append("auto_refer_closed")
    if "require_topic_to_close" in core:
        settings_row.require_topic_to_close = core["require_topic_to_close"] not in ("", "0")
        changed.append("require_topic_to_close")
    if settings_row.default_status_id and settings_row.default_status.state != State.OPEN:
        settings_row.default_status_id = None
    fields = [
        name
        for name in dict.fromkeys(changed)
        if getattr(settings_row, settings_row._meta.get_field(name).attname)
        != before[settings_row._meta.get_field(name).attname]
    ]
    if not fields:  # a later run with nothing new writes nothing
        ctx.report.counts["settings"].unchanged += 1
        return
    with transaction.atomic():
        settings_row.save(update_fields=[*fields, "config_version"])
    ctx.report.counts["settings"].updated += 1


def sequences_after_tickets(ctx: Context, kind: str, numbers: list[str]) -> None:
    """Move a sequence past the numbers imported, so new ones never collide."""
    row_pk = TICKETS if kind == "ticket" else TASKS
    digits = [int(re.sub(r"\D", "", n)) for n in numbers if re.sub(r"\D", "", n)]
    if not digits:
        return
    seq, _ = TicketSequence.objects.get_or_create(pk=row_pk)
    if seq.next_value <= max(digits):
        TicketSequence.objects.filter(pk=row_pk, next_value__lte=max(digits)).update(
            next_value=max(digits) + 1
        )


# --- email templates ---------------------------------------------------------------------

VARIABLE = re.compile(r"%\{([a-zA-Z0-9_.]+)\}")


def email_templates(ctx: Context) -> None:
    """The default template set's templates whose code we have, with osTicket's
    `%{ticket.number}` variables turned into ours (`{{ ticket.number }}`); one that
    does not pass our template check is reported and left as it is here."""
    from helpdesk.mail.templates import derive_text, template_errors

    core = config_values(ctx)
    tpl_id = core.get("default_template_id") or "1"
    rows = [
        r
        for r in _all(ctx, "email_template", ["tpl_id", "code_name", "subject", "body"])
        if str(r["tpl_id"]) == str(tpl_id)
    ]
    codes = {c.value for c in EmailTemplate.Code}
    default_set, _ = EmailTemplateSet.objects.get_or_create(
        is_default=True, defaults={"name": "Default"}
    )

    def build(row: Row) -> dict[str, Any]:
        code = row["code_name"]
        if code not in codes:
            raise Skip(f"no template {code!r} here")
        subject = VARIABLE.sub(r"{{ \1 }}", row["subject"] or "")[:255]
        body_html = sanitize_html(VARIABLE.sub(r"{{ \1 }}", row["body"] or ""))
        body_text = derive_text(body_html)  # bulk writes skip EmailTemplate.save
        errors = template_errors(subject, body_text, body_html, code=code)
        if errors:
            raise Skip(
                "its variables do not translate: "
                + "; ".join(
                    str(e) for v in errors.values() for e in (v if isinstance(v, list) else [v])
                )[:200]
            )
        return {
            "template_set": default_set,
            "code": code,
            "subject": subject,
            "body_html": body_html,
            "body_text": body_text,
        }

    upsert(
        ctx,
        "email template",
        EmailTemplate,
        rows,
        build,
        adopt=lambda v: EmailTemplate.objects.filter(
            template_set=v["template_set"], code=v["code"]
        ).first(),
    )


# --- mailboxes ---------------------------------------------------------------------------


def mailboxes(ctx: Context) -> None:
    """Addresses with their fetching server; osTicket keeps passwords encrypted with its
    own secret, so each mailbox comes over disabled, its password to be entered again."""
    if not ctx.source.has("email"):
        return
    emails = {
        r["email_id"]: r
        for r in _all(
            ctx,
            "email",
            ["noautoresp", "priority_id", "dept_id", "topic_id", "email", "name"],
            key="email_id",
        )
    }
    servers: dict[int, Row] = {}
    if ctx.source.has("email_account"):  # 1.17+
        for r in _all(
            ctx,
            "email_account",
            [
                "email_id",
                "type",
                "active",
                "host",
                "port",
                "folder",
                "protocol",
                "encryption",
                "fetchfreq",
                "fetchmax",
                "postfetch",
                "archivefolder",
            ],
        ):
            if r["type"] == "mailbox":
                servers[r["email_id"]] = r
    elif ctx.source.has("email", "mail_host"):  # 1.10 to 1.16
        for r in _all(
            ctx,
            "email",
            [
                "mail_active",
                "mail_host",
                "mail_protocol",
                "mail_encryption",
                "mail_port",
                "mail_folder",
                "mail_fetchfreq",
                "mail_fetchmax",
                "mail_archivefolder",
                "mail_delete",
                "userid",
            ],
            key="email_id",
        ):
            servers[r["email_id"]] = {
                "active": r["mail_active"],
                "host": r["mail_host"],
                "port": r["mail_port"],
                "protocol": r["mail_protocol"],
                "encryption": r["mail_encryption"],
                "folder": r["mail_folder"],
                "fetchfreq": r["mail_fetchfreq"],
                "fetchmax": r["mail_fetchmax"],
                "archivefolder": r["mail_archivefolder"],
                "postfetch": "delete"
                if r["mail_delete"]
                else ("archive" if r["mail_archivefolder"] else "nothing"),
                "userid": r["userid"],
            }
    rows = [
        dict(e, **{f"server_{k}": v for k, v in servers[i].items()})
        for i, e in emails.items()
        if i in servers and servers[i].get("host")
    ]
    maps = {k: ctx.maps.load(k) for k in ("department", "topic", "priority")}

    def build(row: Row) -> dict[str, Any]:
        address = (row["email"] or "").strip().lower()
        if "@" not in address:
            raise Skip("a mailbox without an address")
        protocol = (
            Mailbox.Protocol.POP3 if row["server_protocol"] == "POP" else Mailbox.Protocol.IMAP
        )
        after_import = {
            "delete": Mailbox.AfterImport.DELETE,
            "archive": Mailbox.AfterImport.MOVE,
        }.get(row["server_postfetch"], Mailbox.AfterImport.MARK_SEEN)
        if protocol == Mailbox.Protocol.POP3 and after_import == Mailbox.AfterImport.MOVE:
            after_import = Mailbox.AfterImport.MARK_SEEN
        ctx.report.warn(
            "mailbox password not readable (osTicket encrypts it): enter it again "
            "and enable the mailbox",
            address,
        )

        def ref(kind: str, value: object) -> int | None:
            found = maps[kind].get(str(value or 0))
            return found.object_id if found else None

        return {
            "name": (row["name"] or address)[:128],
            "address": address,
            "department_id": ref("department", row["dept_id"]),
            "topic_id": ref("topic", row["topic_id"]),
            "priority_id": ref("priority", row["priority_id"]),
            "protocol": protocol,
            "host": row["server_host"][:255],
            "port": int(row["server_port"]) if row["server_port"] else None,
            "security": Mailbox.Security.NONE
            if row["server_encryption"] == "NONE"
            else Mailbox.Security.SSL,
            "username": str(row.get("server_userid") or address)[:255],
            "folder": row["server_folder"] or "INBOX",
            "archive_folder": row["server_archivefolder"] or "Archive",
            "after_import": after_import,
            "max_per_fetch": int(row["server_fetchmax"] or 30),
            "fetch_interval_minutes": int(row["server_fetchfreq"] or 5),
            "no_autoresponse": bool(row["noautoresp"]),
            "is_active": False,
        }

    upsert(
        ctx,
        "mailbox",
        Mailbox,
        rows,
        build,
        key="email_id",
        adopt=lambda v: Mailbox.objects.filter(address__iexact=v["address"]).first(),
        update_fields=[
            "name",
            "department",
            "topic",
            "priority",
            "protocol",
            "host",
            "port",
            "security",
            "folder",
            "archive_folder",
            "after_import",
            "max_per_fetch",
            "fetch_interval_minutes",
            "no_autoresponse",
        ],
    )


# --- API keys ----------------------------------------------------------------------------


def api_keys(ctx: Context) -> None:
    """Keys keep their value (only its hash is stored here), their address and
    capabilities. osTicket's keys have no department scope: ours write every imported
    department, so /api/tickets.json goes on opening tickets wherever it routed them."""
    rows = _all(
        ctx,
        "api_key",
        ["isactive", "ipaddr", "apikey", "can_create_tickets", "can_exec_cron", "notes"],
    )

    def build(row: Row) -> dict[str, Any]:
        key = (row["apikey"] or "").strip()
        if not key:
            raise Skip("a key without a value")
        address = (row["ipaddr"] or "").strip()
        try:
            network = str(ipaddress.ip_network(address, strict=False))
        except ValueError:
            raise Skip(f"its address {address!r} is not an IP address") from None
        return {
            "name": f"osTicket key {row['id']} ({address})"[:128],
            "key_hash": keys.stored_hash(key),
            "key_prefix": key[:8],
            "is_active": bool(row["isactive"]),
            "allowed_ips": [network],
            "can_create_tickets": bool(row["can_create_tickets"]),
            "can_exec_cron": bool(row["can_exec_cron"]),
            "all_departments": True,
            "notes": row["notes"] or "",
        }

    upsert(
        ctx,
        "api key",
        ApiKey,
        rows,
        build,
        adopt=lambda v: ApiKey.objects.filter(key_hash=v["key_hash"]).first(),
    )
