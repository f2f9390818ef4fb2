"""Reset tokens: a new link voids the older ones; links only for the right audience."""

import pytest
from django.core import mail

from accounts import services_passwords as passwords
from accounts.models import User

from ..factories import ClientFactory


def test_a_new_token_voids_the_older_ones(cast):
    first = passwords.password_reset_issue(user=cast.agent_a)
    second = passwords.password_reset_issue(user=cast.agent_a)
    fresh = User.objects.get(pk=cast.agent_a.pk)
    assert passwords.reset_tokens.check_token(fresh, first) is False
    assert passwords.reset_tokens.check_token(fresh, second) is True
    # and a changed password voids it too (Django's own rule)
    fresh.set_password("another-Pass-42")
    fresh.save()
    assert passwords.reset_tokens.check_token(fresh, second) is False


def test_links_go_only_to_active_accounts_of_the_audience_with_a_password(cast, nothing_written):
    User.objects.filter(pk=cast.bob.pk).update(is_active=False)
    with nothing_written():
        assert passwords.password_reset_send(email=cast.alice.email, audience="agent") == 0
        assert passwords.password_reset_send(email=cast.agent_a.email, audience="client") == 0
        assert passwords.password_reset_send(email=cast.bob.email, audience="client") == 0
    assert passwords.password_reset_send(email=cast.alice.email.upper(), audience="client") == 1
    [message] = mail.outbox
    assert message.to == [cast.alice.email]
    assert User.objects.get(pk=cast.alice.pk).reset_nonce != ""


def test_the_account_limit_stops_queueing_mail(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        results = [
            passwords.password_reset_request(email="ALICE@acme.test", audience="client")
            for _ in range(passwords.RESET_PER_ACCOUNT_PER_HOUR + 1)
        ]
    assert results == [True, True, True, False]
    assert len(callbacks) == passwords.RESET_PER_ACCOUNT_PER_HOUR


# Spellings Django's EmailValidator accepts and that name the same mailbox to a database
# comparing in any case: the dotless i U+0131 (PostgreSQL's UPPER() makes it I), the
# long s U+017F (S), the Kelvin sign U+212A (k), and plain case.
SPELLINGS = [
    "kiki.sims@desk.test",
    "KIKI.SIMS@DESK.TEST",
    "k\u0131k\u0131.sims@desk.test",
    "kiki.\u017fims@de\u017fk.test",
    "\u212aiki.sims@desk.test",
    "Kiki.Sims@Desk.Test",
    "kiki.sims@desk.tesT",
]


def _reset_every_spelling(django_capture_on_commit_callbacks) -> list:
    from django.test import Client

    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            Client(REMOTE_ADDR=f"198.51.100.{n}").post("/password/reset/", {"email": email})
            for n, email in enumerate(SPELLINGS)
        ]
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, "/password/reset/sent/")}
    return [m.to for m in mail.outbox]


def test_no_spelling_of_an_address_multiplies_its_reset_mails(
    cast, django_capture_on_commit_callbacks
):
    """Counted per account whatever the spelling: each request counts under the address's
    canonical form (NFKC, case folded), and a link goes only to an account whose address
    has that very form, so no spelling the database would also match gets a fresh limit."""
    ClientFactory(email="kiki.sims@desk.test")
    sent = _reset_every_spelling(django_capture_on_commit_callbacks)
    assert sent == [["kiki.sims@desk.test"]] * passwords.RESET_PER_ACCOUNT_PER_HOUR


@pytest.mark.postgres
def test_on_postgresql_upper_folds_the_spellings_and_the_limit_still_holds(
    cast, django_capture_on_commit_callbacks
):
    kiki = ClientFactory(email="kiki.sims@desk.test")
    # the premise: PostgreSQL's UPPER() finds the account under the dotless spelling
    assert list(User.objects.filter(email__iexact="k\u0131k\u0131.sims@desk.test")) == [kiki]
    sent = _reset_every_spelling(django_capture_on_commit_callbacks)
    assert sent == [["kiki.sims@desk.test"]] * passwords.RESET_PER_ACCOUNT_PER_HOUR


def test_the_canonical_form_of_an_address():
    assert passwords.reset_key(" Kiki.\u017fims@Desk.TEST ") == "kiki.sims@desk.test"
    assert passwords.reset_key("\u212aiki@desk.test") == "kiki@desk.test"
    dotless = "k\u0131k\u0131@desk.test"
    assert passwords.reset_key(dotless) == dotless  # another mailbox: no link to kiki
