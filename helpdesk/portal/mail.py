"""Mail the portal sends itself: rendered from templates/portal/email/<name>_subject.txt,
<name>.txt and <name>.html, sent by a Celery task once the transaction commits."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.bus import on_commit

from .tasks import send_portal_mail_task


def base_url() -> str:
    """Where links in mail point (HELPDESK_BASE_URL, shared with the mail channel)."""
    return settings.HELPDESK_MAIL["BASE_URL"].rstrip("/")


def absolute(viewname: str, *args) -> str:
    return base_url() + reverse(viewname, args=args)


def render(name: str, context: dict) -> tuple[str, str, str]:
    context = {"base_url": base_url(), **context}
    subject = render_to_string(f"portal/email/{name}_subject.txt", context)
    subject = " ".join(subject.split())
    text = render_to_string(f"portal/email/{name}.txt", context)
    html = render_to_string(f"portal/email/{name}.html", context)
    return subject, text, html


def send(*, to: str, name: str, context: dict) -> None:
    subject, text, html = render(name, context)
    on_commit(lambda: send_portal_mail_task.delay(to, subject, text, html))
