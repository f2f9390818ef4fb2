"""Optimistic concurrency: a ticket's or task's version is its ETag; If-Match guards
changes."""

from contextlib import contextmanager

from django.db import transaction

from accounts.errors import StaleVersion
from tickets.models import Task, Ticket

from .problems import Problem

Work = Ticket | Task  # what the API changes under If-Match: both have a number and a version


def etag(obj: Work) -> str:
    return f'"{obj.version}"'


def expected_version(request) -> int | None:
    """The version named by If-Match, or None without one (or with `*`)."""
    raw = request.META.get("HTTP_IF_MATCH")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit() or len(value) > 12:
        raise Problem(412, "If-Match must be an ETag given by this API.", "stale_version")
    return int(value)


@contextmanager
def guarded(request, obj: Work):
    """One transaction around a change; with If-Match, the ticket's (or task's) row is
    locked and its version compared first (412 when it moved on). Everything inside
    commits or rolls back together: never half a write."""
    expected = expected_version(request)
    with transaction.atomic():
        if expected is not None:
            current = (
                type(obj)
                .objects.select_for_update()
                .filter(pk=obj.pk)
                .values_list("version", flat=True)
                .first()
            )
            if current != expected:
                label = str(obj._meta.verbose_name).capitalize()
                raise StaleVersion(
                    f"{label} #{obj.number} changed since you loaded it (your version "
                    f"{expected}, now {current}). Reload and try again.",
                    code="stale_version",
                )
        yield
