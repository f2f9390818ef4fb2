import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.apikeys import (
    actor_for_key,
    api_key_create,
    api_key_find,
    secret_hash,
    token_create,
    token_find,
)
from accounts.models import AgentToken, ApiKey

from ..factories import AgentFactory
from .conftest import problem


def test_without_credentials_the_api_answers_401_with_a_problem(api):
    response = api.anonymous().get("/api/v1/tickets/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert problem(response)["code"] == "not_authenticated"


def test_an_unknown_token_is_refused(api):
    client = api.anonymous()
    client.credentials(HTTP_AUTHORIZATION="Bearer hdt_nope")

    response = client.get("/api/v1/tickets/")

    assert response.status_code == 401
    assert problem(response)["detail"] == "Invalid, revoked or expired token."


def test_a_token_acts_as_its_agent_and_records_its_use(api, cast, ticket_a):
    client = api.agent(cast.agent_a)

    response = client.get(f"/api/v1/tickets/{ticket_a.number}/")

    assert response.status_code == 200
    assert AgentToken.objects.get(user=cast.agent_a).last_used_at is not None


def test_a_token_its_agent_and_the_role_are_read_in_one_query(cast):
    agent = cast.agent_a
    agent.permissions = ["user.create"]
    agent.save()
    token, secret = token_create(actor=SYSTEM, user=agent, name="ci")
    token_create(actor=SYSTEM, user=cast.agent_b, name="other")
    with CaptureQueriesContext(connection) as queries:
        found = token_find(secret)
        values = (
            found.pk,
            found.name,
            found.created_at,
            found.user.username,
            found.user.permissions,
            found.user.date_joined,
            found.user.role.name,
            sorted(found.user.role.permissions)[:1],
        )
    assert len(queries) == 1
    assert values[:2] == (token.pk, "ci")
    assert isinstance(values[2], dt.datetime) and values[2].tzinfo is not None
    assert values[3:5] == ("alex", ["user.create"])
    assert isinstance(values[5], dt.datetime)
    assert values[6] == agent.role.name and values[7]
    assert found.user == agent and found.user.role == agent.role
    assert found.is_usable and not found._state.adding
    assert token_find(secret + "x") is None and token_find("") is None


def test_a_revoked_token_is_refused(api, cast):
    client = api.agent(cast.agent_a)
    token = AgentToken.objects.get(user=cast.agent_a)

    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    response = client.get("/api/v1/tickets/")

    assert response.status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_expired_token_is_refused(api, cast):
    client = api.agent(cast.agent_a)
    AgentToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert client.get("/api/v1/tickets/").status_code == 401


def test_a_token_of_a_deactivated_agent_is_refused(api, cast):
    client = api.agent(cast.agent_a)
    cast.agent_a.is_active = False
    cast.agent_a.save()

    assert client.get("/api/v1/tickets/").status_code == 401


def test_tokens_are_stored_hashed_and_shown_once(api, cast):
    client = api.agent(cast.agent_b)

    response = client.post("/api/v1/tokens/", {"name": "ci"}, format="json")

    assert response.status_code == 201
    secret = response.json()["token"]
    row = AgentToken.objects.get(pk=response.json()["id"])
    assert row.token_hash == secret_hash(secret) and secret not in str(row.__dict__)
    listed = client.get("/api/v1/tokens/").json()["results"]
    assert {t["name"] for t in listed} == {"tests", "ci"}
    assert all("token" not in t for t in listed)


def test_an_agent_cannot_create_or_revoke_tokens_of_others(api, cast, nothing_written):
    other = api.agent(cast.agent_b)
    theirs = AgentToken.objects.get(user=cast.agent_b)
    client = api.agent(cast.agent_a)

    with nothing_written():
        created = client.post(
            "/api/v1/tokens/", {"name": "x", "user": cast.agent_b.pk}, format="json"
        )
        revoked = client.delete(f"/api/v1/tokens/{theirs.pk}/")

    assert created.status_code == 403
    assert problem(created)["code"] == "permission_denied"
    assert revoked.status_code == 404
    assert problem(revoked)["code"] == "token_not_found"
    assert AgentToken.objects.filter(user=cast.agent_b).count() == 1
    assert other.get("/api/v1/tickets/").status_code == 200


def test_an_admin_creates_a_token_for_an_agent(api, cast):
    response = api.agent(cast.admin).post(
        "/api/v1/tokens/", {"name": "for bea", "user": cast.agent_b.pk}, format="json"
    )

    assert response.status_code == 201
    assert AgentToken.objects.get(pk=response.json()["id"]).user == cast.agent_b


def test_clients_have_no_tokens(api, cast, nothing_written):
    client = api.client_user(cast.alice)
    with nothing_written():
        response = client.post("/api/v1/tokens/", {"name": "x"}, format="json")

    assert response.status_code == 403
    assert problem(response)["code"] == "permission_denied"
    assert not AgentToken.objects.exists()


def test_an_api_key_works_only_from_its_addresses(api, cast, ticket_a):
    inside = api.key(ips=["127.0.0.0/8"], read=[cast.dept_a])
    outside = api.key(ips=["10.1.2.3"], read=[cast.dept_a])

    assert inside.get(f"/api/v1/tickets/{ticket_a.number}/").status_code == 200
    response = outside.get(f"/api/v1/tickets/{ticket_a.number}/")
    assert response.status_code == 401
    assert problem(response)["detail"] == "Valid API key required."


def test_an_api_key_and_its_department_scope_are_read_in_one_query(cast):
    key, secret = api_key_create(
        actor=SYSTEM,
        name="scoped",
        allowed_ips=["127.0.0.1"],
        read_departments=[cast.dept_a],
        write_departments=[cast.dept_b],
    )
    api_key_create(actor=SYSTEM, name="other", allowed_ips=["127.0.0.1"])  # unrelated
    with CaptureQueriesContext(connection) as queries:
        found = api_key_find(secret)
        actor = actor_for_key(found)
    assert len(queries) == 1
    assert found.pk == key.pk and found.name == "scoped" and found.allowed_ips == ["127.0.0.1/32"]
    assert actor.read_departments == {cast.dept_a.pk, cast.dept_b.pk}  # writing implies reading
    assert actor.write_departments == {cast.dept_b.pk}
    bare = api_key_find(api_key_create(actor=SYSTEM, name="bare", allowed_ips=["::1"])[1])
    assert actor_for_key(bare).read_departments == frozenset()
    assert api_key_find("0" * 32) is None


def test_a_key_with_several_departments_each_way_reads_its_whole_scope(cast):
    from routing.models import Department

    third = Department.objects.create(name="Sales")
    key, secret = api_key_create(
        actor=SYSTEM,
        name="wide",
        allowed_ips=["127.0.0.1"],
        read_departments=[cast.dept_a, cast.dept_b, third],
        write_departments=[cast.dept_b, third],
    )
    with CaptureQueriesContext(connection) as queries:
        found = api_key_find(secret.upper())  # either case, as osTicket compares keys
    assert len(queries) == 1
    assert found == key and found.key_hash == key.key_hash
    assert found.department_scope == (
        frozenset({cast.dept_a.pk, cast.dept_b.pk, third.pk}),
        frozenset({cast.dept_b.pk, third.pk}),
    )
    assert found.created_at == ApiKey.objects.get(pk=key.pk).created_at


def test_an_inactive_api_key_is_refused(api, cast):
    client = api.key(read=[cast.dept_a])
    ApiKey.objects.update(is_active=False)

    assert client.get("/api/v1/tickets/").status_code == 401


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(api, cast, settings, ticket_a):
    client = api.key(ips=["203.0.113.7"], read=[cast.dept_a])
    url = f"/api/v1/tickets/{ticket_a.number}/"

    assert client.get(url, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 401
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert client.get(url, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 200


def test_sessions_work_for_the_browsable_api(api, cast, ticket_a):
    response = api.client_user(cast.alice).get(f"/api/v1/tickets/{ticket_a.number}/")

    assert response.status_code == 200
    assert response.json()["number"] == ticket_a.number


def test_create_token_command_prints_a_working_token(api, cast, capsys, ticket_a):
    call_command("create_token", "alex")
    secret = capsys.readouterr().out.strip()

    client = api.anonymous()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get(f"/api/v1/tickets/{ticket_a.number}/").status_code == 200


def test_create_api_key_command_prints_a_key_with_its_capabilities(cast, capsys):
    call_command("create_api_key", "--ip", "127.0.0.1", "--can-create-tickets")
    secret = capsys.readouterr().out.strip()

    key = ApiKey.objects.get(key_hash=secret_hash(secret))
    assert len(secret) == 32 and secret == secret.upper()
    assert key.allowed_ips == ["127.0.0.1/32"]
    assert key.can_create_tickets and not key.can_exec_cron


def test_create_api_key_refuses_a_bad_address(cast, nothing_written):
    with (
        nothing_written(),
        pytest.raises(CommandError, match=r"Not an address or network: 300\.1\.1\.1"),
    ):
        call_command("create_api_key", "--ip", "300.1.1.1")
    assert not ApiKey.objects.exists()


def test_callers_are_throttled_per_token_with_retry_after(api, cast, tight_throttle):
    client = api.agent(cast.agent_a)
    other = api.agent(AgentFactory(department=cast.dept_a))

    codes = [client.get("/api/v1/tickets/").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/tickets/")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert problem(response)["code"] == "throttled"
    assert other.get("/api/v1/tickets/").status_code == 200


def test_anonymous_calls_are_throttled_per_address(api, tight_throttle):
    codes = [api.anonymous().get("/api/v1/tickets/").status_code for _ in range(3)]

    assert codes == [401, 401, 429]
