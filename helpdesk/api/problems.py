"""Errors as RFC 9457 problem details, from ONE exception handler.

Every refusal of the API has the shape `{type, title, status, detail, code, errors}` and
the media type `application/problem+json`: domain errors (accounts.errors) keep their
status and code; DRF's own errors (parse, auth, throttling...) are mapped to the same
shape; bad input never becomes a 500.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from accounts.errors import DomainError

log = logging.getLogger(__name__)

PROBLEM_TYPE = "urn:helpdesk:problem:"
MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
}


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class InvalidInput(exceptions.ValidationError):
    """A well-formed body with invalid values (422), as opposed to bad syntax (400)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


class Problem(exceptions.APIException):
    """A problem raised by the API layer itself, with its own status and code."""

    def __init__(self, status_code: int, detail: str, code: str, errors: dict | None = None):
        super().__init__(detail, code)
        self.status_code = status_code
        self.problem_code = code
        self.errors = errors or {}


class Replay(exceptions.APIException):
    """Carries a stored response to replay (Idempotency-Key); not an error."""

    status_code = 200

    def __init__(self, response):
        super().__init__("replay")
        self.response = response


def problem(
    status_code: int,
    detail: str,
    code: str,
    errors: dict | None = None,
    headers=None,
    extra: dict | None = None,
):
    body = {
        **(extra or {}),
        "type": PROBLEM_TYPE + code,
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    response = Response(body, status=status_code, headers=headers, content_type=MEDIA_TYPE)
    return response


def _flatten(detail) -> dict:
    """DRF's nested error details as {field: [messages]} (dotted paths for nesting)."""
    out: dict[str, list[str]] = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            if all(not isinstance(v, dict | list) for v in value):
                out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for i, sub in enumerate(value):
                    walk(f"{prefix}.{i}" if prefix else str(i), sub)
        else:
            out.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return out


def _summary(errors: dict) -> str:
    first = next(iter(errors.items()), None)
    if first is None:
        return "The input is invalid."
    field, messages = first
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    label = "" if field == "non_field_errors" else f"{field}: "
    return f"{label}{messages[0]}{more}"


def exception_handler(exc, context):
    if isinstance(exc, Replay):
        return exc.response
    if isinstance(exc, DomainError):
        return problem(exc.status, exc.message, exc.code, exc.fields or None, extra=exc.extra)
    if isinstance(exc, Problem):
        return problem(exc.status_code, str(exc.detail), exc.problem_code, exc.errors or None)
    if isinstance(exc, Http404):
        return problem(404, "Not found.", "not_found")
    if isinstance(exc, RequestDataTooBig):
        return problem(413, "The request body is too large.", "request_too_large")
    if isinstance(exc, DjangoPermissionDenied):
        return problem(403, "You may not do this.", "permission_denied")
    if isinstance(exc, SuspiciousOperation):
        return problem(400, "The request was refused as malformed.", "bad_request")
    if not isinstance(exc, exceptions.APIException):
        return None  # a real server error: let Django log it and answer 500

    headers = {}
    # Throttled sets .wait (seconds or None); the stubs omit the attribute
    wait = exc.wait if isinstance(exc, exceptions.Throttled) else None  # type: ignore[attr-defined]
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        request = context.get("request")
        view = context.get("view")
        authenticate = view.get_authenticate_header(request) if view and request else None
        exc.status_code = 401
        headers["WWW-Authenticate"] = authenticate or 'Bearer realm="api"'
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        return problem(exc.status_code, _summary(errors), "invalid", errors, headers)
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    if isinstance(exc, exceptions.ParseError):
        code = "malformed"
    return problem(exc.status_code, str(exc.detail), str(code), None, headers)
