"""One fetch pass over a mailbox, and over every mailbox that is due (the cron job).

No loss, no double import:
- a mailbox is leased (a conditional UPDATE on its row, no transaction held while the
  server talks), so two fetchers on one mailbox at once do not both run. The lease is
  one fetch interval (at least a minute) and is renewed before each message, so a
  fetcher that crashed (SIGKILL, OOM, a lost host) frees its mailbox by the time the
  mailbox is due again; a fetcher that finds its lease taken stops its batch;
- each message is read without changing it on the server, imported (committed), and
  only then moved, deleted or flagged; a crash in between leaves it on the server to
  be fetched again, and the stored record (same server id, Message-ID or content hash)
  makes the second import a duplicate that is finished without a second ticket;
- a message that cannot be imported is parked and the batch goes on; a database outage
  stops the batch and leaves the rest on the server.
"""

import datetime as dt
import logging
import secrets
from dataclasses import asdict, dataclass, field

from django.db.models import Q
from django.utils import timezone

from helpdesk.ops import instruments

from .fetchers import FetchError, fetcher_for
from .inbound import TemporaryFailure, ingest
from .models import InboundMessage, Mailbox
from .scope import unit_of_work

log = logging.getLogger(__name__)

MIN_LEASE = dt.timedelta(minutes=1)
BACKOFF_AFTER_ERRORS = 5
BACKOFF = dt.timedelta(minutes=10)


@dataclass
class FetchReport:
    mailbox: str
    skipped: str = ""
    fetched: int = 0
    finished: int = 0
    statuses: dict = field(default_factory=dict)
    error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def count(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


class LeaseLost(Exception):
    """Another fetcher took the mailbox over (this one was too slow to renew)."""


def lease_length(mailbox: Mailbox) -> dt.timedelta:
    return max(dt.timedelta(minutes=mailbox.fetch_interval_minutes), MIN_LEASE)


def _lease(mailbox: Mailbox) -> str | None:
    token, now = secrets.token_hex(8), timezone.now()
    taken = (
        Mailbox.objects.filter(pk=mailbox.pk)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(lock_token=token, locked_until=now + lease_length(mailbox))
    )
    return token if taken else None


def _renew(mailbox: Mailbox, token: str) -> None:
    """The heartbeat: one more interval from now, if the lease is still ours."""
    until = timezone.now() + lease_length(mailbox)
    if not Mailbox.objects.filter(pk=mailbox.pk, lock_token=token).update(locked_until=until):
        raise LeaseLost(f"{mailbox.name}: another fetcher took the mailbox over")


def _release(mailbox: Mailbox, token: str, error: str = "") -> None:
    now = timezone.now()
    fields = {"lock_token": "", "locked_until": None, "last_fetch_at": now}
    if error:
        Mailbox.objects.filter(pk=mailbox.pk, lock_token=token).update(
            **fields, last_error=error[:2000], last_error_at=now, error_count=_errors(mailbox) + 1
        )
    else:
        Mailbox.objects.filter(pk=mailbox.pk, lock_token=token).update(**fields, error_count=0)


def _errors(mailbox: Mailbox) -> int:
    return Mailbox.objects.filter(pk=mailbox.pk).values_list("error_count", flat=True).first() or 0


def _known(mailbox: Mailbox, uids: list[str]) -> set[str]:
    """Server ids of messages already imported from this mailbox."""
    rows = InboundMessage.objects.filter(
        mailbox=mailbox, server_uid__in=uids, status__in=InboundMessage.FINAL
    )
    return set(rows.values_list("server_uid", flat=True))


def fetch_mailbox(mailbox: Mailbox) -> FetchReport:
    """Fetch up to mailbox.max_per_fetch new messages; safe to run twice at once."""
    report = FetchReport(mailbox=mailbox.name)
    token = _lease(mailbox)
    if token is None:
        report.skipped = "locked: another fetcher is running"
        return report
    error = ""
    try:
        with fetcher_for(mailbox) as fetcher:
            _run(fetcher, mailbox, report, token)
    except LeaseLost as exc:
        report.skipped = str(exc)
        log.warning("mail fetch %s", exc)
    except (FetchError, OSError) as exc:
        error = report.error = str(exc)
        log.error("mail fetch %s: %s", mailbox.name, exc)
    except TemporaryFailure as exc:
        error = report.error = f"database unavailable: {exc}"
    finally:
        _release(mailbox, token, error)
        _count(mailbox, report, error)
    return report


def _count(mailbox: Mailbox, report: FetchReport, error: str) -> None:
    if report.fetched:
        instruments.MAIL_FETCHED.labels(mailbox=mailbox.name).inc(report.fetched)
    if error:
        instruments.MAIL_FETCH_FAILURES.labels(mailbox=mailbox.name).inc()


def _run(fetcher, mailbox: Mailbox, report: FetchReport, token: str) -> None:
    items = fetcher.pending(mailbox.max_per_fetch)
    known = _known(mailbox, [i.uid for i in items])
    with unit_of_work():  # settings and our addresses read once per batch
        _import(fetcher, mailbox, report, items, known, token)


def _import(fetcher, mailbox: Mailbox, report: FetchReport, items, known, token) -> None:
    for item in items:
        _renew(mailbox, token)
        if item.uid in known:
            fetcher.finish(item)  # imported before a crash, not finished on the server
            report.finished += 1
            continue
        if report.fetched >= mailbox.max_per_fetch:
            break
        raw = fetcher.read(item)
        report.fetched += 1
        result = ingest(raw, channel="email", mailbox=mailbox, server_uid=item.uid)
        report.count(result.status)
        fetcher.finish(item)  # only now: the ticket or entry is committed
        report.finished += 1


def _due(mailbox: Mailbox, now) -> bool:
    last = mailbox.last_fetch_at
    if last is None:
        return True
    if mailbox.error_count >= BACKOFF_AFTER_ERRORS:
        return now - last >= max(BACKOFF, dt.timedelta(minutes=mailbox.fetch_interval_minutes))
    return now - last >= dt.timedelta(minutes=mailbox.fetch_interval_minutes)


def fetch_due(*, force: bool = False) -> list[FetchReport]:
    """Every enabled mailbox whose interval has passed (all of them with force)."""
    now = timezone.now()
    reports = []
    for mailbox in Mailbox.objects.filter(is_active=True):
        if force or _due(mailbox, now):
            reports.append(fetch_mailbox(mailbox))
    return reports
