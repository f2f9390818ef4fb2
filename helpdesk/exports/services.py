"""The one path for exports: start one (sync or as a job, audited), run a job, purge
expired ones.

`export_start` counts the rows first (bounded: at most EXPORT_SYNC_MAX_ROWS + 1 are
counted), writes the ExportJob row and its audit entry in one transaction, and either
hands back the Table to stream now (few rows) or enqueues the job through the outbox
(sent on commit; helpdesk.exports.tasks). The job writes the file to Django's default storage under
`exports/` (a private path: files leave only through the panel's download view, which
checks the requester), then alerts the agent in the panel (the bell) and by mail.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import audit
from accounts.actors import is_agent
from accounts.errors import PermissionRefused

from .models import ExportJob
from .registry import ExportError, Table, build
from .writers import write

log = logging.getLogger(__name__)

FORMATS = frozenset(ExportJob.Format.values)
FOLDER = "exports"


def sync_max_rows() -> int:
    return int(settings.EXPORT_SYNC_MAX_ROWS)


def expiry() -> dt.timedelta:
    return dt.timedelta(hours=float(settings.EXPORT_EXPIRY_HOURS))


@dataclass
class Started:
    job: ExportJob
    table: Table | None  # to stream now; None when a job will write the file

    @property
    def queued(self) -> bool:
        return self.table is None


def _detail(job: ExportJob, table: Table, counted: int, cap: int) -> str:
    rows: Any = counted if counted <= cap else f"more than {cap}"
    return json.dumps(
        {
            "kind": job.kind,
            "format": job.format,
            "rows": rows,
            "mode": "job" if job.status == ExportJob.Status.QUEUED else "streamed",
            "filters": table.detail,
        },
        sort_keys=True,
        default=str,
    )


def export_start(*, actor, kind: str, params: dict[str, Any], format: str) -> Started:
    """Start an export of the registered source `kind` for `actor` (an agent): what they
    may see, nothing else (the source's selectors decide)."""
    if not is_agent(actor):
        raise PermissionRefused("Only agents export.", code="permission_denied")
    if format not in FORMATS:
        raise ExportError(f"Unknown format {format!r}: csv or xlsx.", code="bad_format")
    table = build(kind, user=actor, params=params)
    cap = sync_max_rows()
    counted = table.count(cap)
    now = timezone.now()
    queued = counted > cap
    from .tasks import export_job_dispatch_task

    with transaction.atomic():
        job = ExportJob.objects.create(
            requester=actor,
            kind=kind,
            params=params,
            format=format,
            status=ExportJob.Status.QUEUED if queued else ExportJob.Status.STREAMED,
            language=translation.get_language() or "",
            row_count=None if queued else counted,
            download_name=f"{table.name}-{now:%Y%m%d-%H%M}.{format}"[:255],
            finished_at=None if queued else now,
            expires_at=now + expiry(),
        )
        audit.record(
            "export.created", actor=actor, target=job, detail=_detail(job, table, counted, cap)
        )
        if queued:
            from helpdesk.outbox.services import enqueue

            enqueue(export_job_dispatch_task, job.pk)
    return Started(job=job, table=None if queued else table)


def export_start_rows(
    *,
    actor,
    name: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    format: str,
    detail: dict[str, Any] | None = None,
) -> Started:
    """Start an export of rows the caller has already read for `actor` (a report's few
    aggregate rows): always streamed now (no job can read them again later), audited
    like every export. For a large source, register it and use `export_start`."""
    if not is_agent(actor):
        raise PermissionRefused("Only agents export.", code="permission_denied")
    if format not in FORMATS:
        raise ExportError(f"Unknown format {format!r}: csv or xlsx.", code="bad_format")
    counted = len(rows) if isinstance(rows, Sized) else None
    table = Table(
        name=name, header=header, rows=lambda: rows, count=lambda cap: 0, detail=detail or {}
    )
    now = timezone.now()
    with transaction.atomic():
        job = ExportJob.objects.create(
            requester=actor,
            kind=f"rows:{name}"[:64],
            params={},
            format=format,
            status=ExportJob.Status.STREAMED,
            row_count=counted,
            download_name=f"{name}-{now:%Y%m%d-%H%M}.{format}"[:255],
            finished_at=now,
            expires_at=now + expiry(),
        )
        rows_detail: Any = counted if counted is not None else "streamed"
        audit.record(
            "export.created",
            actor=actor,
            target=job,
            detail=json.dumps(
                {
                    "kind": job.kind,
                    "format": format,
                    "rows": rows_detail,
                    "mode": "streamed",
                    "filters": table.detail,
                },
                sort_keys=True,
                default=str,
            ),
        )
    return Started(job=job, table=table)


def _claim(job_id: int) -> ExportJob | None:
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING
    )
    return ExportJob.objects.select_related("requester").get(pk=job_id) if claimed else None


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write a queued job's file (the export_job_run_task; safe to run twice: a job is
    claimed once). The rows are read again now, as the requester may see them now."""
    job = _claim(job_id)
    if job is None:
        return None
    fd, path = tempfile.mkstemp(suffix=f".{job.format}")
    os.close(fd)
    try:
        with translation.override(job.language or None):
            table = build(job.kind, user=job.requester, params=job.params)
            rows = write(job.format, path, table.header, table.rows())
        name = f"{FOLDER}/{job.pk}-{secrets.token_hex(16)}.{job.format}"
        with open(path, "rb") as written:
            stored = default_storage.save(name, File(written))
    except Exception as exc:
        log.exception("export %s failed", job.pk)
        error = str(exc) if isinstance(exc, ExportError) else _("The export failed.")
        with transaction.atomic():
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportJob.Status.FAILED, error=error, finished_at=timezone.now()
            )
            _tell_failed(job)
        return ExportJob.objects.get(pk=job.pk)
    finally:
        os.unlink(path)
    now = timezone.now()
    with transaction.atomic():
        job.status, job.row_count, job.file_name = ExportJob.Status.DONE, rows, stored
        job.finished_at, job.expires_at = now, now + expiry()
        job.save(update_fields=["status", "row_count", "file_name", "finished_at", "expires_at"])
        _tell_ready(job)
    return job


def _tell_ready(job: ExportJob) -> None:
    """The bell and a mail with the download link (the mail sent after commit)."""
    from django.urls import reverse

    from accounts.links import site_url
    from helpdesk.alerts.models import Alert
    from helpdesk.alerts.services import alerts_record
    from helpdesk.mail.outbound import queue_agent_notice

    alerts_record(
        kind=Alert.Kind.EXPORT_READY,
        recipients=[job.requester],
        event_key=f"export:{job.pk}",
        export=job,
    )
    link = site_url(reverse("panel:export_download", args=[job.pk]))
    subject = _("Your export is ready: %(name)s") % {"name": job.download_name}
    body = _(
        "Your export %(name)s (%(rows)s rows) is ready:\n\n%(link)s\n\n"
        "The link works for you only, signed in to the staff panel, until %(expires)s UTC."
    ) % {
        "name": job.download_name,
        "rows": job.row_count,
        "link": link,
        "expires": f"{job.expires_at:%Y-%m-%d %H:%M}",
    }
    queue_agent_notice(recipient=job.requester, key=f"export:{job.pk}", subject=subject, body=body)


def _tell_failed(job: ExportJob) -> None:
    """The bell: the export failed (the agent's exports page says why)."""
    from helpdesk.alerts.models import Alert
    from helpdesk.alerts.services import alerts_record

    alerts_record(
        kind=Alert.Kind.EXPORT_FAILED,
        recipients=[job.requester],
        event_key=f"export:{job.pk}",
        export=job,
    )


def exports_purge(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Delete expired exports: each file from storage, then its row (and its alert).
    Batched, walking up the primary key; returns how many rows went."""
    now = now or timezone.now()
    total, last = 0, 0
    while True:
        jobs = list(
            ExportJob.objects.filter(expires_at__lt=now, pk__gt=last)
            .order_by("pk")
            .values_list("pk", "file_name")[:batch]
        )
        if not jobs:
            return total
        for _pk, name in jobs:
            if name:
                try:
                    default_storage.delete(name)
                except OSError:
                    log.warning("export file %s could not be deleted", name, exc_info=True)
        with transaction.atomic():
            total += (
                ExportJob.objects.filter(pk__in=[pk for pk, _name in jobs])
                .delete()[1]
                .get(ExportJob._meta.label, 0)
            )
        last = jobs[-1][0]
