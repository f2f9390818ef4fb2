"""One message in: `ingest(raw, channel=..., mailbox=...)`, for the fetcher, the pipe
command and the API's `POST /api/tickets.email` alike.

1. Parse (outside any transaction; never raises for bad bytes) and store the attachments;
   judge the sender (`authentication.verdict`).
2. In one transaction, `route.route` decides (a bounce, a loop, a duplicate, a reply
   that may or may not join its ticket, a new ticket) and calls the ticket services.
   The InboundMessage row (raw bytes, outcome, sender verdict, ticket, entry) is
   inserted in the same transaction, so a ticket and the record of its message commit
   together or not at all. Its unique constraints (the bytes' hash; Message-ID, or none,
   + content hash) make a second delivery of the same message roll back whatever it
   did: it is reported as a duplicate. The same Message-ID with other content is
   imported. Without a Message-ID the content counts when the message has a Date, else
   only the bytes (fingerprint.dedupe_hash).
3. Bad input is parked (stored with the reason, in a fresh transaction); a database
   outage raises TemporaryFailure (exit 75: the MTA retries, the fetcher leaves the
   message on the server). A crash at any point leaves nothing half-written.
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.actors import ApiKeyActor
from threads import services as threads
from threads.models import Channel
from tickets.models import Ticket

from .authentication import Verdict, verdict
from .fingerprint import dedupe_hash
from .models import InboundMessage, Mailbox
from .parsing import (
    Unreadable,
    parse,
    quick_message_id,
    sender_of,
    sha256,
    without_leading_blank_lines,
)
from .route import Context, Outcome, route
from .scope import once, unit_of_work

log = logging.getLogger(__name__)
S = InboundMessage.Status

# The pipe's exit status. Every decision is 0: the message is recorded with its outcome.
# A non-zero status makes the MTA bounce the message to its From, which may be forged
# (backscatter), so a rejection (ban list, filter, open-ticket limit) and a message parked
# for review are 0 as well. Only the command itself exits otherwise: 65 (EX_DATAERR) for
# an empty input, nothing to record; 75 (EX_TEMPFAIL) when the database is down, so the
# MTA keeps the message and tries again.
EXIT_CODES = {
    S.CREATED: 0,
    S.APPENDED: 0,
    S.DUPLICATE: 0,
    S.DROPPED: 0,
    S.REJECTED: 0,
    S.PARKED: 0,
}
EX_DATAERR = 65
EX_TEMPFAIL = 75


class TemporaryFailure(Exception):
    """The database is unavailable: nothing was decided, try the message again later."""


@dataclass(frozen=True)
class IngestResult:
    status: str
    ticket: Ticket | None = None
    reason: str = ""
    inbound_id: int | None = None
    original: str = ""  # a duplicate: what became of the message it repeats (its status)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def ingest(
    raw: bytes,
    *,
    channel: str = Channel.EMAIL,
    mailbox: Mailbox | None = None,
    server_uid="",
    api_key: ApiKeyActor | None = None,
) -> IngestResult:
    """Import one RFC 822 message. Never raises for bad input; TemporaryFailure when the
    database is down.

    `api_key`: the key that posted the message to the API. A key of the whole helpdesk
    touches any ticket, as osTicket's do; otherwise its write departments limit what the
    message may touch (a reply to a ticket outside them opens a new ticket, as
    a stranger's would; a delivery report about mail of another department is dropped),
    and its Authentication-Results are read only when the key is a mail relay: the
    poster wrote the whole message. Raw mail on the API channel without a key is
    unverified too."""
    arrival = Arrival.of(raw, channel, mailbox, str(server_uid), api_key)
    try:
        return _process(arrival)
    except (OperationalError, InterfaceError) as exc:
        log.warning("mail ingest: temporary failure: %s", exc)
        raise TemporaryFailure(str(exc)) from exc


@dataclass(frozen=True)
class Arrival:
    """A message as it came in, before anything is decided."""

    raw: bytes
    channel: str
    mailbox: Mailbox | None
    server_uid: str
    sha256: str
    content_hash: str
    message_id: str
    source: str
    source_key: str
    api_key: ApiKeyActor | None = None

    @property
    def departments(self) -> frozenset | None:
        """The departments the message may touch (None: any, as for a key of the whole
        helpdesk)."""
        if self.api_key is None or self.api_key.all_departments:
            return None
        return self.api_key.write_departments

    @property
    def reads_headers(self) -> bool:
        """Are its Authentication-Results evidence? Not when the poster wrote them."""
        if self.channel != Channel.API:
            return True
        return self.api_key is not None and self.api_key.is_mail_relay

    @classmethod
    def of(cls, raw, channel, mailbox, server_uid, api_key=None) -> "Arrival":
        raw = without_leading_blank_lines(bytes(raw or b""))
        digest, message_id = sha256(raw), quick_message_id(raw)[:255]
        if mailbox is not None:
            source, key = InboundMessage.Source.MAILBOX, f"mailbox:{mailbox.pk}"
        elif channel == Channel.API:
            source, key = InboundMessage.Source.API, "api"
        else:
            source, key = InboundMessage.Source.PIPE, "pipe"
        return cls(
            raw, channel, mailbox, server_uid[:128], digest,
            dedupe_hash(raw, message_id, digest), message_id, source, key, api_key,
        )  # fmt: skip

    def same(self) -> Q:
        """Records this arrival duplicates: same bytes, or same Message-ID (or none) and
        content."""
        return Q(sha256=self.sha256) | Q(message_id=self.message_id, content_hash=self.content_hash)


def _process(arrival: Arrival, existing: InboundMessage | None = None) -> IngestResult:
    """Parse, then route and record in one transaction. The record's unique constraints
    (content hash; source + Message-ID) make a duplicate roll everything back."""
    try:
        parsed = parse(arrival.raw)
        threads.files_store(parsed.attachments)  # slow I/O outside the transaction
    except Unreadable as exc:
        return _park(arrival, str(exc), existing)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        log.exception("mail ingest: cannot parse a message (%s)", arrival.sha256)
        return _park(arrival, f"Cannot parse the message: {exc!r}"[:2000], existing)
    judged = verdict(parsed, read_headers=arrival.reads_headers)
    try:
        with transaction.atomic():
            if existing is not None:  # reprocessing: hold the row
                InboundMessage.objects.select_for_update().filter(pk=existing.pk).first()
            with unit_of_work():
                outcome = route(_context(arrival, parsed, judged, existing))
            record = _store(arrival, outcome, parsed, existing, judged)
    except IntegrityError as exc:
        return _duplicate(arrival, exc)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        log.exception("mail ingest: a message failed (%s)", arrival.sha256)
        return _park(arrival, f"Import failed: {exc!r}"[:2000], existing)
    if outcome.status == S.PARKED:
        log.error("mail ingest: parked inbound message %s: %s", record.pk, outcome.reason)
    return IngestResult(
        outcome.status, outcome.ticket, outcome.reason, record.pk, original=outcome.original
    )


def _context(arrival: Arrival, parsed, judged: Verdict, existing) -> Context:
    return Context(
        parsed=parsed,
        channel=arrival.channel,
        mailbox=arrival.mailbox,
        verdict=judged,
        content_hash=arrival.content_hash,
        ours=our_addresses(),
        departments=arrival.departments,
        reprocessing=existing.pk if existing is not None else None,
    )


def _store(
    arrival: Arrival, outcome: Outcome, parsed, existing=None, judged: Verdict | None = None
) -> InboundMessage:
    values = {
        "status": outcome.status,
        "reason": outcome.reason[:2000],
        "ticket": outcome.ticket,
        "entry": outcome.entry,
        "is_auto": bool(parsed and (parsed.auto_reason or parsed.bounce)),
        "sender_verified": judged.verified if judged else None,
        "sender_check": judged.summary[:255] if judged else "",
        "content_hash": arrival.content_hash,
        "sender": (parsed.sender_email if parsed else sender_of(arrival.raw))[:254],
        "subject": (parsed.subject if parsed else "")[:255],
        "processed_at": timezone.now(),
    }
    if existing is not None:
        InboundMessage.objects.filter(pk=existing.pk).update(**values, attempts=F("attempts") + 1)
        return existing
    return InboundMessage.objects.create(
        source=arrival.source,
        source_key=arrival.source_key,
        mailbox=arrival.mailbox,
        server_uid=arrival.server_uid,
        api_key_id=arrival.api_key.key_id if arrival.api_key is not None else None,
        message_id=arrival.message_id,
        sha256=arrival.sha256,
        raw=arrival.raw,
        size=len(arrival.raw),
        attempts=1,
        **values,
    )


def _duplicate(arrival: Arrival, exc: Exception) -> IngestResult:
    """The record this arrival repeats: the message itself rather than an earlier
    duplicate of it, when both are there (its status is what became of the message)."""
    same = InboundMessage.objects.filter(arrival.same()).defer("raw")
    done = same.exclude(status=S.DUPLICATE).first() or same.first()
    if done is None:  # not our constraint: a genuine failure
        log.error("mail ingest: integrity error (%s): %s", arrival.sha256, exc)
        return _park(arrival, f"Import failed: {exc!r}"[:2000])
    return IngestResult(S.DUPLICATE, done.ticket, "already imported", done.pk, original=done.status)


def _park(arrival: Arrival, reason: str, existing=None) -> IngestResult:
    try:
        with transaction.atomic():
            record = _store(arrival, Outcome(S.PARKED, reason=reason), None, existing)
    except IntegrityError as exc:
        return _duplicate(arrival, exc) if existing is None else _fail(reason, exc)
    log.error("mail ingest: parked inbound message %s: %s", record.pk, reason)
    return IngestResult(S.PARKED, None, reason, record.pk)


def _fail(reason: str, exc: Exception) -> IngestResult:  # pragma: no cover - defensive
    raise TemporaryFailure(f"{reason}; and could not park it: {exc}")


def our_addresses() -> set[str]:
    return once("ours", _our_addresses)


def _our_addresses() -> set[str]:
    from django.conf import settings

    from routing.models import Department

    mailboxes = Mailbox.objects.order_by().values_list("address", flat=True)
    departments = Department.objects.exclude(email="").order_by().values_list("email", flat=True)
    found = {a.lower() for a in mailboxes.union(departments)}
    found.add(settings.DEFAULT_FROM_EMAIL.lower())
    return found
