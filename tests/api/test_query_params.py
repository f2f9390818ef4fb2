"""Query parameters of every list: a malformed, empty, repeated or unknown one is a 400
problem naming it, never a 500 and never a filter silently dropped."""

import base64
import json

import pytest

from .conftest import problem

NOT_A_CHOICE = "Select a valid choice. That choice is not one of the available choices."
BAD_CURSOR = "Invalid cursor: use the next or previous link as given."


def _cursor(value: str) -> str:
    """A cursor as ours are made (helpdesk.keyset.encode), holding `value`."""
    raw = json.dumps({"k": "-updated_at", "v": value, "i": 1, "b": False}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "query,param,message",
    [
        ("answered=maybe", "answered", "Give true or false."),
        ("overdue=", "overdue", "Give a value, or leave the parameter out."),
        ("updated_since=", "updated_since", "Give a value, or leave the parameter out."),
        ("updated_since=yesterday", "updated_since", "Enter a valid date/time."),
        ("created_after=2026-13-45T00:00:00Z", "created_after", "Enter a valid date/time."),
        ("department=abc", "department", NOT_A_CHOICE),
        ("department=0", "department", NOT_A_CHOICE),
        ("department=99999999999999999999999", "department", NOT_A_CHOICE),
        (
            "status=1&status=x",
            "status",
            "Select a valid choice. x is not one of the available choices.",
        ),
        (
            "state=bogus",
            "state",
            "Select a valid choice. bogus is not one of the available choices.",
        ),
        ("assignee=someone", "assignee", "An agent id, me or none."),
        ("answered=true&answered=false", "answered", "Give this parameter at most 1 time(s)."),
        ("q=" + "x" * 201, "q", "Ensure this value has at most 200 characters (it has 201)."),
        ("answerd=true", "answerd", "Unknown parameter."),
        ("page_size=0", "page_size", "A whole number from 1 to 100."),
        ("page_size=", "page_size", "A whole number from 1 to 100."),
        ("cursor=", "cursor", BAD_CURSOR),
        ("cursor=garbage", "cursor", BAD_CURSOR),
        (
            "updated_since=9999-12-31T23:59:59-01:00",  # 10000-01-01 in UTC
            "updated_since",
            "Give a time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.",
        ),
        (
            "created_before=9999-12-31T23:30:00-00:45",
            "created_before",
            "Give a time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.",
        ),
        (
            "created_after=0001-01-01T00:00:00%2B01:00",  # year 0 in UTC
            "created_after",
            "Give a time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.",
        ),
        ("cursor=" + _cursor("9999-12-31T23:59:59-01:00"), "cursor", BAD_CURSOR),
        ("cursor=" + _cursor("0001-01-01T00:30:00+01:00"), "cursor", BAD_CURSOR),
        ("cursor=" + _cursor("2026-01-01T00:00:00"), "cursor", BAD_CURSOR),  # no offset: not ours
        (
            "ordering=subject",
            "ordering",
            "Choose one of: -updated_at, updated_at, -created_at, created_at.",
        ),
    ],
)
def test_a_bad_ticket_list_parameter_is_a_400_naming_it(api, cast, ticket_a, query, param, message):
    response = api.agent(cast.admin).get(f"/api/v1/tickets/?{query}")

    assert response.status_code == 400, response.content
    body = problem(response)
    assert list(body["errors"]) == [param]
    assert body["errors"][param] == [message]


def test_good_values_still_filter(api, cast, ticket_a, ticket_b):
    client = api.agent(cast.admin)

    unanswered = client.get("/api/v1/tickets/?answered=false").json()["results"]
    answered = client.get("/api/v1/tickets/?answered=1").json()["results"]
    in_a = client.get(f"/api/v1/tickets/?department={cast.dept_a.pk}&format=json").json()

    assert {t["number"] for t in unanswered} == {ticket_a.number, ticket_b.number}
    assert answered == []
    assert [t["number"] for t in in_a["results"]] == [ticket_a.number]


@pytest.mark.parametrize(
    "query",
    [
        "updated_since=9999-12-31T23:59:59Z",
        "created_after=0001-01-01T00:00:00Z",
        "created_before=9999-12-31T23:00:00-00:59",
        "updated_after=0001-01-01T00:59:00%2B00:59",
        "cursor=" + _cursor("9999-12-31T23:59:59+00:00"),
    ],
)
def test_the_first_and_last_times_the_database_holds_are_valid(api, cast, ticket_a, query):
    response = api.agent(cast.admin).get(f"/api/v1/tickets/?{query}")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "path",
    ["entries/", "events/"],
)
def test_thread_lists_refuse_unknown_parameters_too(api, cast, ticket_a, path):
    response = api.agent(cast.agent_a).get(f"/api/v1/tickets/{ticket_a.number}/{path}?kind=note")

    assert response.status_code == 400
    assert problem(response)["errors"] == {"kind": ["Unknown parameter."]}


def test_the_user_directory_filters_by_email_and_refuses_the_rest(api, cast):
    client = api.agent(cast.admin)

    found = client.get(f"/api/v1/users/?email={cast.alice.email.upper()}").json()["results"]
    empty = client.get("/api/v1/users/?email=")
    unknown = client.get("/api/v1/users/?name=alice")

    assert [u["id"] for u in found] == [cast.alice.pk]
    assert (empty.status_code, unknown.status_code) == (400, 400)
    assert problem(empty)["errors"] == {"email": ["Give a value, or leave the parameter out."]}
    assert problem(unknown)["errors"] == {"name": ["Unknown parameter."]}


def test_reference_lists_refuse_unknown_parameters(api, cast):
    response = api.agent(cast.agent_a).get("/api/v1/departments/?name=Support")

    assert response.status_code == 400
    assert problem(response)["errors"] == {"name": ["Unknown parameter."]}
