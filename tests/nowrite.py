"""`nothing_written()`: a refused action changes nothing.

The project's rule: bad input gets a clear error and changes nothing, never half a write
(CONVENTIONS 16: "a refused action also asserts that nothing happened"). A refusal test
wraps the refused call::

    with nothing_written():
        response = client.post(...)
    assert response.status_code == 403

    with nothing_written(), pytest.raises(PermissionRefused):
        services.ticket_assign(...)

and the block fails unless, afterwards,

- every table of the project's apps (and the admin's log) holds the same rows with the
  same values: no row added, removed or changed (tickets, thread entries, events,
  attachments and stored files, outbox tasks, outbound mail, webhook deliveries, users,
  the many-to-many tables...); the test databases are small, so whole rows are compared;
- no mail was sent (`mail.outbox`) and no after-commit callback was queued (a refused
  change announces nothing: no signal, no webhook, no task);
- no file was added to or removed from MEDIA_ROOT.

A settings row created with its defaults by its first `load()` (accounts.singleton) is
not a write: reading the settings does that on any path.

What a refusal may legitimately write is named, so it stays visible in the test:
`only_new=("helpdesk_mail.inboundmessage",)` lets rows be added to a table, not changed
or removed (a mail parked with its reason: the test then checks `watch.added[table]`),
`orphans=True` lets files be stored (a StoredFile row and its file): attachments are
stored before the transaction that may refuse them, and a refused one is an orphan the
purge_orphan_files job removes (docs/architecture.md, "Slow input/output"),
`ignore=("helpdesk_api.idempotencyrecord",)` skips a table,
`ignore=("helpdesk_portal.accesslink.last_used_at",)` a column. A few columns are
bookkeeping of authentication itself and always skipped (`BOOKKEEPING`).

An exception escaping the block is not swallowed and nothing is compared: put
`pytest.raises` inside (`with nothing_written(), pytest.raises(X):`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import mail
from django.db import connection, models

from accounts.singleton import SINGLETON_PK, SingletonSettings

# The apps whose tables are compared: ours, and the admin's change log (its audit).
APPS = (
    "accounts",
    "routing",
    "threads",
    "tickets",
    "helpdesk_api",
    "helpdesk_outbox",
    "helpdesk_webhooks",
    "helpdesk_mail",
    "helpdesk_kb",
    "helpdesk_panel",
    "helpdesk_portal",
    "admin",
)

# Authentication's own bookkeeping, written on every authenticated request (at most once
# a minute, helpdesk.api.authentication._touch): not a write of the refused action.
BOOKKEEPING = (
    "accounts.apikey.last_used_at",
    "accounts.agenttoken.last_used_at",
)


def tables() -> list[type[models.Model]]:
    """Every concrete table of APPS, many-to-many tables included."""
    found = []
    for label in APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if not model._meta.proxy and model._meta.managed:
                found.append(model)
    return found


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, dict[Any, dict[str, Any]]]
    mails: int
    on_commit: int
    files: frozenset[str]


def _media_files() -> frozenset[str]:
    root = Path(settings.MEDIA_ROOT)
    if not root.is_dir():
        return frozenset()
    return frozenset(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _, names in os.walk(root)
        for name in names
    )


def _split(ignore: Iterable[str]) -> tuple[set[str], dict[str, set[str]]]:
    """("app.model", "app.model.column") -> ignored tables, ignored columns by table."""
    skipped_tables: set[str] = set()
    skipped_columns: dict[str, set[str]] = {}
    for name in (*BOOKKEEPING, *ignore):
        parts = name.lower().split(".")
        if len(parts) == 2:
            skipped_tables.add(name.lower())
        elif len(parts) == 3:
            skipped_columns.setdefault(".".join(parts[:2]), set()).add(parts[2])
        else:
            raise ValueError(f"ignore takes 'app.model' or 'app.model.column', not {name!r}")
    known = {model._meta.label_lower for model in tables()}
    unknown = (skipped_tables | set(skipped_columns)) - known
    if unknown:
        raise ValueError(f"no such table to ignore: {sorted(unknown)}")
    return skipped_tables, skipped_columns


def snapshot(ignore: Iterable[str] = ()) -> Snapshot:
    skipped_tables, skipped_columns = _split(ignore)
    rows: dict[str, dict[Any, dict[str, Any]]] = {}
    for model in tables():
        label = model._meta.label_lower
        if label in skipped_tables:
            continue
        skipped = skipped_columns.get(label, set())
        pk = model._meta.pk.attname
        rows[label] = {
            row[pk]: {column: value for column, value in row.items() if column not in skipped}
            for row in model._base_manager.order_by().values()
        }
    return Snapshot(
        rows=rows,
        mails=len(mail.outbox) if hasattr(mail, "outbox") else 0,
        on_commit=len(connection.run_on_commit),
        files=_media_files(),
    )


def _loaded_with_defaults(label: str, old: dict, new: dict) -> bool:
    """A settings row `load()` created with the model's defaults (module docstring)."""
    model = apps.get_model(label)
    if not issubclass(model, SingletonSettings) or old or list(new) != [SINGLETON_PK]:
        return False
    defaults = model(pk=SINGLETON_PK)
    row = new[SINGLETON_PK]
    return all(
        row[column.attname] == column.to_python(getattr(defaults, column.attname))
        for column in model._meta.concrete_fields
        if column.attname in row
    )


def rows_added(before: Snapshot, after: Snapshot) -> dict[str, list[dict[str, Any]]]:
    """The rows added to each table, in primary-key order."""
    return {
        label: [after.rows[label][pk] for pk in sorted(set(after.rows[label]) - set(old), key=str)]
        for label, old in before.rows.items()
    }


STORED_FILES = "threads.storedfile"


def differences(
    before: Snapshot, after: Snapshot, only_new: Iterable[str] = (), orphans: bool = False
) -> list[str]:
    """What changed, one line each, for the failure message."""
    found = []
    for label, old in before.rows.items():
        new = after.rows[label]
        if _loaded_with_defaults(label, old, new):
            continue
        added = sorted(set(new) - set(old), key=str)
        removed = sorted(set(old) - set(new), key=str)
        if added and label not in only_new:
            found.append(f"{label}: rows added {[new[pk] for pk in added]}")
        if removed:
            found.append(f"{label}: rows removed {[old[pk] for pk in removed]}")
        for pk in sorted(set(old) & set(new), key=str):
            changed = {
                column: (value, new[pk][column])
                for column, value in old[pk].items()
                if new[pk][column] != value
            }
            if changed:
                found.append(f"{label} pk={pk}: changed (before, after) {changed}")
    if after.mails != before.mails:
        found.append(f"mail.outbox: {after.mails - before.mails} message(s) sent")
    if after.on_commit != before.on_commit:
        found.append(
            f"on_commit: {after.on_commit - before.on_commit} callback(s) queued "
            "(a signal, webhook or task announced)"
        )
    new_files, lost_files = after.files - before.files, before.files - after.files
    if orphans:  # files stored with their rows for a refused entry (the module docstring)
        new_files -= {row["file"] for row in rows_added(before, after).get(STORED_FILES, [])}
    if new_files or lost_files:
        found.append(f"MEDIA_ROOT: files added {sorted(new_files)}, removed {sorted(lost_files)}")
    return found


@dataclass
class Watch:
    """What `nothing_written` yields: the state before the block, and once it has ended,
    the rows it added to each table (those of `only_new` tables are the allowed ones)."""

    before: Snapshot
    added: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@contextmanager
def nothing_written(
    *, ignore: Iterable[str] = (), only_new: Iterable[str] = (), orphans: bool = False
) -> Iterator[Watch]:
    """Assert that the block writes nothing (module docstring)."""
    ignore, only_new = tuple(ignore), tuple(name.lower() for name in only_new)
    if orphans:
        only_new += (STORED_FILES,)
    _split(only_new)  # known tables only
    watch = Watch(before=snapshot(ignore))
    yield watch
    after = snapshot(ignore)
    watch.added = rows_added(watch.before, after)
    found = differences(watch.before, after, only_new, orphans)
    assert not found, "a refused action wrote:\n  " + "\n  ".join(found)
