from celery import shared_task

from . import services_passwords as passwords


@shared_task(  # type: ignore[untyped-decorator]  # celery ships no type information
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
    time_limit=120,
)
def password_reset_mail_task(email: str, audience: str) -> int:
    """Mail a reset link to the account with this address, if there is one (queued
    after commit by accounts.services_passwords.password_reset_request). Safe to run twice: a
    second run mails a newer link, which voids the first."""
    return passwords.password_reset_send(email=email, audience=audience)
