"""The panel's and the portal's list pages (queues, search, directories, the ticket
list, the knowledge base) never answer 500, whatever their query string says."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..factories import open_ticket
from .conftest import signed_in

PANEL = {
    "/scp/": ("sort", "cursor", "page"),
    "/scp/queues/mine/": ("sort", "cursor"),
    "/scp/queues/closed/": ("sort", "cursor"),
    "/scp/search/": ("q", "suggest", "cursor", "sort"),
    "/scp/search/advanced/": (
        "q",
        "state",
        "status",
        "department",
        "priority",
        "topic",
        "assignee",
        "team",
        "source",
        "overdue",
        "answered",
        "created_after",
        "created_before",
        "requester",
    ),
    "/scp/users/": ("q", "cursor"),
    "/scp/orgs/": ("q", "cursor"),
    "/scp/tickets/new/": ("user", "topic"),
    "/scp/tickets/new/fields/": ("topic",),
    "/scp/kb/": ("q", "category"),
}
PORTAL = {
    "/tickets/": ("state", "q", "page"),
    "/kb/search/": ("q", "page"),
    "/open/": ("topic",),
    "/open/fields/": ("topic",),
}
NASTY = [
    "",
    " ",
    "\x00",
    "-1",
    "0",
    "1e309",
    "99999999999999999999999999",
    "x" * 5000,
    "'; DROP TABLE tickets_ticket; --",
    "%",
    "\u202e\ufeff",
    "2026-02-30",
    "-updated_at,subject",
    "me",
    "none",
]
values = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))


def _query(params, draw_values) -> dict:
    return dict(zip(params, draw_values, strict=False))


def _check(client, url, params, data):
    query = _query(params, data)
    response = client.get(url, {**query, **{f"{p}": [v, v] for p, v in list(query.items())[:1]}})
    assert response.status_code == 200, (url, query)  # the page, with defaults or errors


@pytest.mark.parametrize("url", sorted(PANEL))
def test_panel_pages_never_fail_on_their_parameters(cast, url):
    open_ticket(cast.alice, department=cast.dept_a)
    client = signed_in(cast.admin)

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(values, min_size=len(PANEL[url]), max_size=len(PANEL[url])))
    def run(data):
        _check(client, url, PANEL[url], data)

    run()


@pytest.mark.parametrize("url", sorted(PORTAL))
def test_portal_pages_never_fail_on_their_parameters(cast, url):
    open_ticket(cast.alice, department=cast.dept_a)
    client = signed_in(cast.alice)

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(values, min_size=len(PORTAL[url]), max_size=len(PORTAL[url])))
    def run(data):
        _check(client, url, PORTAL[url], data)

    run()
