"""OpenAPI: every operation documents its errors (RFC 9457 problem details, with an
example each) and, on POST, the Idempotency-Key header."""

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from helpdesk.limits import MAX_BULK_IDS, MAX_ID

from .problems import MEDIA_TYPE, PROBLEM_TYPE, TITLES


class TaskRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem description."""

    type = serializers.CharField(help_text="A URI naming the kind of problem.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong, for people.")
    code = serializers.CharField(help_text="Stable, machine-readable code.")
    # a declared field, which DRF's metaclass takes out of the class: .errors stays
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages per field (dotted paths for nested fields).",
    )
    tasks = TaskRefSerializer(
        many=True,
        required=False,
        help_text="409 `open_tasks`: the ticket's open tasks that refuse its close.",
    )


EXAMPLES = {
    400: ("malformed", "Malformed JSON: Expecting value: line 1 column 1 (char 0)", None),
    401: ("not_authenticated", "Authentication credentials were not provided.", None),
    403: ("permission_denied", "Your role in Support does not allow ticket.transfer.", None),
    404: ("ticket_not_found", "Ticket not found.", None),
    409: ("transition_not_allowed", "An open ticket cannot become archived.", None),
    412: ("stale_version", "Ticket #482913 changed since you loaded it.", None),
    413: ("request_too_large", "The request body is too large.", None),
    415: ("unsupported_media_type", 'Unsupported media type "text/csv" in request.', None),
    422: (
        "invalid",
        "subject: This field is required.",
        {"subject": ["This field is required."]},
    ),
    429: ("throttled", "Request was throttled. Expected available in 12 seconds.", None),
}
WHEN = {
    400: "Malformed body or query string.",
    401: "No valid credentials (token, API key from an allowed address, or session).",
    403: "The caller may see the object but not do this.",
    404: "Not found, or not visible to the caller (no existence leak).",
    409: "Conflicts with the current state, or the same Idempotency-Key is in flight.",
    412: "If-Match names an older version of the ticket or task.",
    413: "The body is over the size limit.",
    415: "The body's media type is not accepted.",
    422: "Invalid values, or an Idempotency-Key reused with another body.",
    429: "Rate limit reached; see Retry-After.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}


def only_v1(endpoints, **kwargs):
    """The schema documents /api/v1/ (the osTicket endpoints are in docs/api.md)."""
    return [e for e in endpoints if e[0].startswith("/api/v1/") and "/schema/" not in e[0]]


def _tighten(parameter: dict, flt) -> dict:
    """A filter's parameter as strict as the filter: ids from 1, no empty strings, the
    form field's length and pattern (helpdesk.api.filters refuses everything else)."""
    schema = dict(parameter.get("schema") or {})
    field = flt.field if flt is not None else None
    if schema.get("type") == "integer":
        schema.update(minimum=1, maximum=MAX_ID)
    elif schema.get("type") == "array":
        items = dict(schema.get("items") or {})
        if items.get("type") == "integer":
            items.update(minimum=1, maximum=MAX_ID)
        schema.update(items=items, maxItems=MAX_BULK_IDS)
    elif schema.get("type") == "string" and "enum" not in schema:
        schema["minLength"] = 1
        max_length = getattr(field, "max_length", None)
        if max_length:
            schema["maxLength"] = max_length
        for validator in getattr(field, "validators", ()):
            if isinstance(validator, RegexValidator):
                regex = validator.regex  # compiled by RegexValidator.__init__
                schema["pattern"] = regex if isinstance(regex, str) else regex.pattern
    return {**parameter, "schema": schema}


class AutoSchema(BaseAutoSchema):
    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        filterset = getattr(self.view, "filterset_class", None)
        filters = filterset.base_filters if filterset is not None else {}
        return [_tighten(p, filters.get(p.get("name"))) for p in parameters]

    def _error_codes(self) -> list[int]:
        codes = [400, 401, 403, 404, 429]
        if self.method in ("POST", "PATCH", "PUT"):
            codes += [409, 412, 413, 415, 422]
        elif self.method == "DELETE":
            codes += [409, 412]
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        component = self.resolve_serializer(ProblemSerializer, "response")
        for code in self._error_codes():
            if str(code) in responses:
                continue
            problem_code, detail, errors = EXAMPLES[code]
            example = {
                "type": PROBLEM_TYPE + problem_code,
                "title": TITLES[code],
                "status": code,
                "detail": detail,
                "code": problem_code,
            }
            if errors:
                example["errors"] = errors
            responses[str(code)] = {
                "description": WHEN[code],
                "content": {MEDIA_TYPE: {"schema": component.ref, "example": example}},
            }
            if code == 429:
                responses[str(code)]["headers"] = RETRY_AFTER
        return responses

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """Nested lists (`many=True`) publish their maximum too, like ListFields do."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        limit = getattr(field, "max_length", None)
        if isinstance(field, serializers.ListSerializer) and limit is not None:
            schema = {**schema, "maxItems": limit}
        return schema

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description="Any unique string (at most 255 characters): a retry with "
                    "the same key and body replays the first answer and creates nothing.",
                )
            )
        return params


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "helpdesk.api.authentication.AgentTokenAuthentication"
    name = "agentToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An agent's personal token (`create_token`, or POST /api/v1/tokens/).",
        }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "helpdesk.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key (`create_api_key`), used from an address it is bound to.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "helpdesk.api.authentication.SessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
