"""Reset tokens: a new link voids the older ones; links only for the right audience."""

from django.core import mail

from accounts import services_passwords as passwords
from accounts.models import User


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


def test_links_go_only_to_active_accounts_of_the_audience_with_a_password(cast):
    assert passwords.password_reset_send(email=cast.alice.email, audience="agent") == 0
    assert passwords.password_reset_send(email=cast.agent_a.email, audience="client") == 0
    User.objects.filter(pk=cast.bob.pk).update(is_active=False)
    assert passwords.password_reset_send(email=cast.bob.email, audience="client") == 0
    assert mail.outbox == []
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
