"""Sign-in by username or email, throttling, session rotation, TOTP, logout, password
reset by email, profile."""

import pyotp
import pytest
from django.core import mail
from django.test import Client

from helpdesk.panel import services as panel_services
from helpdesk.panel.models import AgentPreferences, PanelSettings, TotpDevice

from ..factories import AgentFactory
from .conftest import signed_in

AUDIT = "accounts.auditentry"  # a refused sign-in is recorded there, and nothing else

pytestmark = pytest.mark.django_db


def _login(client, login, password="secret", **extra):  # noqa: S107
    return client.post("/scp/login/", {"login": login, "password": password, **extra})


def test_an_agent_signs_in_with_username_or_email(cast):
    for login in ("alex", cast.agent_a.email.upper()):
        client = Client()
        response = _login(client, login)
        assert response.status_code == 302 and response["Location"] == "/scp/"
        assert client.get("/scp/").status_code == 200


def test_sign_in_rotates_the_session_key(cast):
    client = Client()
    session = client.session  # an anonymous session, e.g. planted by an attacker
    session["seen"] = True
    session.save()
    before = client.cookies["sessionid"].value
    assert before == session.session_key
    _login(client, "alex")
    after = client.cookies["sessionid"].value
    assert after != before
    assert client.session["seen"] is True  # rotated, not emptied


def test_a_wrong_password_and_a_client_are_refused_alike(cast, nothing_written):
    with nothing_written(only_new=(AUDIT,)) as watch:
        for login, password in (("alex", "wrong"), (cast.alice.email, "secret"), ("nobody", "x")):
            response = _login(Client(), login, password)
            assert response.status_code == 200
            assert "Wrong username, email or password." in response.content.decode()
    # only the audit log's record of each refusal (the client's names why)
    assert [(r["action"], r["target_repr"], r["detail"]) for r in watch.added[AUDIT]] == [
        ("signin.failed", str(cast.agent_a), "staff panel"),
        ("signin.failed", str(cast.alice), "staff panel, not an agent"),
        ("signin.failed", "nobody", "staff panel"),
    ]


def test_the_next_parameter_stays_inside_the_panel(cast):
    response = _login(Client(), "alex", next="https://evil.test/")
    assert response["Location"] == "/scp/"
    response = _login(Client(), "alex", next="/scp/queues/mine/")
    assert response["Location"] == "/scp/queues/mine/"


def test_sign_in_is_throttled_per_account_whatever_name_is_typed(cast, caplog, nothing_written):
    client = Client(REMOTE_ADDR="10.0.0.1")
    email = cast.agent_a.email
    for login in ("alex", email.title(), email, email.upper(), "alex"):
        assert _login(client, login, "wrong").status_code == 200
    other = Client(REMOTE_ADDR="10.0.0.2")
    with nothing_written():
        response = _login(other, cast.agent_a.email, "secret")
    assert (response.status_code, response["Retry-After"]) == (429, "900")
    assert "Too many failed sign-ins. Wait 15 minutes and try again." in response.content.decode()
    assert "_auth_user_id" not in other.session
    failures = [r.getMessage() for r in caplog.records if r.name == "helpdesk.security"]
    assert len(failures) == 5
    assert failures[0] == (
        f"failed staff panel sign-in for user:{cast.agent_a.pk} (typed 'alex') from 10.0.0.1"
    )


@pytest.mark.parametrize(
    "reset_attempt",
    [
        {"login": "alex", "password": ""},  # no password: nothing is checked
        {"login": "", "password": "secret"},
        {"login": "alice@acme.test", "password": "secret"},  # a client's right password
    ],
)
def test_only_a_right_password_clears_the_failures(cast, reset_attempt):
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(4):
        assert _login(client, "alex", "wrong").status_code == 200
    assert _login(client, **reset_attempt).status_code == 200
    assert "_auth_user_id" not in client.session
    assert _login(client, "alex", "wrong").status_code == 200
    response = _login(Client(REMOTE_ADDR="10.0.0.2"), "alex", "secret")
    assert (response.status_code, response["Retry-After"]) == (429, "900")


def test_a_username_with_capitals_has_one_count_with_its_address(cast):
    """`Maria` signs in as typed (usernames match exactly) and by address: both spellings
    count for her one account, so the limit is not doubled."""
    maria = AgentFactory(username="Maria", email="maria@example.test", department=cast.dept_a)
    client = Client(REMOTE_ADDR="10.0.0.1")
    for login in ("Maria", "Maria", "maria@example.test", "MARIA@example.test", "Maria"):
        assert _login(client, login, "wrong").status_code == 200
    for login in ("Maria", "maria@example.test"):
        response = _login(Client(REMOTE_ADDR="10.0.0.2"), login, "secret")
        assert (response.status_code, response["Retry-After"]) == (429, "900")
    assert _login(Client(REMOTE_ADDR="10.0.0.3"), "maria", "secret").status_code == 200
    assert maria.check_password("secret")


def test_sign_in_is_throttled_per_address(cast):
    client = Client(REMOTE_ADDR="10.0.0.9")
    for i in range(20):
        _login(client, f"someone{i}", "wrong")
    assert _login(client, "alex").status_code == 429
    assert _login(Client(REMOTE_ADDR="10.0.0.10"), "alex").status_code == 302


def test_logout_needs_a_post_and_ends_the_session(cast):
    client = signed_in(cast.agent_a)
    assert client.get("/scp/logout/").status_code == 405
    assert client.post("/scp/logout/").status_code == 302
    assert client.get("/scp/").status_code == 302


def test_password_reset_mails_agents_only_and_the_link_works(
    cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/scp/password-reset/", {"email": cast.alice.email})
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/scp/password-reset/", {"email": cast.agent_a.email})
    assert response["Location"] == "/scp/password-reset/sent/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [cast.agent_a.email]
    link = next(line for line in mail.outbox[0].body.splitlines() if "/scp/password-reset/" in line)
    assert link.startswith("http://127.0.0.1:8000/scp/password-reset/")  # HELPDESK_BASE_URL
    path = link.split("127.0.0.1:8000", 1)[1]
    client = Client()
    form = client.get(path, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-much-better-Pass1", "new_password2": "a-much-better-Pass1"},
    )
    assert done["Location"] == "/scp/password-reset/done/"
    assert _login(Client(), "alex", "a-much-better-Pass1").status_code == 302


# --- two-factor authentication ----------------------------------------------------------
def _enrol(agent):
    device = panel_services.totp_begin(actor=agent)
    assert panel_services.totp_verify(
        agent=agent, code=pyotp.TOTP(device.secret).now(), confirm=True
    )
    return TotpDevice.objects.get(agent=agent)


def test_an_agent_with_an_authenticator_needs_a_code_after_the_password(cast, nothing_written):
    device = _enrol(cast.agent_a)
    device.last_counter = 0  # as if the enrolment code were long ago
    device.save()
    client = Client()
    response = _login(client, "alex")
    assert response["Location"] == "/scp/login/verify/"
    assert client.get("/scp/").status_code == 302  # not signed in yet
    with nothing_written(only_new=(AUDIT,)) as watch:
        wrong = client.post("/scp/login/verify/", {"code": "000000"})
    assert "That code is not right" in wrong.content.decode()
    assert [(r["action"], r["detail"]) for r in watch.added[AUDIT]] == [
        ("signin.failed", "staff panel, wrong second factor")
    ]
    code = pyotp.TOTP(device.secret).now()
    assert client.post("/scp/login/verify/", {"code": code})["Location"] == "/scp/"
    assert client.get("/scp/").status_code == 200
    # the same code cannot be used twice
    other = Client()
    _login(other, "alex")
    with nothing_written(only_new=(AUDIT,)):
        assert (
            "That code is not right"
            in other.post("/scp/login/verify/", {"code": code}).content.decode()
        )


def test_a_session_opened_elsewhere_must_still_pass_the_second_factor(cast):
    _enrol(cast.agent_a)
    client = signed_in(cast.agent_a)  # e.g. signed in through /admin/
    response = client.get("/scp/")
    assert response["Location"] == "/scp/login/verify/"


def test_admins_can_require_two_factor_for_every_agent(cast, nothing_written):
    PanelSettings.objects.create(pk=1, require_2fa=True)
    client = signed_in(cast.agent_a)
    assert client.get("/scp/")["Location"] == "/scp/profile/2fa/"
    page = client.get("/scp/profile/2fa/")
    assert page.status_code == 200
    secret = TotpDevice.objects.get(agent=cast.agent_a).secret
    assert secret in page.content.decode()
    response = client.post("/scp/profile/2fa/", {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == "/scp/profile/2fa/recovery/"  # the codes, shown once
    assert client.get("/scp/").status_code == 200
    # and it cannot be turned off while required
    with nothing_written():
        refused = client.post("/scp/profile/2fa/disable/")
    assert (refused.status_code, refused["Location"]) == (302, "/scp/profile/")
    assert [str(m) for m in refused.wsgi_request._messages] == [
        "Two-factor authentication is required for every agent."
    ]
    assert TotpDevice.objects.filter(agent=cast.agent_a).exists()


def test_two_factor_codes_are_throttled(cast, nothing_written):
    _enrol(cast.agent_a)
    client = Client()
    _login(client, "alex")
    for _ in range(5):
        client.post("/scp/login/verify/", {"code": "123456"})
    with nothing_written():
        response = client.post("/scp/login/verify/", {"code": "123456"})
    assert (response.status_code, response["Retry-After"]) == (429, "900")


# --- profile ------------------------------------------------------------------------------------
def test_the_profile_saves_name_signature_time_zone_language_and_notifications(cast):
    client = signed_in(cast.agent_a)
    response = client.post(
        "/scp/profile/",
        {
            "name": "Alex Martin",
            "signature": "Alex\nSupport",
            "timezone": "Europe/Paris",
            "language": "",
            "page_size": "50",
            "notify_assigned": "on",
        },
    )
    assert response.status_code == 302
    cast.agent_a.refresh_from_db()
    assert (cast.agent_a.name, cast.agent_a.signature, cast.agent_a.timezone) == (
        "Alex Martin",
        "Alex\nSupport",
        "Europe/Paris",
    )
    prefs = AgentPreferences.objects.get(agent=cast.agent_a)
    assert prefs.page_size == 50 and prefs.notify_assigned and not prefs.notify_new_ticket


def test_a_bad_profile_is_refused_with_nothing_saved(cast, nothing_written):
    client = signed_in(cast.agent_a)
    with nothing_written():
        response = client.post(
            "/scp/profile/", {"name": "X", "timezone": "Mars/Olympus", "page_size": "7"}
        )
    assert response.status_code == 422
    cast.agent_a.refresh_from_db()
    assert response.context["form"].errors == {
        "timezone": ["Select a valid choice. Mars/Olympus is not one of the available choices."],
        "page_size": ["Select a valid choice. 7 is not one of the available choices."],
    }
    assert cast.agent_a.name != "X"
    assert not AgentPreferences.objects.filter(agent=cast.agent_a).exists()


def test_the_agents_time_zone_applies_to_their_request_only(cast, ticket_a):
    import datetime as dt

    from django.utils import timezone

    cast.agent_a.timezone = "Asia/Tokyo"
    cast.agent_a.save()
    # not on the hour: Django writes 2 p.m. for 14:00, which the check below would miss
    ticket_a.created_at = dt.datetime(2026, 3, 2, 5, 37, tzinfo=dt.UTC)
    type(ticket_a).objects.filter(pk=ticket_a.pk).update(created_at=ticket_a.created_at)
    html = signed_in(cast.agent_a).get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    created = timezone.localtime(ticket_a.created_at, timezone.get_fixed_timezone(9 * 60))
    assert f"{created:%-I}:{created:%M}" in html
    assert timezone.get_current_timezone_name() == "UTC"  # nothing leaks to the thread
