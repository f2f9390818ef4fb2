"""`Idempotency-Key` on POST: the same key and body replay the first answer and create
nothing; the same key with another body is refused (422). The request runs in one
transaction with its record (helpdesk.api.base.ApiMixin.dispatch), so a duplicate
arriving while the first is still running waits for it and replays its answer, and a
request cut by a killed process leaves no record and no work; a record still pending
(written before that rule) gets 409. Keys are scoped to the caller and kept for
settings.HELPDESK_API["IDEMPOTENCY_TTL_HOURS"] (24 by default), then purged by cron.
"""

import datetime as dt
import hashlib
import io

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from .models import IdempotencyRecord
from .parsers import check_size
from .problems import Problem, Replay
from .throttling import caller_ident

HEADER = "HTTP_IDEMPOTENCY_KEY"
TAKEOVER = dt.timedelta(minutes=5)  # a pending record this old belonged to a dead worker
KEPT_HEADERS = ("ETag", "Location")


def raw_body(request) -> bytes:
    """The body of a Django request, read once within the size limit, and left
    readable for the parsers."""
    if hasattr(request, "_body"):
        return request._body
    check_size(request.META)
    data = request.read() if int(request.META.get("CONTENT_LENGTH") or 0) else b""
    request._body = data
    request._stream = io.BytesIO(data)
    return data


def _ttl() -> dt.timedelta:
    return dt.timedelta(hours=settings.HELPDESK_API["IDEMPOTENCY_TTL_HOURS"])


def begin(request) -> IdempotencyRecord | None:
    """Claim the key for this request, or raise: Replay, 409 or 422."""
    key = request.META.get(HEADER)
    caller = caller_ident(request)
    if key is None or caller is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable() or not key.isascii():
        raise Problem(
            400, "Idempotency-Key must be 1 to 255 printable ASCII characters.", "invalid_key"
        )
    django_request = getattr(request, "_request", request)
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.META.get("CONTENT_TYPE", "")):
        digest.update(part.encode("utf-8", "replace") + b"\n")
    digest.update(raw_body(django_request))
    fingerprint = digest.hexdigest()
    for _ in range(2):
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    caller=caller, key=key, fingerprint=fingerprint, created_at=now
                )
        except IntegrityError:
            pass
        found = IdempotencyRecord.objects.filter(caller=caller, key=key).first()
        if found is None:
            continue
        stale = found.created_at < now - _ttl() or (
            found.state == IdempotencyRecord.State.PENDING and found.created_at < now - TAKEOVER
        )
        if stale:
            IdempotencyRecord.objects.filter(pk=found.pk, created_at=found.created_at).delete()
            continue
        if found.fingerprint != fingerprint:
            raise Problem(
                422,
                "This Idempotency-Key was already used with a different request.",
                "idempotency_key_reused",
            )
        if found.state == IdempotencyRecord.State.PENDING:
            raise Problem(
                409, "A request with this Idempotency-Key is still in progress.", "in_progress"
            )
        raise Replay(_replay(found))
    raise Problem(409, "A request with this Idempotency-Key is still in progress.", "in_progress")


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.body), status=record.status_code, content_type=record.content_type
    )
    for name, value in record.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def finish(record: IdempotencyRecord, response) -> None:
    """Keep the answer for replays; after a server error, free the key for a retry."""
    if response.status_code >= 500:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    record.status_code = response.status_code
    record.content_type = response.get("Content-Type", "")
    record.headers = {h: response[h] for h in KEPT_HEADERS if h in response}
    record.body = bytes(response.content)
    record.state = IdempotencyRecord.State.DONE
    record.save(update_fields=["status_code", "content_type", "headers", "body", "state"])


def purge() -> int:
    """Records past their TTL, deleted in batches (helpdesk.ops.retention)."""
    from helpdesk.ops.retention import delete_in_batches

    cutoff = timezone.now() - _ttl()
    return delete_in_batches(IdempotencyRecord.objects.filter(created_at__lt=cutoff))
