"""The OpenAPI schema: generated without warnings, served with self-hosted docs, and a
bounded schemathesis run against it (no 500, no response outside the schema)."""

import json
import re

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from ..factories import open_ticket

MAX_EXAMPLES = 6


def test_the_schema_generates_without_warnings(tmp_path, db):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")

    text = out.read_text()
    assert "/api/v1/tickets/{number}/assign/:" in text
    assert "/api/v1/tasks/{number}/close/:" in text
    assert "/api/v1/tickets/{number}/tasks/:" in text
    assert "application/problem+json" in text
    assert "Idempotency-Key" in text


def test_performance_mixins_leave_the_published_schema_alone(db):
    """Serializer mixins (FieldsBuiltOnce, FlatRef) carry no docstring: drf-spectacular
    would publish it as the description of every serializer using them."""
    raw = SchemaGenerator().get_schema(request=None, public=True)
    components = raw["components"]["schemas"]
    for name in ("Ticket", "Entry", "Event", "Ref", "StatusRef", "PersonRef", "TopicRef"):
        assert "description" not in components[name], name
    assert set(components["Ref"]["properties"]) == {"id", "name"}
    assert set(components["StatusRef"]["properties"]) == {"id", "name", "state"}


def test_the_schema_and_docs_are_served_without_any_cdn(db):
    client = Client()
    schema = client.get("/api/v1/schema/")
    docs = client.get("/api/v1/docs/")
    redoc = client.get("/api/v1/redoc/")

    assert schema.status_code == docs.status_code == redoc.status_code == 200
    page = docs.content.decode() + redoc.content.decode()
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", page)
    assert external == []
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in page


@pytest.fixture
def _keep_connection():
    """As Django's test client does: the WSGI handler must not close the test's
    connection (and its transaction) after each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_headers(cast, _keep_connection):
    from .conftest import Api, new_task

    ticket = open_ticket(cast.alice, department=cast.dept_a)
    new_task(cast.admin, ticket=ticket)  # the task lists answer a row
    client = Api(cast).agent(cast.admin)
    return {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}


def _load_schema():
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(raw)))


schema = _load_schema()
APP = get_wsgi_application()


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_honours_its_schema(case, fuzz_headers):
    case.call_and_validate(
        app=APP,
        headers=fuzz_headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


# The list filters, fuzzed harder: valid and invalid values of every query parameter of
# the lists (they are in the schema with their types). Invalid ones must be refused
# (negative_data_rejection: a 4xx, never a filter dropped and "everything" answered).
lists = _load_schema().include(method="GET", path_regex=r"^/api/v1/(tickets|tasks|users)/$")
lists.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@lists.parametrize()
@hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_list_filters_refuse_what_the_schema_refuses(case, fuzz_headers):
    response = case.call(app=APP, headers=fuzz_headers)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
    )
    if response.status_code == 400:
        body = response.json()
        assert body["code"] == "invalid" and body["errors"], body  # names the parameter
