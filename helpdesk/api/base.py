"""What every API view shares: throttling before anything else (so bad credentials are
rate-limited too), then authentication, permissions, the body within our size limit,
and Idempotency-Key on POST."""

from typing import TYPE_CHECKING

from django.db import transaction
from rest_framework import exceptions

from . import idempotency
from .idempotency import raw_body

if TYPE_CHECKING:
    from rest_framework.views import APIView

    from .models import IdempotencyRecord

    _View = APIView  # what the mixin is mixed into (listed before it)
else:
    _View = object


class ApiMixin(_View):
    orderings: tuple[str, ...] = ()  # the whitelist of ?ordering= (first: the default)
    _idempotency: "IdempotencyRecord | None"

    def dispatch(self, request, *args, **kwargs):
        """A POST with an Idempotency-Key runs in one transaction with its key's record:
        the record (written pending, then with the answer) commits with the work or not
        at all. A request cut before its answer (the process killed, the machine lost)
        leaves neither, so the client's retry with the same key runs afresh and a
        duplicate sent meanwhile waits for the first and replays its answer. A 5xx
        rolls back the work with the record (the key is free for a retry)."""
        if request.method != "POST" or idempotency.HEADER not in request.META:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)
        return response

    def initial(self, request, *args, **kwargs):
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        version, scheme = self.determine_version(request, *args, **kwargs)
        request.version, request.versioning_scheme = version, scheme
        try:
            self.perform_authentication(request)
        except exceptions.APIException:
            self.check_throttles(request)  # as anonymous: per address
            raise
        self.check_throttles(request)
        self.check_permissions(request)
        if not (request.content_type or "").startswith("multipart/"):
            # DRF reads JSON and form bodies through Django's request.body, capped at
            # DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB); ours follows the attachment limits
            # (413 above it). Multipart bodies stream their files to disk instead.
            raw_body(request._request)
        self._idempotency = None
        if request.method == "POST":
            self._idempotency = idempotency.begin(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = getattr(self, "_idempotency", None)
        if record is not None:
            self._idempotency = None
            idempotency.finish(record, response)
        return response
