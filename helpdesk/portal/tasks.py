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
