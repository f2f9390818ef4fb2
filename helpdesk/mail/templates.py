"""osTicket's email templates: defaults here, admins' edits in EmailTemplate rows.

Templates use the Django template language over plain values (never model instances,
so an edited template cannot reach a password hash): `ticket`, `recipient`, `entry`,
`agent`, `assignee`, `team`, `department`, `previous_department`, `signature`, `url`.
"""

import logging

from django.template import Context, Engine, TemplateSyntaxError
from django.utils.safestring import mark_safe

log = logging.getLogger(__name__)
_TEXT = Engine(autoescape=False, string_if_invalid="")
_HTML = Engine(autoescape=True, string_if_invalid="")

TAG = "[#{{ ticket.number }}]"

DEFAULTS: dict[str, tuple[str, str]] = {
    "ticket.autoresp": (
        f"Support ticket opened {TAG} {{{{ ticket.subject }}}}",
        "Dear {{ recipient.name }},\n\n"
        "We received your request and opened ticket #{{ ticket.number }}. An agent will "
        "answer as soon as possible.\n\nYou can follow it at {{ url }}.\n\n"
        "{{ department.name }}\n{{ signature }}",
    ),
    "message.autoresp": (
        f"Message received {TAG} {{{{ ticket.subject }}}}",
        "Dear {{ recipient.name }},\n\nYour message was added to ticket "
        "#{{ ticket.number }}.\n\nYou can follow it at {{ url }}.\n\n{{ department.name }}",
    ),
    "ticket.notice": (
        f"{{{{ ticket.subject }}}} {TAG}",
        "Dear {{ recipient.name }},\n\n{{ agent.name }} opened ticket #{{ ticket.number }} "
        "for you.\n\n{{ entry.body_text }}\n\nYou can follow it at {{ url }}.\n\n"
        "{{ signature }}",
    ),
    "ticket.overlimit": (
        "Open ticket limit reached",
        "Dear {{ recipient.name }},\n\nYou have reached the most open tickets allowed, so "
        'your message "{{ ticket.subject }}" did not open a new one. Please reply to one of '
        "your open tickets, or wait until one is closed.\n\n{{ url }}",
    ),
    "ticket.reply": (
        f"Re: {{{{ ticket.subject }}}} {TAG}",
        "{{ entry.body_text }}\n\n{{ signature }}\n\n"
        "Ticket #{{ ticket.number }}: {{ ticket.status }}. {{ url }}",
    ),
    "ticket.activity.notice": (
        f"Re: {{{{ ticket.subject }}}} {TAG}",
        "Dear {{ recipient.name }},\n\n{{ entry.poster }} wrote:\n\n{{ entry.body_text }}\n\n"
        "Ticket #{{ ticket.number }}: {{ url }}",
    ),
    "ticket.alert": (
        f"New ticket alert {TAG} {{{{ ticket.subject }}}}",
        "Hello {{ recipient.name }},\n\nNew ticket #{{ ticket.number }} in "
        "{{ department.name }} from {{ ticket.requester_name }} <{{ ticket.requester_email }}>."
        "\nPriority: {{ ticket.priority }}. Due: {{ ticket.due }}.\n\n{{ entry.body_text }}"
        "\n\n{{ url }}",
    ),
    "message.alert": (
        f"New message alert {TAG} {{{{ ticket.subject }}}}",
        "Hello {{ recipient.name }},\n\n{{ entry.poster }} wrote on ticket "
        "#{{ ticket.number }}:\n\n{{ entry.body_text }}\n\n{{ url }}",
    ),
    "note.alert": (
        f"Internal note {TAG} {{{{ ticket.subject }}}}",
        "Hello {{ recipient.name }},\n\n{{ entry.poster }} posted an internal note on ticket "
        "#{{ ticket.number }}{% if entry.title %} ({{ entry.title }}){% endif %}:\n\n"
        "{{ entry.body_text }}\n\n{{ url }}",
    ),
    "assigned.alert": (
        f"Ticket assigned to you {TAG} {{{{ ticket.subject }}}}",
        "Hello {{ recipient.name }},\n\nTicket #{{ ticket.number }} was assigned to "
        "{% if assignee %}{{ assignee }}{% else %}{{ team }}{% endif %}"
        "{% if agent.name %} by {{ agent.name }}{% endif %}.\n\n{{ url }}",
    ),
    "transfer.alert": (
        f"Ticket transferred {TAG} {{{{ ticket.subject }}}}",
        "Hello {{ recipient.name }},\n\nTicket #{{ ticket.number }} was transferred from "
        "{{ previous_department }} to {{ department.name }}"
        "{% if agent.name %} by {{ agent.name }}{% endif %}.\n\n{{ url }}",
    ),
    "ticket.overdue": (
        f"Overdue ticket {TAG} {{{{ ticket.subject }}}}",
        "Hello {{ recipient.name }},\n\nTicket #{{ ticket.number }} in {{ department.name }} "
        "is overdue (due {{ ticket.due }}).\n\n{{ url }}",
    ),
}

# HTML defaults wrap the text ones: the entry body is shown as its sanitised HTML.
HTML_BODY_SWAP = ("{{ entry.body_text }}", "{{ entry.body_html }}")


def default_html(text: str) -> str:
    html = text.replace(*HTML_BODY_SWAP)
    paragraphs = [p.replace("\n", "<br>") for p in html.split("\n\n")]
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def source(code: str) -> tuple[str, str, str]:
    """(subject, text, html) of a template: the admin's edit, else the default."""
    from .models import EmailTemplate

    row = EmailTemplate.objects.filter(code=code).first()
    if row is not None:
        return row.subject, row.body_text, row.body_html
    subject, text = DEFAULTS[code]
    return subject, text, default_html(text)


def render(code: str, context: dict) -> tuple[str, str, str]:
    """(subject, text body, html body or "") for a template and its values. An admin's
    template that fails at render time is logged and the default is used instead."""
    try:
        return _render(source(code), context)
    except Exception:
        log.exception("email template %s failed; the default text is used", code)
        subject, text = DEFAULTS[code]
        return _render((subject, text, default_html(text)), context)


def _render(template: tuple[str, str, str], context: dict) -> tuple[str, str, str]:
    subject, text, html = template
    ctx = dict(context)
    entry = dict(ctx.get("entry") or {})
    if "body_html" in entry:
        entry["body_html"] = mark_safe(entry["body_html"])  # noqa: S308 - sanitised by nh3
    ctx["entry"] = entry
    out_subject = _TEXT.from_string(subject).render(Context(ctx))
    out_text = _TEXT.from_string(text).render(Context(ctx))
    out_html = _HTML.from_string(html).render(Context(ctx)) if html.strip() else ""
    return " ".join(out_subject.split())[:255], out_text.strip() + "\n", out_html


def template_errors(subject: str, text: str, html: str) -> dict:
    errors = {}
    for name, value in (("subject", subject), ("body_text", text), ("body_html", html)):
        try:
            _TEXT.from_string(value or "")
        except TemplateSyntaxError as exc:
            errors[name] = f"Template error: {exc}"
    return errors
