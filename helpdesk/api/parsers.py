"""Body parsers with a size limit (413) and strict JSON (400 on anything malformed)."""

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from .problems import RequestTooLarge


def check_size(meta) -> None:
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        raise ParseError("Invalid Content-Length.") from None
    if length > settings.HELPDESK_API["MAX_BODY_BYTES"]:
        raise RequestTooLarge(
            f"The request body is over {settings.HELPDESK_API['MAX_BODY_BYTES']} bytes."
        )


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
            # lone surrogates decode but cannot be stored: refuse them here
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
