"""osTicket's API keys: an existing key registered as it is (`create_api_key --key`),
compared case-insensitively as osTicket's column compares them, and a key without
departments (as osTicket's, as the README makes one) acting for the whole helpdesk."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actors import SYSTEM
from accounts.apikeys import actor_for_key, api_key_create, api_key_find, api_key_update
from accounts.errors import ValidationFailed
from accounts.models import ApiKey
from tickets.models import HelpdeskSettings, Ticket

from ..factories import open_ticket
from ..osticket_clients import rcron, sample_client

OSTICKET_KEY = "BA00B76BAA30F62E1940B46CC1C3C73C"  # the shape osTicket makes: md5, upper-cased
REQUEST = {
    "name": "Jane Roe",
    "email": "jane@example.net",
    "subject": "Printer jam",
    "message": "The printer on the second floor is jammed.",
    "ip": "10.0.0.7",
    "attachments": [],
}


def create_api_key(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "--ip", "127.0.0.1", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


@pytest.fixture
def defaults(cast):
    config = HelpdeskSettings.load()
    config.default_department = cast.dept_b  # a department no key names
    config.save()
    return cast


def test_an_osticket_key_is_registered_and_accepted_in_either_case(defaults):
    printed, told = create_api_key("--can-create-tickets", "--key", OSTICKET_KEY.lower())

    assert printed == OSTICKET_KEY and told == "Scope: the whole helpdesk."
    key = ApiKey.objects.get()
    assert (key.key_prefix, key.all_departments, key.can_create_tickets) == (
        OSTICKET_KEY[:8],
        True,
        True,
    )
    for sent in (OSTICKET_KEY, OSTICKET_KEY.lower(), "ba00b76bAA30F62E1940b46cc1c3c73c"):
        response = sample_client(REQUEST, sent)
        assert response.status_code == 201, response.content
        number = response.content.decode()
        assert str(int(number)) == number  # the sample client's (int) cast
        assert Ticket.objects.get(number=number).department == defaults.dept_b


def test_a_new_key_is_accepted_in_lower_case_too(defaults):
    secret = api_key_create(actor=SYSTEM, name="x", allowed_ips=["127.0.0.1"], can_exec_cron=True)[
        1
    ]

    assert secret == secret.upper()
    assert rcron(secret.lower()).status_code == 200  # rcron.php wants exactly 200


def test_the_lookup_is_one_query_on_the_hash(db):
    key, _ = api_key_create(actor=SYSTEM, name="x", allowed_ips=["127.0.0.1"], secret=OSTICKET_KEY)

    with CaptureQueriesContext(connection) as queries:
        found = api_key_find(OSTICKET_KEY.lower())

    assert found is not None and found.pk == key.pk
    assert len(queries) == 1 and "key_hash" in queries[0]["sql"]


@pytest.mark.parametrize(
    "value",
    [
        "not-a-key",
        OSTICKET_KEY[:-1],  # 31 digits
        OSTICKET_KEY + "0",  # 33
        "G" * 32,
        OSTICKET_KEY[:16] + " " + OSTICKET_KEY[17:],
        "",
    ],
)
def test_a_key_of_another_shape_is_refused_and_nothing_written(db, value, nothing_written):
    with nothing_written(), pytest.raises(CommandError) as refused:
        create_api_key("--can-create-tickets", "--key", value)

    assert str(refused.value) == "An osTicket API key is 32 hexadecimal digits (0-9, A-F)."


def test_a_key_registered_twice_in_any_case_is_refused_and_nothing_written(db, nothing_written):
    create_api_key("--can-create-tickets", "--key", OSTICKET_KEY)

    with nothing_written(), pytest.raises(CommandError) as refused:
        create_api_key("--can-exec-cron", "--key", OSTICKET_KEY.lower())

    assert str(refused.value) == "This API key is already registered."
    assert ApiKey.objects.get().can_exec_cron is False


# --- scope ---------------------------------------------------------------------------


def test_which_keys_are_for_the_whole_helpdesk(cast):
    def made(*args: str) -> ApiKey:
        printed, _ = create_api_key(*args)
        return api_key_find(printed)

    assert made("--can-create-tickets").all_departments is True
    assert (
        made("--can-create-tickets", "--write-department", cast.dept_a.name).all_departments
        is False
    )
    assert made("--can-exec-cron").all_departments is False  # a cron key touches no ticket


def test_a_key_for_the_whole_helpdesk_reads_and_writes_every_department(api, cast):
    a = open_ticket(cast.alice, department=cast.dept_a)
    b = open_ticket(cast.bob, department=cast.dept_b)
    whole = api.key(can_create_tickets=True)
    actor = actor_for_key(api_key_find(whole.secret))

    listed = whole.get("/api/v1/tickets/")

    assert {t["number"] for t in listed.json()["results"]} == {a.number, b.number}
    assert (
        actor.all_departments
        and actor.may_write(cast.dept_a.pk)
        and actor.may_write(cast.dept_b.pk)
    )
    cron = api.key(can_exec_cron=True)
    assert cron.get("/api/v1/tickets/").json()["results"] == []


def test_a_whole_helpdesk_key_names_no_department(cast, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as refused:
        api_key_create(
            actor=SYSTEM,
            name="x",
            allowed_ips=["127.0.0.1"],
            all_departments=True,
            write_departments=[cast.dept_a],
        )
    assert refused.value.code == "scope_ambiguous"

    key, _ = api_key_create(
        actor=SYSTEM, name="x", allowed_ips=["127.0.0.1"], can_create_tickets=True
    )
    with pytest.raises(ValidationFailed):
        api_key_update(actor=SYSTEM, key=key, data={}, scopes={"read_departments": [cast.dept_a]})
    key = ApiKey.objects.get(pk=key.pk)
    assert key.all_departments and not key.read_departments.exists()

    api_key_update(
        actor=SYSTEM,
        key=key,
        data={"all_departments": False},
        scopes={"write_departments": [cast.dept_a]},
    )
    assert actor_for_key(ApiKey.objects.get(pk=key.pk)).write_departments == {cast.dept_a.pk}


def test_the_migration_gives_the_whole_helpdesk_to_keys_that_create_tickets_unscoped(cast):
    from importlib import import_module

    migration = import_module("accounts.migrations.0009_apikey_all_departments")
    readme = api_key_create(
        actor=SYSTEM, name="readme", allowed_ips=["127.0.0.1"], can_create_tickets=True,
        all_departments=False,
    )[0]  # fmt: skip
    cron = api_key_create(actor=SYSTEM, name="cron", allowed_ips=["127.0.0.1"], can_exec_cron=True)[
        0
    ]
    scoped = api_key_create(
        actor=SYSTEM, name="scoped", allowed_ips=["127.0.0.1"], can_create_tickets=True,
        read_departments=[cast.dept_a],
    )[0]  # fmt: skip

    migration.unscoped_keys_cover_the_helpdesk(apps, None)

    found = dict(ApiKey.objects.values_list("name", "all_departments"))
    assert found == {readme.name: True, cron.name: False, scoped.name: False}
