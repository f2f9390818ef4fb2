"""Body parsers with a size limit (413) and strict JSON (400 on anything malformed)."""

import json
import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from helpdesk import limits

from .problems import RequestTooLarge


def check_size(meta) -> None:
    """413 before the body is read when it is over the limit, which follows the
    attachment limits (helpdesk.limits.max_body_bytes)."""
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        raise ParseError("Invalid Content-Length.") from None
    limit = limits.max_body_bytes()
    if length > limit:
        raise RequestTooLarge(
            f"The request body is over {limit} bytes ({limits.megabytes(limit)} MB)."
        )


ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        if request is not None:
            check_size(request.META)
        try:
            raw = stream.read() if stream is not None else b""
            data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
            if ESCAPED_SURROGATE.search(raw):
                # lone surrogates decode but cannot be stored: refuse them here (only
                # an escape can make one, so a body without any is not walked again)
                json.dumps(data, ensure_ascii=False).encode("utf-8")
        except (ValueError, UnicodeError, RecursionError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from None
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context["request"].META)
        return super().parse(stream, media_type, parser_context)


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context["request"].META)
        return super().parse(stream, media_type, parser_context)
