from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives


@shared_task(acks_late=True, time_limit=120)
def send_portal_mail_task(to: str, subject: str, text: str, html: str = "") -> None:
    """Send one portal mail (sign-in link, verification, invitation, password reset)
    through Django's email backend. Written to the outbox by portal.mail.send,
    which retries it with backoff."""
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]
    )
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


@shared_task(acks_late=True, time_limit=120)
def registration_start_task(email: str, name: str, password_hash: str) -> None:
    """Decide what a registration mails (portal.services.registration_start), queued
    after commit by portal.services.registration_request. Its mail is queued after this
    task's own commit by portal.mail.send."""
    from .services import registration_start

    registration_start(email=email, name=name, password_hash=password_hash)
