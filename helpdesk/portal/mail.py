"""Mail the portal sends itself: rendered from templates/portal/email/<name>_subject.txt,
<name>.txt and <name>.html, written to the outbox in the caller's transaction and sent
by a Celery task (or the outbox job) once it commits, never inside the request."""

from django.template.loader import render_to_string
from django.urls import reverse

from accounts.links import site_url
from helpdesk.outbox.services import enqueue

from .tasks import send_portal_mail_task


def base_url() -> str:
    """Where links in mail point (HELPDESK_BASE_URL, through accounts.links)."""
    return site_url()


def absolute(viewname: str, *args) -> str:
    return site_url(reverse(viewname, args=args))


def render(name: str, context: dict) -> tuple[str, str, str]:
    context = {"base_url": base_url(), **context}
    subject = " ".join(render_to_string(f"portal/email/{name}_subject.txt", context).split())
    text = render_to_string(f"portal/email/{name}.txt", context)
    html = render_to_string(f"portal/email/{name}.html", context)
    return subject, text, html


def send(*, to: str, name: str, context: dict) -> None:
    """The rendered mail carries live links (sign-in, verification, invitation): sealed,
    so the outbox row does not hold them readable."""
    subject, text, html = render(name, context)
    enqueue(send_portal_mail_task, to, subject, text, html, sealed=True)
