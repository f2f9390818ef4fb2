"""Shared steps of the ticket services: lock, check, save with a new version, record."""

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

from django.db import router, transaction
from django.db.models import F, Model, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from accounts.actors import Actor, is_agent, is_api_key, is_system
from accounts.bus import send_on_commit
from accounts.errors import Conflict, StaleVersion, ValidationFailed
from accounts.rows import RowConflict
from routing.models import SLA, Department, HelpTopic
from threads import services as threads
from threads.models import Channel, ThreadEvent

from ..config import Snapshot
from ..models import HelpdeskSettings, Priority, State, Task, Ticket, TicketStatus

# Read with the locked row: what every change looks at. Other relations load on demand
# (a primary-key read each); joining all eight cost more to plan than the change itself.
RELATED = ("department", "status")


class Unset(enum.Enum):
    """ "Not given", where None means "clear it" (`ticket_edit(topic=None)`)."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> Literal[False]:
        return False


UNSET: Final = Unset.UNSET


def channel_of(actor: Actor, channel: str | None) -> str:
    """The channel given, else the actor's own: the system's, the API for a key, the
    panel for an agent, the portal for a client."""
    if channel:
        return channel
    if is_system(actor):
        return Channel.SYSTEM
    if is_api_key(actor):
        return Channel.API
    return Channel.PANEL if is_agent(actor) else Channel.PORTAL


# A ticket or a task: the work items the services lock, record, save and number alike.
Work = Ticket | Task
_T = TypeVar("_T", Ticket, Task)


def label(work: Work) -> str:
    """ "Ticket #123" or "Task #4", for messages."""
    return f"{'Task' if isinstance(work, Task) else 'Ticket'} #{work.number}"


def lock_row(
    rows: QuerySet[_T], pk: int, related: Sequence[str], expected_version: int | None = None
) -> _T:
    """Read a ticket's or task's row locked until the transaction ends, `related` joined
    in the same statement. Two agents acting at once queue here; the second sees the
    first one's result. A caller that read version N and passes it gets StaleVersion if
    it moved on.

    PostgreSQL re-checks a row it had to wait for against the joined rows it read before
    waiting: when the holder changed one of those keys (a ticket's status or department),
    the row drops out of the join. It is then locked alone, its relations loaded when
    used."""
    locking = rows.select_for_update(of=("self",))
    try:
        locked = locking.select_related(*related).get(pk=pk)
    except rows.model.DoesNotExist:
        locked = locking.get(pk=pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(
            f"{label(locked)} changed since you loaded it "
            f"(your version {expected_version}, now {locked.version}). Reload and try again.",
            code="stale_version",
        )
    return locked


def lock(ticket: Ticket | int, expected_version: int | None = None) -> Ticket:
    """Re-read the ticket with its row locked until the transaction ends (lock_row)."""
    pk = ticket.pk if isinstance(ticket, Ticket) else ticket
    return lock_row(Ticket.objects.all(), pk, RELATED, expected_version)


def lock_all(ids: Iterable[int]) -> dict[int, Ticket]:
    """Several tickets row-locked in primary-key order (so two changes that lock the same
    tickets queue instead of deadlocking), by primary key. Locked without joins (see
    lock_row), then read with their relations: the locks are held, so the read is
    current."""
    locked = list(
        Ticket.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return {t.pk: t for t in Ticket.objects.select_related(*RELATED).filter(pk__in=locked)}


def save(work: Work, *fields: str) -> None:
    """Save the named fields of a ticket or task, raising the version (the ETag) and the
    update time."""
    work.version += 1
    work.updated_at = timezone.now()
    work.save(update_fields=[*dict.fromkeys(fields), "version", "updated_at"])


def bump(*ticket_ids: int) -> None:
    """Raise the version of tickets changed without being locked (links)."""
    Ticket.objects.filter(pk__in=ticket_ids).update(
        version=F("version") + 1, updated_at=timezone.now()
    )


NUMBER_ATTEMPTS = 20  # random draws of a number before giving up


def insert_numbered(obj: Ticket | Task, draw: Callable[[], str]) -> None:
    """Insert a ticket or task with a fresh number from `draw`; a random draw that
    collides is drawn again (a sequence never collides). A clash is answered without
    an error in the database (WorkItem.insert_conflict_field), so no savepoint wraps
    the insert: the caller's transaction goes on."""
    model = type(obj)
    for _ in range(NUMBER_ATTEMPTS):
        obj.number = draw()
        try:
            obj.save(force_insert=True)
            return
        except RowConflict:
            # nothing failed in the database: undo the mark Model.save() set on the
            # atomic block for its exception (outside one, there is none)
            using = router.db_for_write(model, instance=obj)
            if transaction.get_connection(using).in_atomic_block:
                transaction.set_rollback(False, using=using)
    raise Conflict(
        f"No free {model._meta.verbose_name} number could be drawn: widen the number format.",
        code="numbers_exhausted",
    )


def require_state(ticket: Ticket, *states: str, action: str) -> None:
    if ticket.state not in states:
        raise Conflict(
            f"Ticket #{ticket.number} is {ticket.get_state_display().lower()}: cannot {action}.",
            code=f"ticket_{ticket.state}",
        )


SUBJECT_MAX = 255  # Ticket.subject's and Task.title's length


def clean_subject(subject: str | None) -> str:
    """A ticket's subject as stored, whoever gives it (opening, editing): runs of white
    space made one space, cut to the column's length; an empty one is refused."""
    return _one_line(subject, field="subject", message="A ticket needs a subject.")


def clean_title(title: str | None) -> str:
    """A task's title as stored, by the same rule as a ticket's subject."""
    return _one_line(title, field="title", message="A task needs a title.")


def _one_line(value: str | None, *, field: str, message: str) -> str:
    value = " ".join((value or "").split())[:SUBJECT_MAX].rstrip()
    if not value:
        raise ValidationFailed(
            message, code=f"{field}_required", fields={field: ["This field is required."]}
        )
    return value


def ref(obj: Model | None) -> dict[str, Any] | None:
    """A small, stable snapshot of a related object for event data."""
    if obj is None:
        return None
    return {
        "id": obj.pk,
        "name": str(getattr(obj, "display_name", None) or getattr(obj, "name", obj)),
    }


def record(work: Work, kind: str, actor: Actor, channel: str, **data: Any) -> ThreadEvent:
    """Write an event on the ticket's or task's thread."""
    return threads.event_record(
        thread_id=work.thread_id, kind=kind, actor=actor, channel=channel, data=data
    )


def announce(signal: Signal, ticket: Ticket, actor: Actor, channel: str, **data: Any) -> None:
    """Send a ticket signal after commit (`accounts.bus.send_on_commit`) with what every
    one carries: sender Ticket, the ticket, the actor and the channel; `data` the rest."""
    send_on_commit(signal, sender=Ticket, ticket=ticket, actor=actor, channel=channel, **data)


@dataclass(frozen=True)
class SnapshotDefaults:
    """The system defaults (a routing.services.SystemDefaults) read from the settings
    row on demand: route() touches only the defaults a ticket actually falls back to,
    each from the configuration snapshot (tickets.config: no query while the
    configuration is unchanged)."""

    config: HelpdeskSettings
    snapshot: Snapshot

    @property
    def department(self) -> Department | None:
        return self.snapshot.department(self.config.default_department_id)

    @property
    def sla(self) -> SLA | None:
        return self.snapshot.sla(self.config.default_sla_id)

    @property
    def priority(self) -> Priority | None:
        return self.snapshot.priority(self.config.default_priority_id)

    @property
    def status(self) -> TicketStatus | None:
        return self.snapshot.status(self.config.default_status_id)

    @property
    def topic(self) -> HelpTopic | None:
        return self.snapshot.topic(self.config.default_topic_id)


def defaults(config: HelpdeskSettings) -> SnapshotDefaults:
    return SnapshotDefaults(config=config, snapshot=Snapshot(config))


def closed_status(config: HelpdeskSettings) -> TicketStatus:
    status = (
        Snapshot(config).status(config.closed_status_id)
        or TicketStatus.objects.filter(state=State.CLOSED).first()
    )
    if status is None:
        raise ValidationFailed("No closed status is configured.", code="no_closed_status")
    return status


def clock_start(ticket: Ticket) -> dt.datetime:
    """When the SLA clock started: the last reopen, else the creation."""
    return ticket.reopened_at or ticket.created_at
