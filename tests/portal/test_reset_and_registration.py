"""Password reset and registration, in the panel and the portal: a new link voids the
older ones, limits per account and per address, and the same words, the same work and
the same time whether the address has an account or not."""

import re
import statistics
import time

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from helpdesk.portal.models import EmailVerification, PortalSettings

URL = re.compile(r"https?://[^/\s]+(/[^\s]+/)")
REGISTER = {"name": "Nora New", "password1": "plum-tree-42", "password2": "plum-tree-42"}


class FastPBKDF2(PBKDF2PasswordHasher):
    """A real, slow-ish hasher (tens of milliseconds): skipping it shows in the time."""

    algorithm = "pbkdf2_fast"
    iterations = 60_000


def _path(message) -> str:
    return URL.search(message.body).group(1)


CSRF = re.compile(rb'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+')


def _page(response) -> tuple:
    """Where the answer led and what it said (the per-request CSRF token masked)."""
    return response.redirect_chain, CSRF.sub(rb"\1...", response.content)


def _reset(client, email, url="/password/reset/"):
    return client.post(url, {"email": email})


# --- a new link voids the older ones -------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "who"), [("/password/reset/", "alice"), ("/scp/password-reset/", "agent_a")]
)
def test_a_new_reset_link_voids_the_older_ones(
    helpdesk, url, who, django_capture_on_commit_callbacks
):
    user = getattr(helpdesk, who)
    with django_capture_on_commit_callbacks(execute=True):
        _reset(Client(), user.email, url)
        _reset(Client(), user.email, url)
    first, second = (_path(m) for m in mail.outbox)
    old = Client().get(first, follow=True)
    assert old.context["validlink"] is False
    new = Client()
    form = new.get(second, follow=True)
    assert form.context["validlink"] is True
    done = new.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-much-better-Pass1", "new_password2": "a-much-better-Pass1"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-much-better-Pass1")


# --- limits ------------------------------------------------------------------------------


def test_reset_mails_are_limited_per_account_with_the_same_answer(
    helpdesk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            _reset(Client(REMOTE_ADDR=f"198.51.100.{i}"), "alice@acme.test") for i in range(5)
        ]
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, "/password/reset/sent/")}
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]] * 3


@pytest.mark.parametrize(("url", "limit"), [("/password/reset/", 5), ("/scp/password-reset/", 10)])
def test_reset_requests_are_limited_per_address_with_retry_after(
    helpdesk, url, limit, django_capture_on_commit_callbacks, nothing_written
):
    client = Client(REMOTE_ADDR="203.0.113.5")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for i in range(limit):
            assert _reset(client, f"someone{i}@example.org", url).status_code == 302
        with nothing_written():
            refused = _reset(client, helpdesk.agent_a.email, url)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "Too many requests from your network" in refused.content.decode()
    assert len(callbacks) == limit and mail.outbox == []  # nothing for the refused one


# --- the same words, work and time whether the address exists ----------------------------


def _shape(sql: str) -> str:
    """A statement without its values (addresses, times, hashes): the work it does."""
    return re.sub(r"\b\d+\b", "?", re.sub(r"'(?:[^']|'')*'", "?", sql))


def _timed(post, rounds=9) -> tuple[float, float]:
    """Median seconds of post(True) (an address with an account) and post(False)."""
    known, unknown = [], []
    post(True), post(False)  # warm both paths (templates, caches) before timing
    for _ in range(rounds):
        for exists, times in ((True, known), (False, unknown)):
            start = time.perf_counter()
            post(exists)
            times.append(time.perf_counter() - start)
    return statistics.median(known), statistics.median(unknown)


@pytest.mark.parametrize(
    ("url", "email"),
    [("/password/reset/", "alice@acme.test"), ("/scp/password-reset/", "alex@example.test")],
)
def test_reset_answers_the_same_words_and_work_whether_the_address_exists(
    helpdesk, url, email, django_capture_on_commit_callbacks
):
    helpdesk.agent_a.email = "alex@example.test"
    helpdesk.agent_a.save()
    PortalSettings.load()  # the settings row exists, as it does after the first request
    pages, queries = {}, {}
    for address in (email, "nobody@example.org"):
        client = Client(REMOTE_ADDR="192.0.2.1")
        with (
            django_capture_on_commit_callbacks(execute=False) as callbacks,
            CaptureQueriesContext(connection) as ctx,
        ):
            response = client.post(url, {"email": address}, follow=True)
        assert len(callbacks) == 1  # the mail task, queued in both cases
        pages[address] = _page(response)
        queries[address] = [_shape(q["sql"]) for q in ctx.captured_queries]
    assert pages[email] == pages["nobody@example.org"]
    assert queries[email] == queries["nobody@example.org"]

    def post(exists):
        with django_capture_on_commit_callbacks(execute=False):
            Client().post(url, {"email": email if exists else "nobody@example.org"})

    known, unknown = _timed(post, rounds=11)
    # the same code path: only noise apart (a mail sent inline, or a lookup and a
    # token for one side only, would show; the machine is shared, hence the margin)
    assert abs(known - unknown) < max(0.015, 0.3 * max(known, unknown)), (known, unknown)


def test_registration_answers_the_same_words_work_and_time_whether_the_address_exists(
    helpdesk, settings, django_capture_on_commit_callbacks
):
    settings.PASSWORD_HASHERS = ["tests.portal.test_reset_and_registration.FastPBKDF2"]
    PortalSettings.load()  # the settings row exists, as it does after the first request
    pages, queries = {}, {}
    for address in ("alice@acme.test", "nora@example.org"):
        with (
            django_capture_on_commit_callbacks(execute=False) as callbacks,
            CaptureQueriesContext(connection) as ctx,
        ):
            response = Client().post("/register/", {**REGISTER, "email": address}, follow=True)
        assert len(callbacks) == 1  # the registration task, queued in both cases
        pages[address] = _page(response)
        queries[address] = [_shape(q["sql"]) for q in ctx.captured_queries]
    assert pages["alice@acme.test"] == pages["nora@example.org"]
    assert queries["alice@acme.test"] == queries["nora@example.org"]

    def post(exists):
        with django_capture_on_commit_callbacks(execute=False):
            email = "alice@acme.test" if exists else "nora@example.org"
            Client().post("/register/", {**REGISTER, "email": email})

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    known, unknown = _timed(post, rounds=9)
    # both hash the password (tens of ms); skipping it on one side would halve the time
    assert min(known, unknown) / max(known, unknown) > 0.75, (known, unknown)


def test_registration_mails_are_limited_per_account(helpdesk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            Client(REMOTE_ADDR=f"198.51.100.{i}").post(
                "/register/", {**REGISTER, "email": "nora@example.org"}
            )
            for i in range(4)
        ]
    assert {a["Location"] for a in answers} == {"/register/sent/"}
    assert [m.to for m in mail.outbox] == [["nora@example.org"]] * 3
    assert EmailVerification.objects.count() == 3
    assert not User.objects.filter(email="nora@example.org").exists()


# --- without a broker (`make run` without Redis) the links still go out -------------------


@pytest.mark.parametrize(
    ("url", "email"),
    [("/password/reset/", "alice@acme.test"), ("/scp/password-reset/", "alex@example.test")],
)
def test_without_a_broker_the_reset_mail_is_sent_by_the_periodic_job_not_the_request(
    helpdesk, url, email
):
    from helpdesk.cron import run_job
    from helpdesk.outbox.models import OutboxTask

    from ..redis_process import celery_broker

    helpdesk.agent_a.email = "alex@example.test"
    helpdesk.agent_a.save()
    with celery_broker("memory://"):
        assert _reset(Client(), email, url).status_code == 302
        assert mail.outbox == [] and OutboxTask.objects.count() == 1

        while run_job("outbox_drain"):
            pass

    assert [m.to for m in mail.outbox] == [[email]]
    assert "/reset/" in _path(mail.outbox[0]) or "password" in _path(mail.outbox[0])
    assert not OutboxTask.objects.exists()


def test_without_a_broker_a_registration_is_mailed_by_the_periodic_job(helpdesk):
    from helpdesk.cron import run_job
    from helpdesk.outbox.models import OutboxTask

    from ..redis_process import celery_broker

    with celery_broker("memory://"):
        response = Client().post("/register/", {**REGISTER, "email": "nora@example.org"})
        assert response.status_code == 302
        assert mail.outbox == [] and OutboxTask.objects.count() == 1

        while run_job("outbox_drain"):  # the decision, then the mail it queued
            pass

    assert [m.to for m in mail.outbox] == [["nora@example.org"]]
    assert EmailVerification.objects.filter(email="nora@example.org").count() == 1
    assert not OutboxTask.objects.exists()
