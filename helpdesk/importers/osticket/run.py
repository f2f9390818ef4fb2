"""One import run: the kinds in dependency order, the report, the dry run.

Order: configuration that people need (statuses, priorities, roles, schedules, SLAs,
departments), agents and teams, the rest of the configuration (custom forms, topics,
canned responses, filters, numbering, templates, mailboxes, API keys), organizations
and users, tickets, tasks, threads, the knowledge base. `--only` runs some kinds; the
others must have been imported by an earlier run (what they need is looked up in the
mapping table).

A dry run is the same run inside one transaction that is rolled back at the end, so it
validates everything the database would refuse; file contents are read and hashed but
never written.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import transaction

from helpdesk.kb.models import Faq
from threads.models import Attachment, Collaborator, Referral, ThreadEntry, ThreadEvent

from . import config, kb, parallel, people, threads, tickets
from .base import KINDS, Context, Mapper, Options, Progress, Report, keep_times
from .source import Source, zone

STEPS: tuple[tuple[str, str, Callable[[Context], None]], ...] = (
    ("config", "statuses", config.statuses),
    ("config", "priorities", config.priorities),
    ("config", "roles", config.roles),
    ("config", "schedules", config.schedules),
    ("config", "SLAs", config.slas),
    ("config", "departments", config.departments),
    ("people", "agents", people.agents),
    ("people", "teams", people.teams),
    ("people", "department managers", config.department_managers),
    ("config", "custom forms", config.forms),
    ("config", "help topics", config.topics),
    ("config", "canned responses", config.canned),
    ("config", "filters and ban list", config.filters),
    ("config", "numbering and defaults", config.settings),
    ("config", "email templates", config.email_templates),
    ("config", "mailboxes", config.mailboxes),
    ("config", "API keys", config.api_keys),
    ("people", "organizations", people.organizations),
    ("people", "users", people.users),
    ("tickets", "tickets", tickets.tickets),
    ("tasks", "tasks", tickets.tasks),
    ("threads", "thread entries", threads.entries),
    ("kb", "FAQ categories", kb.categories),
    ("kb", "FAQs", kb.faqs),
)

# models whose times the importer sets itself (their auto_now/auto_now_add is off meanwhile)
TIMED = (ThreadEntry, ThreadEvent, Collaborator, Referral, Attachment, Faq)


class DryRunDone(Exception):
    """Unwinds the dry run's transaction."""


# The tables each kind reads, checked before anything is written.
TABLES = {
    "config": (
        "config",
        "ticket_status",
        "ticket_priority",
        "role",
        "sla",
        "department",
        "form",
        "form_field",
        "help_topic",
        "canned_response",
        "filter",
        "filter_rule",
        "filter_action",
        "email_template",
        "api_key",
    ),
    "people": (
        "staff",
        "staff_dept_access",
        "team",
        "team_member",
        "organization",
        "user",
        "user_email",
        "user_account",
    ),
    "tickets": ("ticket", "thread", "form_entry", "form_entry_values", "form_field"),
    "tasks": ("task", "thread"),
    "threads": ("thread_entry", "thread_entry_email", "attachment", "file", "file_chunk"),
    "kb": ("faq_category", "faq"),
}


def preflight(source: Source, only: frozenset[str]) -> None:
    """A missing table is named before anything is written (columns: before each read)."""
    for kind in KINDS:
        for table in TABLES[kind] if kind in only else ():
            source.require(table)
    if "tickets" in only:
        source.require("ticket", ["ticket_id", "number", "user_id", "status_id", "dept_id"])


def run(source: Source, options: Options, progress: Progress) -> Report:
    """Import what `options` asks for from an open `source`; returns the report."""
    preflight(source, options.only)
    core = _db_timezone(source)
    source.tz = zone(core)
    ctx = Context(source=source, options=options, report=Report(), maps=Mapper(), progress=progress)
    pool = parallel.pool(options)
    if pool is not None:
        ctx.cache["pool"] = pool
    try:
        with keep_times(*TIMED):
            if options.dry_run:
                try:
                    with transaction.atomic():
                        _steps(ctx)
                        raise DryRunDone
                except DryRunDone:
                    pass
            else:
                _steps(ctx)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if source.legacy_text[0]:
        ctx.report.warn("text values were not UTF-8: read as Windows-1252", source.legacy_text[0])
    return ctx.report


def _steps(ctx: Context) -> None:
    for kind, name, step in STEPS:
        if kind in ctx.options.only:
            started = time.monotonic()
            step(ctx)
            ctx.report.seconds[name] = time.monotonic() - started


def _db_timezone(source: Source) -> str:
    if source.has("config"):
        rows = source.query(
            f"SELECT value FROM {source.table('config')}"
            " WHERE namespace = 'core' AND `key` = 'db_timezone'"
        )
        if rows and rows[0]["value"]:
            return str(rows[0]["value"])
    rows = source.query("SELECT @@session.time_zone AS tz, @@system_time_zone AS sys")
    tz = rows[0]["tz"] if rows else ""
    return str(rows[0]["sys"] if tz == "SYSTEM" else tz)
